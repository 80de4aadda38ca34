import { CapturedContent } from '@llm-proxy/core/contracts'
import { cleanup, render, screen, within } from '@testing-library/react'
import { afterEach, expect, test } from 'vitest'
import { Conversation } from './Conversation'

afterEach(cleanup)

// The shape the metrics API returns (parsed with the same contract the dashboard uses).
const capture = (over: Partial<CapturedContent> = {}): CapturedContent =>
  CapturedContent.parse({
    request_id: 'req-1',
    ts: '2026-11-28T04:30:00.000Z',
    endpoint: '/v1/chat/completions',
    key_id: null,
    redaction: 'pii',
    request: {
      body: {
        model: 'llama3.2:1b',
        temperature: 0.2,
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: [{ type: 'text', text: 'Mail [EMAIL] this picture' }, { type: 'image_url', image_url: { url: '[image: 30 KB]' } }] },
        ],
        tools: [{ type: 'function', function: { name: 'send_mail' } }],
      },
      cut: false,
    },
    response: {
      status: 200,
      stream: true,
      choices: [
        {
          index: 0,
          role: 'assistant',
          content: 'Sending it now.',
          reasoning: 'The user wants a mail sent.',
          refusal: null,
          tool_calls: [{ id: 'call_1', name: 'send_mail', arguments: '{"to":"[EMAIL]","attach":true}' }],
          finish_reason: 'tool_calls',
        },
      ],
      error: null,
      text: null,
      cut: false,
    },
    ...over,
  })

test('messages render as a chat, in order, with their roles', () => {
  render(<Conversation content={capture()} />)
  const messages = screen.getAllByTestId('message')
  expect(messages.map((m) => m.querySelector('.bubble-role')!.textContent)).toEqual(['system', 'user', 'assistant'])
  expect(messages[1].textContent).toContain('this picture')
  expect(screen.getByText('temperature')).toBeTruthy()
})

test('tool calls show their name, id and arguments as pretty JSON', () => {
  render(<Conversation content={capture()} />)
  const call = screen.getByTestId('tool-call')
  expect(call.textContent).toContain('send_mail')
  expect(call.textContent).toContain('call_1')
  expect(call.querySelector('pre')!.textContent).toBe('{\n  "to": "[EMAIL]",\n  "attach": true\n}')
})

test('reasoning is collapsed in a details element', () => {
  render(<Conversation content={capture()} />)
  const details = screen.getByTestId('reasoning') as HTMLDetailsElement
  expect(details.tagName).toBe('DETAILS')
  expect(details.open).toBe(false)
  expect(details.textContent).toContain('The user wants a mail sent.')
})

test('redaction placeholders and image placeholders are marked, not shown as plain text', () => {
  render(<Conversation content={capture()} />)
  const marks = [...document.querySelectorAll('.placeholder.redacted')].map((e) => e.textContent)
  expect(marks).toEqual(['[EMAIL]', '[EMAIL]'])
  expect(document.querySelector('.placeholder.redacted')!.getAttribute('title')).toBe('Redacted: EMAIL')
  expect(document.querySelector('.placeholder.image')!.textContent).toBe('[image: 30 KB]')
})

test('a cut side shows the cut marker; a whole one does not', () => {
  const { unmount } = render(<Conversation content={capture()} />)
  expect(screen.queryByTestId('cut-marker')).toBeNull()
  unmount()
  const cut = capture()
  render(<Conversation content={{ ...cut, request: { body: '{"model":"x","messages":[{"role":"user","content":"long', cut: true }, response: { ...cut.response, cut: true } }} />)
  expect(screen.getAllByTestId('cut-marker')).toHaveLength(2)
  expect(screen.getByTestId('conversation').textContent).toContain('"content":"long')
})

test('a failed request shows its error; several choices are labelled', () => {
  const base = capture()
  render(
    <Conversation
      content={{
        ...base,
        response: { ...base.response, status: 500, choices: null, error: { error: { message: 'mock 500 error' } } },
      }}
    />,
  )
  expect(screen.getByTestId('capture-error').textContent).toContain('mock 500 error')
  cleanup()
  const two = { ...base.response.choices![0], tool_calls: [], reasoning: null }
  render(<Conversation content={{ ...base, response: { ...base.response, choices: [{ ...two, index: 0 }, { ...two, index: 1, content: 'Other' }] } }} />)
  const answers = screen.getAllByTestId('message').slice(2)
  expect(within(answers[1]).getByText('choice 1')).toBeTruthy()
  expect(answers[1].textContent).toContain('Other')
})

test('Anthropic and Responses requests read as messages too', () => {
  const base = capture()
  render(
    <Conversation
      content={{ ...base, endpoint: '/v1/messages', request: { body: { model: 'm', system: 'Stay formal.', messages: [{ role: 'user', content: 'Hi' }] }, cut: false } }}
    />,
  )
  expect(screen.getAllByTestId('message').map((m) => m.querySelector('.bubble-role')!.textContent)).toEqual(['system', 'user', 'assistant'])
  cleanup()
  render(<Conversation content={{ ...base, endpoint: '/v1/responses', request: { body: { model: 'm', input: 'What is new?' }, cut: false } }} />)
  expect(screen.getAllByTestId('message')[0].textContent).toContain('What is new?')
})

import { CAPTURE_POLICIES, type ApiKeyView, type CreatedKey, type CreateKeyBody, type KeyUsage } from '@llm-proxy/core/contracts'
import { useCallback, useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react'
import { AdminError, createKey, deleteKey, keyUsage, listKeys, revokeKey, rotateKey, updateKey } from '../../api/admin'
import { formatCount, formatExact, formatTime, formatUsd } from '../../lib/format'
import { bodyFromForm, formFromKey, limitsText, type KeyForm } from './key-form'
import { Confirm, Modal } from './Modal'

const REFRESH_MS = 5_000

type Dialog =
  | { kind: 'create' }
  | { kind: 'edit'; key: ApiKeyView }
  | { kind: 'secret'; key: CreatedKey; rotated: boolean }
  | { kind: 'revoke'; key: ApiKeyView }
  | { kind: 'delete'; key: ApiKeyView }

/**
 * Key management for a signed-in user: every call goes to the dashboard server, which checks the
 * session and adds the proxy's ADMIN_TOKEN. A 401 means the session ended: back to the sign-in form.
 */
export function KeysPage({ header, onSessionEnded }: { header: ReactNode; onSessionEnded: () => void }) {
  const [keys, setKeys] = useState<ApiKeyView[] | null>(null)
  const [usage, setUsage] = useState<Record<string, KeyUsage | null>>({})
  const [error, setError] = useState<string | null>(null)
  const [dialog, setDialog] = useState<Dialog | null>(null)
  const [busy, setBusy] = useState(false)
  const [dialogError, setDialogError] = useState<string | null>(null)
  const [updatedAt, setUpdatedAt] = useState<number | null>(null)
  const ended = useRef(onSessionEnded)
  ended.current = onSessionEnded

  /** Runs an admin call; a 401 ends the page, anything else is a message. */
  const guarded = useCallback(async <T,>(run: () => Promise<T>, show: (m: string) => void): Promise<T | undefined> => {
    try {
      return await run()
    } catch (err) {
      if (err instanceof AdminError && err.status === 401) {
        ended.current()
        return undefined
      }
      show((err as Error).message)
      return undefined
    }
  }, [])

  const load = useCallback(async () => {
    const list = await guarded(listKeys, setError)
    if (!list) return
    setError(null)
    setKeys(list.data)
    const entries = await Promise.all(list.data.map(async (k) => [k.id, await keyUsage(k.id).catch(() => null)] as const))
    setUsage(Object.fromEntries(entries))
    setUpdatedAt(Date.now())
  }, [guarded])

  useEffect(() => {
    void load()
    const t = setInterval(() => !document.hidden && void load(), REFRESH_MS)
    return () => clearInterval(t)
  }, [load])

  const close = () => {
    setDialog(null)
    setDialogError(null)
  }
  const act = async (run: () => Promise<unknown>, after: (r: any) => void) => {
    setBusy(true)
    setDialogError(null)
    const r = await guarded(async () => ({ value: await run() }), setDialogError)
    setBusy(false)
    if (r) {
      after(r.value)
      void load()
    }
  }

  return (
    <div className="app">
      {header}
      <main>
        <section className="card table-card" aria-labelledby="admin-keys-title">
          <div className="card-head">
            <h2 id="admin-keys-title">Access keys</h2>
            <span className="muted">Each key is a client's API key for the proxy; its secret is shown once.</span>
            <span className="push updated" aria-live="polite">Updated {updatedAt ? formatTime(new Date(updatedAt).toISOString()) : '—'}</span>
            <button type="button" onClick={() => void load()} aria-label="Refresh keys">↻ Refresh</button>
            <button type="button" className="primary" onClick={() => setDialog({ kind: 'create' })}>Create key</button>
          </div>
          {error && <div className="banner" role="alert">{error}</div>}
          {keys === null && !error && <div className="loading" role="status"><span className="spinner" aria-hidden /> Loading keys…</div>}
          {keys?.length === 0 && <p className="muted" data-testid="no-keys">No keys yet. Create one, give its secret to a client, and it calls the proxy with it as its API key.</p>}
          {keys && keys.length > 0 && (
            <div className="table-scroll">
              <table data-testid="admin-keys-table">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Key</th>
                    <th>Status</th>
                    <th>Expires</th>
                    <th>Limits</th>
                    <th>Models</th>
                    <th title="In the budget period (this day or month, UTC)">Requests</th>
                    <th title="In the budget period">Tokens</th>
                    <th title="In the budget period">Est. cost</th>
                    <th>Budget left</th>
                    <th><span className="sr-only">Actions</span></th>
                  </tr>
                </thead>
                <tbody>
                  {keys.map((k) => {
                    const u = usage[k.id]
                    const left = u ? [u.budget_remaining_tokens !== null && `${formatExact(u.budget_remaining_tokens)} tokens`, u.budget_remaining_usd !== null && formatUsd(u.budget_remaining_usd)].filter(Boolean).join(' · ') : ''
                    return (
                      <tr key={k.id} data-key={k.id}>
                        <td className="c-name">
                          {k.name}
                          {k.owner && <div className="muted small">{k.owner}</div>}
                        </td>
                        <td><code>{k.display}</code></td>
                        <td className="c-status"><span className={`pill key-${k.status}`}>{k.status}</span></td>
                        <td>{k.expires_at ? formatTime(k.expires_at) : 'Never'}</td>
                        <td className="c-limits">{limitsText(k)}</td>
                        <td>{k.models?.join(', ') ?? 'All'}</td>
                        <td className="c-requests">{formatCount(u?.requests)}</td>
                        <td className="c-tokens">{formatCount(u?.tokens)}</td>
                        <td className="c-cost">{formatUsd(u?.cost_usd)}</td>
                        <td className="c-left">{left || '—'}</td>
                        <td className="actions">
                          <div className="row-actions">
                          <button type="button" aria-label={`Edit ${k.name}`} onClick={() => setDialog({ kind: 'edit', key: k })}>Edit</button>
                          <button type="button" aria-label={`Rotate ${k.name}`} disabled={k.status === 'revoked'} onClick={() => void act(() => rotateKey(k.id), (r: CreatedKey) => setDialog({ kind: 'secret', key: r, rotated: true }))}>Rotate</button>
                          <button type="button" aria-label={`Revoke ${k.name}`} disabled={k.status === 'revoked'} onClick={() => setDialog({ kind: 'revoke', key: k })}>Revoke</button>
                          <button type="button" className="danger" aria-label={`Delete ${k.name}`} onClick={() => setDialog({ kind: 'delete', key: k })}>Delete</button>
                          </div>
                        </td>
                      </tr>
                    )
                  })}
                </tbody>
              </table>
            </div>
          )}
          {dialogError && !dialog && <div className="banner" role="alert">{dialogError}</div>}
        </section>
      </main>

      {(dialog?.kind === 'create' || dialog?.kind === 'edit') && (
        <KeyFormDialog
          key={dialog.kind === 'edit' ? dialog.key.id : 'new'}
          editing={dialog.kind === 'edit' ? dialog.key : null}
          busy={busy}
          error={dialogError}
          onCancel={close}
          onSubmit={(body) =>
            dialog.kind === 'edit'
              ? act(() => updateKey(dialog.key.id, body), close)
              : act(() => createKey(body), (r: CreatedKey) => {
                  setDialogError(null)
                  setDialog({ kind: 'secret', key: r, rotated: false })
                })
          }
        />
      )}
      {dialog?.kind === 'secret' && <SecretDialog created={dialog.key} rotated={dialog.rotated} onClose={close} />}
      {dialog?.kind === 'revoke' && (
        <Confirm title={`Revoke ${dialog.key.name}?`} confirmLabel="Revoke key" busy={busy} error={dialogError} onCancel={close} onConfirm={() => void act(() => revokeKey(dialog.key.id), close)}>
          <p>Requests with this key get a 401 from every proxy within 2 seconds. A revoked key cannot be used or rotated again; its history stays in the metrics.</p>
        </Confirm>
      )}
      {dialog?.kind === 'delete' && (
        <Confirm title={`Delete ${dialog.key.name}?`} confirmLabel="Delete key" busy={busy} error={dialogError} onCancel={close} onConfirm={() => void act(() => deleteKey(dialog.key.id), close)}>
          <p>The key is removed and stops working; this cannot be undone. Its requests stay in the metrics, by its id.</p>
        </Confirm>
      )}
    </div>
  )
}

function KeyFormDialog(p: { editing: ApiKeyView | null; busy: boolean; error: string | null; onCancel: () => void; onSubmit: (body: CreateKeyBody) => void }) {
  const [form, setForm] = useState<KeyForm>(() => formFromKey(p.editing ?? undefined))
  const [invalid, setInvalid] = useState<{ field: keyof KeyForm; error: string } | null>(null)
  const set = (field: keyof KeyForm) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [field]: e.target.value }))
  const submit = (e: FormEvent) => {
    e.preventDefault()
    const r = bodyFromForm(form)
    if ('error' in r) {
      setInvalid(r)
      document.getElementById(`key-${r.field}`)?.focus()
      return
    }
    setInvalid(null)
    p.onSubmit(r.body)
  }
  const field = (name: keyof KeyForm, label: string, input: ReactNode, hint?: string) => (
    <div className="field">
      <label htmlFor={`key-${name}`}>{label}</label>
      {input}
      {hint && <span className="hint" id={`key-${name}-hint`}>{hint}</span>}
      {invalid?.field === name && <span className="form-error" role="alert" id={`key-${name}-error`}>{invalid.error}</span>}
    </div>
  )
  const attrs = (name: keyof KeyForm, hint?: boolean) => ({
    id: `key-${name}`,
    name,
    value: form[name],
    onChange: set(name),
    'aria-invalid': invalid?.field === name ? true : undefined,
    'aria-describedby': [hint && `key-${name}-hint`, invalid?.field === name && `key-${name}-error`].filter(Boolean).join(' ') || undefined,
  })
  return (
    <Modal title={p.editing ? `Edit ${p.editing.name}` : 'Create a key'} onClose={p.onCancel} testId="key-form-dialog">
      <form onSubmit={submit} className="key-form" noValidate>
        {field('name', 'Name', <input {...attrs('name')} required data-autofocus autoComplete="off" />)}
        {field('owner', 'Owner or team (optional)', <input {...attrs('owner')} autoComplete="off" />)}
        <div className="form-row">
          {field('rpm', 'Requests per minute', <input {...attrs('rpm', true)} inputMode="numeric" placeholder="No limit" />, 'Empty: no limit.')}
          {field('tpm', 'Tokens per minute', <input {...attrs('tpm', true)} inputMode="numeric" placeholder="No limit" />, 'Empty: no limit.')}
        </div>
        <div className="form-row">
          {field('budget_tokens', 'Token budget', <input {...attrs('budget_tokens')} inputMode="numeric" placeholder="None" />)}
          {field('budget_usd', 'Cost budget (USD)', <input {...attrs('budget_usd')} inputMode="decimal" placeholder="None" />)}
          {field('budget_period', 'Budget period', (
            <select {...attrs('budget_period')}>
              <option value="day">Per day (UTC)</option>
              <option value="month">Per month (UTC)</option>
            </select>
          ))}
        </div>
        {field('models', 'Allowed models', <input {...attrs('models', true)} placeholder="All models" autoComplete="off" />, 'Comma-separated names or globs (llama*, gpt-4o); empty: every model.')}
        <div className="form-row">
          {field('expires', 'Expires', <input {...attrs('expires', true)} type="datetime-local" />, 'Your local time; empty: never.')}
          {field('capture', 'Content capture', (
            <select {...attrs('capture')}>
              {CAPTURE_POLICIES.map((c) => <option key={c} value={c}>{c === 'inherit' ? 'As the proxy (CAPTURE)' : c === 'off' ? 'Off' : c === 'errors' ? 'Errors only' : 'All requests'}</option>)}
            </select>
          ))}
        </div>
        {p.error && <p className="form-error" role="alert">{p.error}</p>}
        <div className="modal-actions">
          <button type="button" onClick={p.onCancel}>Cancel</button>
          <button type="submit" className="primary" disabled={p.busy}>{p.editing ? 'Save' : 'Create key'}</button>
        </div>
      </form>
    </Modal>
  )
}

/** The secret, once: copy it now, it is not stored anywhere it could be shown again. */
function SecretDialog({ created, rotated, onClose }: { created: CreatedKey; rotated: boolean; onClose: () => void }) {
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null)
  const inputRef = useRef<HTMLInputElement>(null)
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.secret)
      setCopied('yes')
    } catch {
      // No clipboard permission (plain HTTP off localhost): select it for Ctrl+C instead.
      inputRef.current?.select()
      setCopied('failed')
    }
  }
  return (
    <Modal title={rotated ? `New secret for ${created.name}` : `Key ${created.name} created`} onClose={onClose} testId="secret-dialog">
      <p>
        {rotated ? 'The old secret no longer works. ' : ''}
        This is the only time the secret is shown: copy it now and give it to the client, who uses it as its API key.
      </p>
      <div className="secret">
        <label htmlFor="new-secret" className="sr-only">Secret</label>
        <input id="new-secret" ref={inputRef} readOnly value={created.secret} data-testid="secret" onFocus={(e) => e.target.select()} spellCheck={false} />
        <button type="button" onClick={() => void copy()} data-autofocus>Copy</button>
      </div>
      <p className="muted" role="status">{copied === 'yes' ? 'Copied to the clipboard.' : copied === 'failed' ? 'Copying is not allowed here: the secret is selected, press Ctrl+C (⌘C).' : ''}</p>
      <div className="modal-actions">
        <button type="button" className="primary" onClick={onClose}>Done</button>
      </div>
    </Modal>
  )
}

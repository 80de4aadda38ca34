import { CAPTURE_POLICIES, type ApiKeyView, type CreatedKey, type CreateKeyBody, type KeyUsage } from '@llm-proxy/core/contracts'
import { useCallback, useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react'
import { useTranslation } from 'react-i18next'
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
  const { t } = useTranslation()
  const [keys, setKeys] = useState<ApiKeyView[] | null>(null)
  const [usage, setUsage] = useState<Record<string, KeyUsage | null>>({})
  const [error, setError] = useState<string | null>(null)
  const [dialog, setDialog] = useState<Dialog | null>(null)
  const [busy, setBusy] = useState(false)
  const [dialogError, setDialogError] = useState<string | null>(null)
  const [updatedAt, setUpdatedAt] = useState<number | null>(null)
  const ended = useRef(onSessionEnded)
  ended.current = onSessionEnded
  /** Where focus goes once the list shows a revoke or delete: the button that opened the dialog is then disabled or gone. */
  const refocus = useRef<{ kind: 'revoke'; id: string } | { kind: 'delete'; id: string; index: number } | null>(null)
  const tableRef = useRef<HTMLTableElement>(null)
  const headingRef = useRef<HTMLHeadingElement>(null)

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

  useEffect(() => {
    const r = refocus.current
    if (!r || !keys) return
    const shown = keys.find((k) => k.id === r.id)
    // Not in the list yet (a refresh that started before the change).
    if (r.kind === 'delete' ? shown : shown && shown.status !== 'revoked') return
    refocus.current = null
    const rowOf = (id: string) => [...(tableRef.current?.tBodies[0]?.rows ?? [])].find((tr) => tr.dataset.key === id)
    // Only when focus was lost with the button (on the body, or still on that row); not if the user has moved on.
    const active = document.activeElement
    const row = rowOf(r.id)
    if (active && active !== document.body && !(row && row.contains(active))) return
    const firstAction = (tr: HTMLTableRowElement | undefined) => tr?.querySelector<HTMLButtonElement>('.row-actions button:not(:disabled)')
    if (r.kind === 'revoke') {
      firstAction(row)?.focus()
      return
    }
    // Deleted: the row that took its place (or the one before, if it was last); the heading when none is left.
    const next = keys.length > 0 ? keys[Math.min(r.index, keys.length - 1)] : undefined
    const target = next ? firstAction(rowOf(next.id)) : null
    ;(target ?? headingRef.current)?.focus()
  }, [keys])

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
            <h2 id="admin-keys-title" ref={headingRef} tabIndex={-1}>{t('keys.title')}</h2>
            <span className="muted">{t('keys.intro')}</span>
            <span className="push updated" aria-live="polite">{t('keys.updated', { time: updatedAt ? formatTime(new Date(updatedAt).toISOString()) : '—' })}</span>
            <button type="button" onClick={() => void load()} aria-label={t('keys.refreshLabel')}>↻ {t('keys.refresh')}</button>
            <button type="button" className="primary" onClick={() => setDialog({ kind: 'create' })}>{t('keys.create')}</button>
          </div>
          {error && <div className="banner" role="alert">{error}</div>}
          {keys === null && !error && <div className="loading" role="status"><span className="spinner" aria-hidden /> {t('keys.loading')}</div>}
          {keys?.length === 0 && <p className="muted" data-testid="no-keys">{t('keys.none')}</p>}
          {keys && keys.length > 0 && (
            <div className="table-scroll">
              <table data-testid="admin-keys-table" ref={tableRef}>
                <thead>
                  <tr>
                    <th>{t('keys.col.name')}</th>
                    <th>{t('keys.col.key')}</th>
                    <th>{t('keys.col.status')}</th>
                    <th>{t('keys.col.expires')}</th>
                    <th>{t('keys.col.limits')}</th>
                    <th>{t('keys.col.models')}</th>
                    <th title={t('keys.col.inPeriodLong')}>{t('keys.col.requests')}</th>
                    <th title={t('keys.col.inPeriod')}>{t('keys.col.tokens')}</th>
                    <th title={t('keys.col.inPeriod')}>{t('keys.col.cost')}</th>
                    <th>{t('keys.col.budgetLeft')}</th>
                    <th><span className="sr-only">{t('keys.col.actions')}</span></th>
                  </tr>
                </thead>
                <tbody>
                  {keys.map((k) => {
                    const u = usage[k.id]
                    const left = u ? [u.budget_remaining_tokens !== null && t('keys.tokensLeft', { tokens: formatExact(u.budget_remaining_tokens) }), u.budget_remaining_usd !== null && formatUsd(u.budget_remaining_usd)].filter(Boolean).join(' · ') : ''
                    return (
                      <tr key={k.id} data-key={k.id}>
                        <td className="c-name">
                          {k.name}
                          {k.owner && <div className="muted small">{k.owner}</div>}
                        </td>
                        <td><code>{k.display}</code></td>
                        <td className="c-status"><span className={`pill key-${k.status}`}>{t(`keys.status.${k.status}`)}</span></td>
                        <td>{k.expires_at ? formatTime(k.expires_at) : t('keys.never')}</td>
                        <td className="c-limits">{limitsText(k)}</td>
                        <td>{k.models?.join(', ') ?? t('keys.allModels')}</td>
                        <td className="c-requests">{formatCount(u?.requests)}</td>
                        <td className="c-tokens">{formatCount(u?.tokens)}</td>
                        <td className="c-cost">{formatUsd(u?.cost_usd)}</td>
                        <td className="c-left">{left || '—'}</td>
                        <td className="actions">
                          <div className="row-actions">
                          <button type="button" aria-label={t('keys.editLabel', { name: k.name })} onClick={() => setDialog({ kind: 'edit', key: k })}>{t('keys.edit')}</button>
                          <button type="button" aria-label={t('keys.rotateLabel', { name: k.name })} disabled={k.status === 'revoked'} onClick={() => void act(() => rotateKey(k.id), (r: CreatedKey) => setDialog({ kind: 'secret', key: r, rotated: true }))}>{t('keys.rotate')}</button>
                          <button type="button" aria-label={t('keys.revokeLabel', { name: k.name })} disabled={k.status === 'revoked'} onClick={() => setDialog({ kind: 'revoke', key: k })}>{t('keys.revoke')}</button>
                          <button type="button" className="danger" aria-label={t('keys.deleteLabel', { name: k.name })} onClick={() => setDialog({ kind: 'delete', key: k })}>{t('keys.delete')}</button>
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
        <Confirm title={t('keys.revokeTitle', { name: dialog.key.name })} confirmLabel={t('keys.revokeConfirm')} busy={busy} error={dialogError} onCancel={close} onConfirm={() => void act(() => revokeKey(dialog.key.id), () => {
          refocus.current = { kind: 'revoke', id: dialog.key.id }
          close()
        })}>
          <p>{t('keys.revokeBody')}</p>
        </Confirm>
      )}
      {dialog?.kind === 'delete' && (
        <Confirm title={t('keys.deleteTitle', { name: dialog.key.name })} confirmLabel={t('keys.deleteConfirm')} busy={busy} error={dialogError} onCancel={close} onConfirm={() => void act(() => deleteKey(dialog.key.id), () => {
          refocus.current = { kind: 'delete', id: dialog.key.id, index: keys?.findIndex((k) => k.id === dialog.key.id) ?? 0 }
          close()
        })}>
          <p>{t('keys.deleteBody')}</p>
        </Confirm>
      )}
    </div>
  )
}

function KeyFormDialog(p: { editing: ApiKeyView | null; busy: boolean; error: string | null; onCancel: () => void; onSubmit: (body: CreateKeyBody) => void }) {
  const { t } = useTranslation()
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
    <Modal title={p.editing ? t('keys.form.editTitle', { name: p.editing.name }) : t('keys.form.createTitle')} onClose={p.onCancel} testId="key-form-dialog">
      <form onSubmit={submit} className="key-form" noValidate>
        {field('name', t('keys.form.name'), <input {...attrs('name')} required data-autofocus autoComplete="off" />)}
        {field('owner', t('keys.form.owner'), <input {...attrs('owner')} autoComplete="off" />)}
        <div className="form-row">
          {field('rpm', t('keys.form.rpm'), <input {...attrs('rpm', true)} inputMode="numeric" placeholder={t('keys.form.noLimit')} />, t('keys.form.emptyNoLimit'))}
          {field('tpm', t('keys.form.tpm'), <input {...attrs('tpm', true)} inputMode="numeric" placeholder={t('keys.form.noLimit')} />, t('keys.form.emptyNoLimit'))}
        </div>
        <div className="form-row">
          {field('budget_tokens', t('keys.form.budgetTokens'), <input {...attrs('budget_tokens')} inputMode="numeric" placeholder={t('keys.form.none')} />)}
          {field('budget_usd', t('keys.form.budgetUsd'), <input {...attrs('budget_usd')} inputMode="decimal" placeholder={t('keys.form.none')} />)}
          {field('budget_period', t('keys.form.budgetPeriod'), (
            <select {...attrs('budget_period')}>
              <option value="day">{t('keys.form.perDay')}</option>
              <option value="month">{t('keys.form.perMonth')}</option>
            </select>
          ))}
        </div>
        {field('models', t('keys.form.models'), <input {...attrs('models', true)} placeholder={t('keys.form.allModels')} autoComplete="off" />, t('keys.form.modelsHint'))}
        <div className="form-row">
          {field('expires', t('keys.form.expires'), <input {...attrs('expires', true)} type="datetime-local" />, t('keys.form.expiresHint'))}
          {field('capture', t('keys.form.capture'), (
            <select {...attrs('capture')}>
              {CAPTURE_POLICIES.map((c) => <option key={c} value={c}>{t(`keys.form.capturePolicy.${c}`)}</option>)}
            </select>
          ))}
        </div>
        {p.error && <p className="form-error" role="alert">{p.error}</p>}
        <div className="modal-actions">
          <button type="button" onClick={p.onCancel}>{t('keys.cancel')}</button>
          <button type="submit" className="primary" disabled={p.busy}>{p.editing ? t('keys.form.save') : t('keys.create')}</button>
        </div>
      </form>
    </Modal>
  )
}

/** The secret, once: copy it now, it is not stored anywhere it could be shown again. */
function SecretDialog({ created, rotated, onClose }: { created: CreatedKey; rotated: boolean; onClose: () => void }) {
  const { t } = useTranslation()
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
    <Modal title={rotated ? t('keys.secret.rotatedTitle', { name: created.name }) : t('keys.secret.createdTitle', { name: created.name })} onClose={onClose} testId="secret-dialog">
      <p>
        {rotated ? `${t('keys.secret.oldStops')} ` : ''}
        {t('keys.secret.onlyOnce')}
      </p>
      <div className="secret">
        <label htmlFor="new-secret" className="sr-only">{t('keys.secret.label')}</label>
        <input id="new-secret" ref={inputRef} readOnly value={created.secret} data-testid="secret" onFocus={(e) => e.target.select()} spellCheck={false} />
        <button type="button" onClick={() => void copy()} data-autofocus>{t('keys.secret.copy')}</button>
      </div>
      <p className="muted" role="status">{copied === 'yes' ? t('keys.secret.copied') : copied === 'failed' ? t('keys.secret.copyFailed') : ''}</p>
      <div className="modal-actions">
        <button type="button" className="primary" onClick={onClose}>{t('keys.secret.done')}</button>
      </div>
    </Modal>
  )
}

import { useId, useLayoutEffect, useRef, type ReactNode } from 'react'
import { useTranslation } from 'react-i18next'

/**
 * A modal dialog on the native <dialog>: the page behind is inert, Tab stays inside, Escape closes,
 * and focus goes back to whatever opened it.
 */
export function Modal({ title, onClose, children, testId }: { title: string; onClose: () => void; children: ReactNode; testId?: string }) {
  const ref = useRef<HTMLDialogElement>(null)
  const titleId = useId()
  // A layout effect: its cleanup runs while the dialog is still in the page, so it can be closed
  // (the page behind stops being inert) before focus goes back to the opener.
  useLayoutEffect(() => {
    const opener = document.activeElement as HTMLElement | null
    const d = ref.current
    if (d && !d.open) d.showModal?.()
    // The element marked data-autofocus, else the first field or button.
    d?.querySelector<HTMLElement>('[data-autofocus]')?.focus()
    return () => {
      if (d?.open) d.close?.()
      if (opener && opener.isConnected) opener.focus()
    }
  }, [])
  return (
    <dialog
      ref={ref}
      className="modal card"
      aria-labelledby={titleId}
      data-testid={testId}
      onCancel={(e) => {
        e.preventDefault()
        onClose()
      }}
    >
      <h2 id={titleId}>{title}</h2>
      {children}
    </dialog>
  )
}

/** "Are you sure?" with the safe choice focused. */
export function Confirm(p: { title: string; children: ReactNode; confirmLabel: string; busy?: boolean; error?: string | null; onConfirm: () => void; onCancel: () => void }) {
  const { t } = useTranslation()
  return (
    <Modal title={p.title} onClose={p.onCancel} testId="confirm-dialog">
      <div className="modal-body">{p.children}</div>
      {p.error && <p className="form-error" role="alert">{p.error}</p>}
      <div className="modal-actions">
        <button type="button" onClick={p.onCancel} data-autofocus>{t('keys.cancel')}</button>
        <button type="button" className="danger" onClick={p.onConfirm} disabled={p.busy}>{p.confirmLabel}</button>
      </div>
    </Modal>
  )
}

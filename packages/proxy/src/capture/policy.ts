import type { CaptureMode } from '@llm-proxy/core'
import type { CapturePolicy } from '@llm-proxy/core/contracts'

/** A key's own policy wins over CAPTURE unless it says `inherit`. */
export const captureModeFor = (global: CaptureMode, key: CapturePolicy | null | undefined): CaptureMode =>
  key && key !== 'inherit' ? key : global

/** An AbortSignal that can let go of what it listens to: `clear()` once the work it bounds is done. */
export type ClearableSignal = AbortSignal & { clear(): void }

/**
 * A signal that aborts when any of `signals` does, or `ms` after now (reason: a DOMException named TimeoutError).
 * Not `AbortSignal.any([..., AbortSignal.timeout(ms)])`: on Node 20 the combined signal holds its timeout source
 * only weakly, so after a garbage collection such a deadline may never fire, and whatever it bounds waits forever.
 * Here the timer holds the controller; `clear()` (or the abort itself) drops the timer and the listeners.
 */
export function deadlineSignal(signals: readonly AbortSignal[], ms?: number): ClearableSignal {
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  const clear = (): void => {
    clearTimeout(timer)
    for (const s of signals) s.removeEventListener('abort', onAbort)
  }
  const abort = (reason: unknown): void => {
    clear()
    controller.abort(reason)
  }
  function onAbort(this: AbortSignal): void {
    abort(this.reason)
  }
  const aborted = signals.find((s) => s.aborted)
  if (aborted) abort(aborted.reason)
  else {
    for (const s of signals) s.addEventListener('abort', onAbort, { once: true })
    if (ms !== undefined) {
      timer = setTimeout(() => abort(new DOMException(`deadline of ${ms} ms passed`, 'TimeoutError')), ms)
      timer.unref() // a deadline alone does not keep the process up
    }
  }
  return Object.assign(controller.signal, { clear })
}

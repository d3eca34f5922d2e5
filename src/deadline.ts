/** An AbortSignal that can let go of what it listens to: `clear()` once the work it bounds is done. */
export type ClearableSignal = AbortSignal & { clear(): void }

/**
 * A signal that aborts when any of `signals` does, or `ms` after now (reason: a DOMException named TimeoutError).
 * Not `AbortSignal.any([..., AbortSignal.timeout(ms)])`: on Node 20 the combined signal holds its timeout source
 * only weakly, so after a garbage collection such a deadline may never fire, and whatever it bounds waits forever.
 * Here the timer holds the controller; `clear()` (or the abort itself) drops the timer and the listeners. The
 * deadline fires after the I/O already there is read (afterPendingIo).
 */
export function deadlineSignal(signals: readonly AbortSignal[], ms?: number): ClearableSignal {
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  let cleared = false
  const clear = (): void => {
    cleared = true
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
      const expire = () => {
        if (!cleared) abort(new DOMException(`deadline of ${ms} ms passed`, 'TimeoutError'))
      }
      timer = setTimeout(() => afterPendingIo(expire), ms)
      timer.unref() // a deadline alone does not keep the process up
    }
  }
  return Object.assign(controller.signal, { clear })
}

/**
 * Runs `expire` once the I/O that is already there has been read. Timers run before the event loop polls for I/O:
 * after a stall of Contower's own (a long turn, a collection), a deadline would fire before the bytes that arrived
 * during the stall are read, and a peer that answered in time would be charged a timeout for our delay. An immediate
 * runs after this turn's poll; a peer that really was silent loses nothing but that turn.
 */
export function afterPendingIo(expire: () => unknown): void {
  setImmediate(expire)
}

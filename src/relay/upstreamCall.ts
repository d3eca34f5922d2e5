/**
 * The controller of one upstream call: aborted when the requester leaves, and at the request's deadline while
 * nothing was forwarded (after the first chunk, the client's per-chunk timeouts apply).
 */
export function upstreamCall(
  deadline: AbortSignal,
  signal: AbortSignal,
  forwarding: () => boolean,
): AbortController & { dispose(): void } {
  const call = new AbortController()
  const onDeadline = () => forwarding() || call.abort(deadline.reason)
  const onGone = () => call.abort(signal.reason)
  deadline.addEventListener('abort', onDeadline, { once: true })
  signal.addEventListener('abort', onGone, { once: true })
  return Object.assign(call, {
    dispose() {
      deadline.removeEventListener('abort', onDeadline)
      signal.removeEventListener('abort', onGone)
    },
  })
}

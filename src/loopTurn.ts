/**
 * Work that runs chunk after chunk (an answer of many blocks, read, verified and forwarded while its bytes are
 * already buffered) runs as one unbroken chain of promise continuations: no timer, no stream open, no other peer's
 * read is served until it ends. Under a flood, a loop turn holding several such answers lasted up to 250 ms, and a
 * well-behaved peer's request, which needs several turns (stream open, protocol, request, upstream, answer), waited
 * for each (docs/robustness.md). So such loops ask `loopTurnSpent()` after each chunk and, once the loop's current
 * turn has been busy for `sliceMs`, `await nextLoopTurn()`: the rest continues after the I/O already due.
 */

/** Busy time after which chunked work hands the event loop back. */
export const LOOP_SLICE_MS = 5

let turnStartedMs = 0
let turnMarked = false

function turnEnded(): void {
  turnMarked = false
}

/**
 * Whether the loop's current turn has been busy for `sliceMs` (counted from the first call in the turn, so a lower
 * bound). The turn is marked by an immediate that runs when the turn reaches its check phase.
 */
export function loopTurnSpent(sliceMs: number = LOOP_SLICE_MS): boolean {
  const now = performance.now()
  if (!turnMarked) {
    turnMarked = true
    turnStartedMs = now
    setImmediate(turnEnded)
    return false
  }
  return now - turnStartedMs >= sliceMs
}

/**
 * Resolves on the loop's check phase, after the I/O callbacks already due; work resumed there that runs past the
 * slice waits again, for the next turn's timers and I/O.
 */
export function nextLoopTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

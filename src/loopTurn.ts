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
 * Work waiting for a later turn. Each turn resumes one slice of every owner (a requester) that has work waiting, in
 * rotating order: a requester with a few blocks to go is not held behind every stream of one with many, and the
 * total still moves by at least a slice per requester per turn.
 */
class SliceQueue {
  /** Each owner's waiting slices, oldest first; the map's order is the next turn's order. */
  private readonly waiting = new Map<string, Array<() => void>>()
  private scheduled = false

  wait(owner: string): Promise<void> {
    return new Promise((resume) => {
      const list = this.waiting.get(owner)
      if (list) list.push(resume)
      else this.waiting.set(owner, [resume])
      this.schedule()
    })
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => this.resumeTurn())
  }

  /**
   * Resumes the oldest slice of each owner; the first runs until the turn is spent, the others a chunk each. An
   * owner with more waiting moves to the back, so that the first place rotates. Slices that wait again from here
   * are scheduled for the next turn, after its timers and I/O.
   */
  private resumeTurn(): void {
    this.scheduled = false
    for (const [owner, list] of [...this.waiting]) {
      const resume = list.shift()!
      this.waiting.delete(owner)
      if (list.length > 0) this.waiting.set(owner, list)
      resume()
    }
    if (this.waiting.size > 0) this.schedule()
  }
}

const slices = new SliceQueue()

/**
 * Resolves on a later check phase of the loop, after the I/O callbacks already due, with one slice of each other
 * owner that waits (`owner`: the requester the work is for).
 */
export function nextLoopTurn(owner = ''): Promise<void> {
  return slices.wait(owner)
}

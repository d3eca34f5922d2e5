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

interface Waiting {
  /** Start tag: the virtual time at which its owner's fair share reaches it. */
  tag: number
  resume(): void
}

/**
 * Work waiting for a later turn, resumed one owner's slice per turn, lowest start tag first (start-time fair queuing
 * over slices, as the upstream queue does over upstream slots): an owner (a requester) with a little work left goes
 * ahead of one with many slices queued, however many streams that one has.
 */
class SliceQueue {
  /** Owners with work waiting: their waiting slices (FIFO) and the finish tag of the newest. */
  private readonly owners = new Map<string, { finish: number; waiting: Waiting[] }>()
  private virtualTime = 0
  private scheduled = false

  wait(owner: string): Promise<void> {
    return new Promise((resume) => {
      let state = this.owners.get(owner)
      if (!state) this.owners.set(owner, (state = { finish: this.virtualTime, waiting: [] }))
      const tag = Math.max(this.virtualTime, state.finish)
      state.finish = tag + 1
      state.waiting.push({ tag, resume })
      this.schedule()
    })
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => this.resumeOne())
  }

  private resumeOne(): void {
    this.scheduled = false
    let first: [string, { finish: number; waiting: Waiting[] }] | undefined
    for (const entry of this.owners) if (!first || entry[1].waiting[0].tag < first[1].waiting[0].tag) first = entry
    if (!first) return
    const [owner, state] = first
    const next = state.waiting.shift()!
    if (state.waiting.length === 0) this.owners.delete(owner) // an owner that comes back starts at the virtual time
    this.virtualTime = next.tag
    next.resume()
    // Scheduled from the check phase: the next owner's slice runs in the next turn, after its timers and I/O.
    if (this.owners.size > 0) this.schedule()
  }
}

const slices = new SliceQueue()

/**
 * Resolves on a later check phase of the loop, after the I/O callbacks already due: one owner's slice per turn,
 * owners taking turns fairly (`owner`: the requester the work is for).
 */
export function nextLoopTurn(owner = ''): Promise<void> {
  return slices.wait(owner)
}

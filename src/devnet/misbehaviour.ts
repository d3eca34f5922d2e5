/**
 * Faults a simulated peer can be told to commit when serving blocks, so tests can watch Contower fail over and
 * penalise. Switched at run time: `peer.misbehaviour = 'stall'`.
 */
export type Misbehaviour =
  /** Serve correctly. */
  | 'none'
  /** Accept the request and never answer (the requester's time-to-first-byte runs out). */
  | 'stall'
  /** Send the first chunk, then drop the connection. */
  | 'disconnect'
  /** Flip a byte inside each chunk's compressed payload: the snappy frame's CRC no longer matches. */
  | 'corrupt'
  /** Answer with a block nobody asked for (by root: another root; by range: a slot outside the range). */
  | 'wrong_block'
  /** Answer with ServerError. */
  | 'error'
  /** Serve correctly, but pause before each chunk (SLOW_CHUNK_MS). */
  | 'slow'

export const MISBEHAVIOURS: readonly Misbehaviour[] = [
  'none',
  'stall',
  'disconnect',
  'corrupt',
  'wrong_block',
  'error',
  'slow',
]

/** Byte offset of a flipped byte, counted from a chunk's end: inside the last snappy frame's data. */
const CORRUPT_OFFSET_FROM_END = 8

/** A copy of an encoded response chunk with one payload byte flipped (framing intact, CRC wrong). */
export function corruptChunk(chunk: Uint8Array): Uint8Array {
  const copy = Uint8Array.from(chunk)
  copy[copy.length - CORRUPT_OFFSET_FROM_END] ^= 0xff
  return copy
}

/** The 'slow' fault's pause before each chunk: within every timeout, but a 32-block range takes seconds. */
export const SLOW_CHUNK_MS = 250

/** The 'slow' fault's pause; ends early (without throwing) when the request is aborted. */
export function slowDown(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, SLOW_CHUNK_MS)
    signal.addEventListener('abort', done, { once: true })
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
  })
}

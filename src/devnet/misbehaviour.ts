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

export const MISBEHAVIOURS: readonly Misbehaviour[] = ['none', 'stall', 'disconnect', 'corrupt', 'wrong_block', 'error']

/** Byte offset of a flipped byte, counted from a chunk's end: inside the last snappy frame's data. */
const CORRUPT_OFFSET_FROM_END = 8

/** A copy of an encoded response chunk with one payload byte flipped (framing intact, CRC wrong). */
export function corruptChunk(chunk: Uint8Array): Uint8Array {
  const copy = Uint8Array.from(chunk)
  copy[copy.length - CORRUPT_OFFSET_FROM_END] ^= 0xff
  return copy
}

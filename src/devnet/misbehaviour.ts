/**
 * Faults a simulated peer can be told to commit when serving blocks, so tests can watch Contower fail over and
 * penalise. Switched at run time: `peer.misbehaviour = 'stall'`.
 */
export type Misbehaviour =
  /** Serve correctly. */
  | 'none'
  /** Accept the request and never answer (the requester's time-to-first-byte runs out). */
  | 'stall'
  /** Send the first chunk (or up to the peer's `faultAtChunk`), then drop the connection. */
  | 'disconnect'
  /** Send the first chunk (or up to the peer's `faultAtChunk`), then fall silent with the stream open. */
  | 'hang'
  /** Flip a byte inside each chunk's compressed payload: the snappy frame's CRC no longer matches. */
  | 'corrupt'
  /** Answer with a block nobody asked for (by root: another root; by range: a slot outside the range). */
  | 'wrong_block'
  /** Answer with ServerError. */
  | 'error'
  /**
   * Change the state_root of one block of a response (valid SSZ, framing intact): the block is not the chain's. The
   * block at the peer's `alteredSlot` when set, else the one at its `faultAtChunk` (the first by default).
   */
  | 'alter_block'
  /** Give a response's second block a parent_root that is not the first block's root. */
  | 'wrong_parent'
  /** Flip a byte of each data column sidecar's KZG commitments inclusion proof. */
  | 'bad_proof'
  /** Serve correctly, but pause before each chunk (SLOW_CHUNK_MS). */
  | 'slow'

export const MISBEHAVIOURS: readonly Misbehaviour[] = [
  'none',
  'stall',
  'disconnect',
  'hang',
  'corrupt',
  'wrong_block',
  'error',
  'alter_block',
  'wrong_parent',
  'bad_proof',
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

/** SignedBeaconBlock: message offset (4) and signature (96), then BeaconBlock: slot, proposer_index, parent_root, state_root. */
const BLOCK_PARENT_ROOT_AT = 100 + 16
const BLOCK_STATE_ROOT_AT = 100 + 48
/** DataColumnSidecar: index, three list offsets, SignedBeaconBlockHeader (208 bytes), then the inclusion proof. */
const COLUMN_PROOF_AT = 8 + 12 + 208

/**
 * The items of one response as a peer with a content fault sends them: copies with one field changed, each still
 * valid SSZ, so only checks of roots, links and proofs can tell. Other faults leave them as they are.
 */
export function tamperItems<T extends { ssz: Uint8Array; slot: number }>(
  fault: Misbehaviour,
  kind: 'block' | 'column',
  items: T[],
  altered: number | { index: number } = { index: 0 },
): T[] {
  const flip = (item: T, at: number): T => {
    const ssz = Uint8Array.from(item.ssz)
    ssz[at] ^= 0xff
    return { ...item, ssz }
  }
  if (kind === 'block' && fault === 'alter_block') {
    const at = typeof altered === 'number' ? items.findIndex((item) => item.slot === altered) : altered.index
    if (at >= 0 && at < items.length) return items.map((item, i) => (i === at ? flip(item, BLOCK_STATE_ROOT_AT) : item))
  }
  if (kind === 'block' && fault === 'wrong_parent' && items.length > 1) {
    return [items[0], flip(items[1], BLOCK_PARENT_ROOT_AT), ...items.slice(2)]
  }
  if (kind === 'column' && fault === 'bad_proof') return items.map((item) => flip(item, COLUMN_PROOF_AT))
  return items
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

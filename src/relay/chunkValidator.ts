import type { ForkName } from '@lodestar/params'
import type { ForkSchedule } from '../chain/index.js'
import { equalBytes } from '../chain/chainView.js'
import type { ResponseChunk } from '../wire/index.js'
import { type ItemFacts, ItemFormatError, itemFacts } from './items.js'
import type { RelayRequest } from './relayRequest.js'

export type InvalidChunkReason =
  | 'item_format'
  | 'context_bytes_mismatch'
  | 'slot_out_of_range'
  | 'slot_not_increasing'
  | 'column_not_requested'
  | 'root_not_requested'
  | 'index_not_requested'

/** An upstream's chunk that must not reach the requester: it ends the upstream call and costs the upstream. */
export class InvalidChunkError extends Error {
  constructor(
    readonly reason: InvalidChunkReason,
    detail: string,
  ) {
    super(`${reason}: ${detail}`)
    this.name = 'InvalidChunkError'
  }
}

export interface CheckedItem {
  slot: number | null
  /** hash_tree_root of the block (blocks only; computed when the request needed it). */
  blockRoot: Uint8Array | null
  /** The parent root the block names (blocks only). */
  parentRoot: Uint8Array | null
}

/**
 * Checks each chunk of one upstream response against the request before it is forwarded. The client has already
 * checked framing, CRCs, the declared length against the type's bounds and that the context bytes are a digest
 * of this chain; here: the digest is that of the item's own epoch, by-range slots are inside the range and in
 * order, by-root items belong to a requested root (and column).
 */
export class ChunkValidator {
  private lastSlot = -1

  constructor(
    private readonly modules: { forkSchedule: ForkSchedule },
    private readonly req: RelayRequest,
  ) {}

  check(chunk: ResponseChunk): CheckedItem {
    const { def, range, roots, columns } = this.req
    if (!def.contextBytes || !chunk.contextBytes || !chunk.ssz) return { slot: null, blockRoot: null, parentRoot: null }
    const { forkSchedule } = this.modules
    const boundary = forkSchedule.forkForDigest(chunk.contextBytes)
    if (!boundary) throw new InvalidChunkError('context_bytes_mismatch', 'unknown digest')
    const facts: ItemFacts | null = itemFormat(() => itemFacts(def.name, boundary.fork.name as ForkName, chunk.ssz!))
    if (facts === null || facts.slot === null) return { slot: null, blockRoot: null, parentRoot: null }
    const { slot } = facts

    const expected = forkSchedule.digestAtEpoch(Math.floor(slot / forkSchedule.config.slotsPerEpoch))
    if (!equalBytes(expected, chunk.contextBytes)) {
      throw new InvalidChunkError('context_bytes_mismatch', `slot ${slot} is not in ${boundary.digestHex}`)
    }
    const isBlock = facts.index === null
    if (range) {
      if (slot < range.startSlot || slot >= range.endSlot) {
        throw new InvalidChunkError('slot_out_of_range', `slot ${slot} outside [${range.startSlot}, ${range.endSlot})`)
      }
      // Blocks: one per slot, strictly increasing. Sidecars: several per slot, slots never going back.
      if (isBlock ? slot <= this.lastSlot : slot < this.lastSlot) {
        throw new InvalidChunkError('slot_not_increasing', `slot ${slot} after ${this.lastSlot}`)
      }
    }
    this.lastSlot = slot
    if (columns && facts.index !== null && !columns.has(facts.index)) {
      throw new InvalidChunkError('column_not_requested', `column ${facts.index}`)
    }
    let blockRoot: Uint8Array | null = null
    if (roots) {
      blockRoot = itemFormat(() => facts.blockRoot())
      const asked = roots.get(Buffer.from(blockRoot).toString('hex'))
      if (asked === undefined) throw new InvalidChunkError('root_not_requested', `slot ${slot}`)
      if (asked !== null && facts.index !== null && !asked.has(facts.index)) {
        throw new InvalidChunkError('index_not_requested', `index ${facts.index} at slot ${slot}`)
      }
    }
    return { slot, blockRoot: isBlock ? blockRoot : null, parentRoot: isBlock ? facts.parentRoot : null }
  }
}

/** Runs a read of the item's bytes, turning a malformed item into the chunk's rejection. */
function itemFormat<T>(read: () => T): T {
  try {
    return read()
  } catch (e) {
    if (e instanceof ItemFormatError) throw new InvalidChunkError('item_format', e.message)
    throw e
  }
}

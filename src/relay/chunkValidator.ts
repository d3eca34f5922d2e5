import { ContowerError } from '../errors.js'
import { EPOCHS_PER_SYNC_COMMITTEE_PERIOD, type ForkName } from '@lodestar/params'
import { BlockDecodeError, type BlockRootHasher } from '../chain/blockRootHasher.js'
import type { ForkSchedule } from '../chain/forkSchedule.js'
import { knowsLightClientContainers } from '../chain/lightClientProofs.js'
import type { PayloadBid } from '../chain/payloadBids.js'
import { equalBytes } from '../chain/chainView.js'
import type { ResponseChunk } from '../wire/chunks.js'
import { envelopeBidFault, type ItemFacts, ItemFormatError, itemFacts, LIGHT_CLIENT_PROTOCOLS } from './items.js'
import { lightClientItem } from './lightClientItems.js'
import type { RelayRequest } from './relayRequest.js'

export type InvalidChunkReason =
  | 'item_format'
  | 'context_bytes_mismatch'
  | 'slot_out_of_range'
  | 'slot_not_increasing'
  | 'column_not_requested'
  | 'root_not_requested'
  | 'index_not_requested'
  /** A block whose parent_root is not the root of the block before it in the range. */
  | 'broken_link'
  /**
   * The first block of an answer going on from another upstream's blocks, whose parent is not the last of those: a
   * fork, or a lie; refused, but not proof against this upstream (the one before may have been on another fork).
   */
  | 'fork_at_join'
  /** A block (or sidecar header) whose root differs from the one Contower already knows for its slot. */
  | 'known_root_mismatch'
  /** A payload envelope that is not the one its block's bid committed to (the block known by its root). */
  | 'envelope_bid_mismatch'
  /** A sidecar whose lists do not match its commitments, or whose commitments' inclusion proof fails. */
  | 'invalid_sidecar'
  /** Sidecars of one slot in a by-range response that carry different block headers. */
  | 'header_mismatch'
  /** Light-client data whose branches, slots or participants fail (lightClientProofs.ts). */
  | 'invalid_light_client'
  /** A light-client update outside the periods asked, or not after the update before it. */
  | 'period_out_of_range'
  | 'period_not_increasing'

/** An upstream's chunk that must not reach the requester: it ends the upstream call and costs the upstream. */
export class InvalidChunkError extends ContowerError<InvalidChunkReason> {
  constructor(reason: InvalidChunkReason, detail: string) {
    super(reason, `${reason}: ${detail}`)
  }
}

export interface CheckedItem {
  slot: number | null
  /**
   * hash_tree_root of the block (blocks only), computed from its bytes. By range it is filled in once hashed: when the
   * next block is checked, or by provesLastBlock() or settle(); the block is held back until then.
   */
  blockRoot: Uint8Array | null
  /** The parent root the block names (blocks only). */
  parentRoot: Uint8Array | null
  /** The sync committee period of a light-client update asked by range. */
  period?: number
  /**
   * The item passed every check Contower can make, but they do not bind its content (a payload envelope; the data of
   * a fork whose containers are not known here): forwarded, never cached.
   */
  unverified?: true
}

/** What Contower cannot check at all: forwarded as it came (framing, length and digest checked), never cached. */
const UNCHECKED: CheckedItem = Object.freeze({ slot: null, blockRoot: null, parentRoot: null, unverified: true })

export interface ChunkValidatorModules {
  forkSchedule: ForkSchedule
  /** The block root Contower already holds for a slot from verified data, if any. */
  knownRoot?: (slot: number) => Uint8Array | undefined
  /** Hashes block roots off the event loop; without it, they are hashed in check(). */
  blockRoots?: Pick<BlockRootHasher, 'root'>
  /** The bid of a Gloas block Contower holds by root, which that block's payload envelope must match. */
  payloadBid?: (root: Uint8Array) => PayloadBid | undefined
}

/**
 * Checks each chunk of one upstream response against the request before it is forwarded. The client has already
 * checked framing, CRCs, the declared length against the type's bounds and that the context bytes are a digest
 * of this chain; here: the digest is that of the item's own epoch, by-range slots are inside the range and in
 * order, by-root items belong to a requested root (and column), every block's root is hashed from its bytes and,
 * by range, is the next block's parent_root, every sidecar's KZG commitments are proven to be in its block, and
 * roots already known for a slot are matched.
 */
export class ChunkValidator {
  private lastSlot = -1
  /**
   * By range: the root of the last block checked, which the next block must name as its parent, and that block's
   * item. The root is still being hashed (on the worker) while the next chunk is read: only the next block waits.
   */
  private lastRoot: Promise<Uint8Array> | null = null
  private lastItem: CheckedItem | null = null
  /** By range: the header the sidecars of the current slot carry. */
  private lastHeader: Uint8Array | null = null
  private lastSlotOfHeader = -1
  /** Light-client updates by range: the sync committee period of the last update. */
  private lastPeriod = -1
  /** Going on from another upstream's block, and no block of this answer checked yet: the next link is the join. */
  private joining = false

  /**
   * `after`: by range, the block the first block checked must follow (the last one forwarded of an answer that
   * another upstream began), its root computed.
   */
  constructor(
    private readonly modules: ChunkValidatorModules,
    private readonly req: RelayRequest,
    after?: CheckedItem,
  ) {
    if (after?.slot != null && after.blockRoot) {
      this.lastSlot = after.slot
      this.lastRoot = Promise.resolve(after.blockRoot)
      this.lastItem = after
      this.joining = true
    }
  }

  /** A link that does not hold: at the join between two upstreams' blocks, or within one upstream's answer. */
  private brokenLink(slot: number): InvalidChunkError {
    return this.joining
      ? new InvalidChunkError('fork_at_join', `block at slot ${slot} does not follow the last block forwarded`)
      : new InvalidChunkError('broken_link', `block at slot ${slot} does not follow the block before it`)
  }

  /**
   * By range, when `slotsAfter` slots after the range were asked too: true for a block past the range (within those
   * slots), which must then name the
   * range's last block as its parent (only then is that block known to be of this chain; the successor itself is not
   * forwarded). False for a chunk of the range, to be check()ed.
   */
  async provesLastBlock(chunk: ResponseChunk, slotsAfter: number): Promise<boolean> {
    const { def, range } = this.req
    if (!chunk.contextBytes || !chunk.ssz || !range) return false
    const boundary = this.modules.forkSchedule.forkForDigest(chunk.contextBytes)
    if (!boundary) throw new InvalidChunkError('context_bytes_mismatch', 'unknown digest')
    const facts = itemFormat(() => itemFacts(def.name, boundary.fork.name as ForkName, chunk.ssz!))
    if (facts === null || facts.slot === null || facts.slot < range.endSlot) return false
    if (facts.slot >= range.endSlot + slotsAfter) {
      throw new InvalidChunkError(
        'slot_out_of_range',
        `slot ${facts.slot} past the ${slotsAfter} slots asked after the range`,
      )
    }
    const lastRoot = await this.settle()
    if (lastRoot !== null && !equalBytes(facts.parentRoot!, lastRoot)) throw this.brokenLink(facts.slot)
    return true
  }

  /** By range: waits for the last block's root and fills it into its item (null when no block was checked). */
  async settle(): Promise<Uint8Array | null> {
    if (this.lastRoot === null) return null
    const root = await this.lastRoot
    this.lastItem!.blockRoot = root
    return root
  }

  async check(chunk: ResponseChunk): Promise<CheckedItem> {
    const { def, range, roots, columns } = this.req
    if (!def.contextBytes || !chunk.contextBytes || !chunk.ssz) return UNCHECKED
    const { forkSchedule } = this.modules
    const boundary = forkSchedule.forkForDigest(chunk.contextBytes)
    if (!boundary) throw new InvalidChunkError('context_bytes_mismatch', 'unknown digest')
    if (LIGHT_CLIENT_PROTOCOLS.has(def.name)) {
      const fork = boundary.fork.name as ForkName
      return knowsLightClientContainers(fork) ? this.checkLightClient(fork, chunk) : UNCHECKED
    }
    const facts: ItemFacts | null = itemFormat(() => itemFacts(def.name, boundary.fork.name as ForkName, chunk.ssz!))
    if (facts === null || facts.slot === null) return UNCHECKED
    const { slot } = facts

    const expected = forkSchedule.digestAtEpoch(Math.floor(slot / forkSchedule.config.slotsPerEpoch))
    if (!equalBytes(expected, chunk.contextBytes)) {
      throw new InvalidChunkError('context_bytes_mismatch', `slot ${slot} is not in ${boundary.digestHex}`)
    }
    const isBlock = facts.kind === 'block'
    if (range) {
      if (slot < range.startSlot || slot >= range.endSlot) {
        throw new InvalidChunkError('slot_out_of_range', `slot ${slot} outside [${range.startSlot}, ${range.endSlot})`)
      }
      // Blocks and envelopes: one per slot, strictly increasing. Sidecars: several per slot, slots never going back.
      if (facts.kind === 'sidecar' ? slot < this.lastSlot : slot <= this.lastSlot) {
        throw new InvalidChunkError('slot_not_increasing', `slot ${slot} after ${this.lastSlot}`)
      }
    }
    this.lastSlot = slot
    if (columns && facts.index !== null && !columns.has(facts.index)) {
      throw new InvalidChunkError('column_not_requested', `column ${facts.index}`)
    }
    const fault = itemFormat(() => facts.sidecarFault())
    if (fault !== null) throw new InvalidChunkError('invalid_sidecar', `${fault} at slot ${slot}`)
    const known = this.modules.knownRoot?.(slot)
    const fork = boundary.fork.name as ForkName
    if (range && isBlock) return this.chained(fork, slot, facts, known)
    // An envelope's block root is read, not hashed: matched to the root asked or known for its slot.
    let blockRoot: Uint8Array | null = isBlock
      ? await this.blockRootOf(fork, facts)
      : facts.kind === 'envelope'
        ? facts.blockRoot()
        : null
    if (range && !isBlock) {
      // Sidecars of one block share its header: hashed once per slot, when there is a root to match.
      const header = facts.header!
      const sameBlock = slot === this.lastSlotOfHeader && this.lastHeader !== null
      if (sameBlock && !equalBytes(header, this.lastHeader!)) {
        throw new InvalidChunkError('header_mismatch', `sidecars of slot ${slot} name two blocks`)
      }
      if (!sameBlock && known) blockRoot = itemFormat(() => facts.blockRoot())
      this.lastHeader = header
      this.lastSlotOfHeader = slot
    }
    if (known && blockRoot && !equalBytes(known, blockRoot)) {
      throw new InvalidChunkError('known_root_mismatch', `slot ${slot}`)
    }
    if (roots) {
      blockRoot ??= itemFormat(() => facts.blockRoot()) // a sidecar's header: small
      const asked = roots.get(Buffer.from(blockRoot).toString('hex'))
      if (asked === undefined) throw new InvalidChunkError('root_not_requested', `slot ${slot}`)
      if (asked !== null && facts.index !== null && !asked.has(facts.index)) {
        throw new InvalidChunkError('index_not_requested', `index ${facts.index} at slot ${slot}`)
      }
    }
    const item: CheckedItem = {
      slot,
      blockRoot: isBlock ? blockRoot : null,
      parentRoot: isBlock ? facts.parentRoot : null,
    }
    if (facts.kind === 'envelope') {
      const bid = this.modules.payloadBid?.(blockRoot!)
      const mismatch = bid && itemFormat(() => envelopeBidFault(chunk.ssz!, bid))
      if (mismatch) throw new InvalidChunkError('envelope_bid_mismatch', `${mismatch} at slot ${slot}`)
      // Its transactions are bound to the block only by the execution block hash (a keccak not computed here).
      item.unverified = true
    }
    return item
  }

  /**
   * A block of a range: its root starts hashing, and the check waits only for the previous block's root (hashed while
   * this chunk was read); its own root is awaited by the next block, or settle(), unless a root is known for its slot.
   */
  private async chained(fork: ForkName, slot: number, facts: ItemFacts, known?: Uint8Array): Promise<CheckedItem> {
    const root = this.blockRootOf(fork, facts)
    root.catch(() => {}) // awaited later, by the next check or settle(); a failure is reported there
    const previous = await this.settle()
    const item: CheckedItem = { slot, blockRoot: null, parentRoot: facts.parentRoot }
    this.lastRoot = root
    this.lastItem = item
    if (previous !== null && !equalBytes(facts.parentRoot!, previous)) throw this.brokenLink(slot)
    this.joining = false
    if (known && !equalBytes(known, (await this.settle())!)) {
      throw new InvalidChunkError('known_root_mismatch', `slot ${slot}`)
    }
    return item
  }

  /**
   * A light-client chunk: its context bytes are those of its header's epoch, a bootstrap is of the block asked, updates
   * by range are in the periods asked and in order, and every branch proves what it claims (lightClientProofs.ts).
   */
  private checkLightClient(fork: ForkName, chunk: ResponseChunk): CheckedItem {
    const { forkSchedule } = this.modules
    const item = itemFormat(() => lightClientItem(forkSchedule, this.req.def, fork, chunk.ssz!))
    const epoch = Math.floor(item.contextSlot / forkSchedule.config.slotsPerEpoch)
    if (!equalBytes(forkSchedule.digestAtEpoch(epoch), chunk.contextBytes!)) {
      throw new InvalidChunkError('context_bytes_mismatch', `slot ${item.contextSlot} is not in its digest`)
    }
    const { roots, periods } = this.req
    let period: number | undefined
    if (roots && item.headerRoot && !roots.has(Buffer.from(item.headerRoot).toString('hex'))) {
      throw new InvalidChunkError('root_not_requested', `bootstrap of slot ${item.contextSlot}`)
    }
    if (periods) {
      period = Math.floor(epoch / EPOCHS_PER_SYNC_COMMITTEE_PERIOD)
      if (period < periods.startPeriod || period >= periods.endPeriod) {
        throw new InvalidChunkError(
          'period_out_of_range',
          `period ${period} outside [${periods.startPeriod}, ${periods.endPeriod})`,
        )
      }
      if (period <= this.lastPeriod) {
        throw new InvalidChunkError('period_not_increasing', `period ${period} after ${this.lastPeriod}`)
      }
      this.lastPeriod = period
    }
    if (item.fault !== null) throw new InvalidChunkError('invalid_light_client', item.fault)
    // A bootstrap is its block's, and fixed once that block is finalized (then cached as long as finalized ranges);
    // updates are the best known for a period, or the latest, and may still change: no slot, the head TTL.
    const checked: CheckedItem = { slot: item.headerRoot ? item.contextSlot : null, blockRoot: null, parentRoot: null }
    return period === undefined ? checked : { ...checked, period }
  }

  /** A block's root, from the worker when there is one; a block that does not decode is the chunk's rejection. */
  private async blockRootOf(fork: ForkName, facts: ItemFacts): Promise<Uint8Array> {
    const hasher = this.modules.blockRoots
    if (!hasher || !facts.blockMessage) return itemFormat(() => facts.blockRoot())
    try {
      return await hasher.root(fork, facts.blockMessage, this) // this response is a lane of its own
    } catch (e) {
      if (e instanceof BlockDecodeError)
        throw new InvalidChunkError('item_format', `block does not decode: ${e.message}`)
      throw e
    }
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

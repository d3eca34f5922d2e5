import { ForkName, ForkSeq, NUMBER_OF_COLUMNS } from '@lodestar/params'
import { forkAtEpoch } from '../chain/chainConfig.js'
import { getBlobParameters } from '../chain/forkDigest.js'
import type { Network } from '../chain/resolveNetwork.js'
import { type BlockInputs, buildBlock, buildEnvelope, type ParentLink } from './blockFactory.js'
import { type ColumnSidecarBase, columnSidecarBase, columnSidecarSsz } from './dataColumns.js'

export interface ChainBlock {
  readonly slot: number
  /** hash_tree_root(BeaconBlock) */
  readonly root: Uint8Array
  readonly parentRoot: Uint8Array
  /** Serialized SignedBeaconBlock. */
  readonly ssz: Uint8Array
  /** The fork of the block's epoch, whose SignedBeaconBlock type `ssz` is. */
  readonly fork: ForkName
}

export interface SyntheticChainModules {
  network: Network
}

export interface SyntheticChainOpts {
  seed?: string
  payloadBytes?: number
  skipSlotEvery?: number
  blobsPerBlock?: number
  maxCachedBlocks?: number
  mergeEpoch?: number
}

export const SYNTHETIC_CHAIN_DEFAULTS = {
  // Any fixed string: peers started apart with the same seed serve the same chain, byte for byte.
  seed: 'contower-devnet',
  // ≈ a mainnet block's transactions (100–150 KB in 2025); random bytes, so snappy cannot shrink them either.
  payloadBytes: 100_000,
  // 0 = a block in every slot; N > 0 leaves slots N, 2N, … empty, as missed proposals do on mainnet.
  skipSlotEvery: 0,
  // 0 = no blob commitments, so no data column sidecars; at most the devnet's 9 blobs per block.
  blobsPerBlock: 0,
  // 0 = keep every block (≈ payloadBytes each: a day of 2 s slots holds ~4 GB); N keeps the N most recently used.
  maxCachedBlocks: 0,
  // Blocks of earlier epochs carry the default (pre-merge) execution payload; from it on, a payload of their own.
  mergeEpoch: 0,
}

/** Per generated slot: what rebuilding the block and linking its child need (~100 bytes, never evicted). */
interface SlotRecord {
  readonly link: ParentLink
  /** Slot of the parent block, null for genesis. */
  readonly parentSlot: number | null
}

/**
 * A deterministic chain for the devnet: the same network and options give the same blocks in every process. Each
 * block is of the fork its epoch is in (Fulu throughout on the default devnet), with the default execution payload
 * before `mergeEpoch`. Slot 0 holds the genesis block; blocks are built lazily in slot order, since each one's
 * parent_root is the hash_tree_root of the one before (the costly part: ~17 ms per 100 KB block with
 * @chainsafe/ssz's default hasher).
 */
export class SyntheticChain {
  readonly slotsPerEpoch: number
  private readonly opts: typeof SYNTHETIC_CHAIN_DEFAULTS
  private readonly records: (SlotRecord | null)[] = []
  private readonly slotByRootHex = new Map<string, number>()
  /** Built blocks by slot; Map order = least recently used first, for eviction under maxCachedBlocks. */
  private readonly cache = new Map<number, ChainBlock>()
  private readonly sidecarBases = new Map<number, ColumnSidecarBase | null>()
  private lastBlockSlot: number | null = null

  constructor(
    private readonly modules: SyntheticChainModules,
    opts: SyntheticChainOpts = {},
  ) {
    this.opts = { ...SYNTHETIC_CHAIN_DEFAULTS, ...withoutUndefined(opts) }
    const { config } = modules.network
    for (const key of ['payloadBytes', 'skipSlotEvery', 'blobsPerBlock', 'maxCachedBlocks', 'mergeEpoch'] as const) {
      assertUint(key, this.opts[key])
    }
    // Blocks are built for Altair and later forks (phase0 peers speak v1 protocols no part of the devnet serves).
    const genesisFork = forkAtEpoch(config, 0).name
    if (!(ForkSeq[genesisFork as ForkName] >= ForkSeq.altair)) {
      throw new RangeError(
        `${config.configName} starts in ${genesisFork}: the synthetic chain starts in Altair or later`,
      )
    }
    const maxBlobs = getBlobParameters(config, 0).maxBlobsPerBlock
    if (this.opts.blobsPerBlock > maxBlobs) {
      throw new RangeError(`blobsPerBlock ${this.opts.blobsPerBlock} exceeds the ${maxBlobs} blobs a block may carry`)
    }
    this.slotsPerEpoch = config.slotsPerEpoch
  }

  /** The fork of the blocks at `slot`. */
  forkAtSlot(slot: number): ForkName {
    return forkAtEpoch(this.modules.network.config, Math.floor(slot / this.slotsPerEpoch)).name as ForkName
  }

  /** The block at `slot`, or null for a skipped slot. Builds every slot up to it first. */
  blockAt(slot: number): ChainBlock | null {
    assertUint('slot', slot)
    this.buildThrough(slot)
    const record = this.records[slot]!
    if (record === null) return null
    const cached = this.cache.get(slot)
    if (cached) {
      this.cache.delete(slot)
      this.cache.set(slot, cached)
      return cached
    }
    const block = this.build(slot, record.parentSlot)
    if (Buffer.compare(block.root, record.link.root) !== 0) {
      throw new Error(`rebuilt block at slot ${slot} has another root: the generator is not deterministic`)
    }
    return block
  }

  /** A block already built (or, given `headSlot`, built up to it) by its root; null if unknown or past the head. */
  blockByRoot(root: Uint8Array, headSlot?: number): ChainBlock | null {
    if (headSlot !== undefined) {
      assertUint('headSlot', headSlot)
      this.buildThrough(headSlot)
    }
    const slot = this.slotByRootHex.get(Buffer.from(root).toString('hex'))
    if (slot === undefined || (headSlot !== undefined && slot > headSlot)) return null
    return this.blockAt(slot)
  }

  /** Blocks of slots startSlot … startSlot + count - 1 up to headSlot, ascending, skipped slots left out. */
  blocksInRange(startSlot: number, count: number, headSlot: number): ChainBlock[] {
    assertUint('startSlot', startSlot)
    assertUint('count', count)
    assertUint('headSlot', headSlot)
    const blocks: ChainBlock[] = []
    const end = Math.min(startSlot + count - 1, headSlot)
    for (let slot = startSlot; slot <= end; slot++) {
      const block = this.blockAt(slot)
      if (block) blocks.push(block)
    }
    return blocks
  }

  /** Build every slot up to `slot`, yielding to the event loop between blocks so a running devnet stays live. */
  async prebuild(slot: number): Promise<void> {
    assertUint('slot', slot)
    while (this.records.length <= slot) {
      this.buildThrough(this.records.length)
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
  }

  /** The latest block at or before `slot` (the genesis block at worst). */
  headAt(slot: number): ChainBlock {
    assertUint('slot', slot)
    this.buildThrough(slot)
    for (let s = slot; s >= 0; s--) if (this.records[s]) return this.blockAt(s)!
    throw new Error('no genesis block') // unreachable: slot 0 is never skipped
  }

  /** phase0 Checkpoint: the root of the latest block at or before the epoch's start slot. */
  checkpoint(epoch: number): { epoch: number; root: Uint8Array } {
    assertUint('epoch', epoch)
    return { epoch, root: this.headAt(epoch * this.slotsPerEpoch).root }
  }

  /** Serialized DataColumnSidecar `index` of the block at `slot`; null without a block, blobs or such a column. */
  dataColumnSidecar(slot: number, index: number): Uint8Array | null {
    assertUint('index', index)
    const block = this.blockAt(slot)
    if (block === null || index >= NUMBER_OF_COLUMNS || block.fork !== ForkName.fulu) return null
    let base = this.sidecarBases.get(slot)
    if (base === undefined) {
      base = columnSidecarBase(block.ssz)
      this.sidecarBases.set(slot, base)
    }
    return base === null ? null : columnSidecarSsz(this.opts.seed, slot, base, index)
  }

  /**
   * Serialized SignedExecutionPayloadEnvelope of the Gloas block at `slot`, the payload its bid committed to; null
   * without a block or before Gloas. Not kept: built again on each call.
   */
  envelopeAt(slot: number): Uint8Array | null {
    const block = this.blockAt(slot)
    if (block === null || ForkSeq[block.fork] < ForkSeq.gloas) return null
    const { parentSlot } = this.records[slot]!
    const parent = parentSlot === null ? null : this.records[parentSlot]!.link
    return buildEnvelope(this.blockInputs(slot, parent), block.root)
  }

  /** Blocks held in memory now (all built ones unless maxCachedBlocks bounds them). */
  get cachedBlockCount(): number {
    return this.cache.size
  }

  private isSkipped(slot: number): boolean {
    return slot > 0 && this.opts.skipSlotEvery > 0 && slot % this.opts.skipSlotEvery === 0
  }

  private buildThrough(slot: number): void {
    while (this.records.length <= slot) {
      const next = this.records.length
      if (this.isSkipped(next)) {
        this.records.push(null)
        continue
      }
      const parentSlot = this.lastBlockSlot
      const block = this.build(next, parentSlot)
      // The execution block number counts blocks, as buildBlock does: genesis 0, then parent + 1.
      const blockNumber = parentSlot === null ? 0 : this.records[parentSlot]!.link.blockNumber + 1
      this.records.push({ link: { slot: next, root: block.root, blockNumber }, parentSlot })
      this.slotByRootHex.set(Buffer.from(block.root).toString('hex'), next)
      this.lastBlockSlot = next
    }
  }

  private blockInputs(slot: number, parent: ParentLink | null): BlockInputs {
    const { network } = this.modules
    return {
      fork: this.forkAtSlot(slot),
      executionEnabled: Math.floor(slot / this.slotsPerEpoch) >= this.opts.mergeEpoch,
      seed: this.opts.seed,
      slot,
      parent,
      timestamp: network.genesisTime + Math.floor((slot * network.config.slotDurationMs) / 1000),
      payloadBytes: this.opts.payloadBytes,
      blobCount: this.opts.blobsPerBlock,
    }
  }

  private build(slot: number, parentSlot: number | null): ChainBlock {
    const parent = parentSlot === null ? null : this.records[parentSlot]!.link
    const fork = this.forkAtSlot(slot)
    const built = buildBlock(this.blockInputs(slot, parent))
    const block: ChainBlock = {
      slot,
      root: built.root,
      parentRoot: built.value.message.parentRoot,
      ssz: built.ssz,
      fork,
    }
    this.cache.set(slot, block)
    const max = this.opts.maxCachedBlocks
    if (max > 0 && this.cache.size > max) this.cache.delete(this.cache.keys().next().value!)
    return block
  }
}

function assertUint(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${name} must be a non-negative integer: ${value}`)
}

function withoutUndefined<T extends object>(opts: T): Partial<T> {
  return Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as Partial<T>
}

import type { PeerId } from '@libp2p/interface'
import { ssz } from '@lodestar/types'
import { equalBytes } from '../chain/chainView.js'
import { UpstreamLimiter } from '../limits/upstreamLimiter.js'
import { asPeerStatus, encodeStatus } from '../reqresp/messages.js'
import { getProtocol } from '../reqresp/protocols.js'
import type { BlockSource } from './peerHandlers.js'
import { SIMULATED_PEER_DEFAULTS, SimulatedPeer, type SimulatedPeerModules } from './simulatedPeer.js'

export const SYNCING_PEER_DEFAULTS = {
  ...SIMULATED_PEER_DEFAULTS,
  /** Blocks asked per BlocksByRange: half of MAX_REQUEST_BLOCKS, as Lodestar's range sync batches. */
  batchSize: 64,
  /** Time between sync steps: a quarter slot of the 2 s devnet keeps the head within a slot. */
  stepIntervalMs: 500,
}

export interface SyncProgress {
  headSlot: number
  blocksReceived: number
  bytesReceived: number
  requests: number
  /** Blocks refused: a parent root that does not link to our head, or a slot that does not advance. */
  invalidBlocks: number
  failedRequests: number
  /** Blocks that extended the head from beacon_block gossip (the rest came by BlocksByRange). */
  gossipBlocks: number
  /** Data column sidecars of its custody asked for (blocks with blobs × custody columns) and received. */
  columnsRequested: number
  columnsReceived: number
}

interface HeldBlock {
  slot: number
  root: Uint8Array
}

const STATUS_V2 = getProtocol('status', 2)
const BLOCKS_BY_RANGE = getProtocol('beacon_blocks_by_range', 2)
const COLUMNS_BY_RANGE = getProtocol('data_column_sidecars_by_range', 1)

/**
 * A simulated beacon node that is behind: it starts at genesis and fetches the chain with BlocksByRange from
 * one peer (Contower), checking that every block's parent root links to the block before it, then follows the
 * head. It serves no blocks itself, so whatever it holds came through that peer.
 */
export class SyncingPeer extends SimulatedPeer {
  readonly progress: SyncProgress = {
    headSlot: 0,
    blocksReceived: 0,
    bytesReceived: 0,
    requests: 0,
    invalidBlocks: 0,
    failedRequests: 0,
    gossipBlocks: 0,
    columnsRequested: 0,
    columnsReceived: 0,
  }
  private readonly held: HeldBlock[] = []
  private timer: NodeJS.Timeout | null = null
  private stepping = false
  /** What Contower enforces on its requesters: Lodestar's quotas. */
  private readonly quota = new UpstreamLimiter({ clientOf: () => 'contower' })

  constructor(
    modules: SimulatedPeerModules,
    private readonly syncOpts: Partial<typeof SYNCING_PEER_DEFAULTS> = {},
  ) {
    super(modules, { ...SYNCING_PEER_DEFAULTS, ...syncOpts, serveBlocks: false })
    // Every node knows its genesis block.
    const genesis = modules.chain.blockAt(0)!
    this.held.push({ slot: 0, root: genesis.root })
  }

  get head(): HeldBlock {
    return this.held[this.held.length - 1]
  }

  /** Syncs from `upstream` every step until stopped, and takes gossiped blocks that extend the head. */
  follow(upstream: PeerId): void {
    this.gossip.onAccepted((kind, ssz) => {
      if (kind === 'beacon_block' && this.extend(ssz) !== null) this.progress.gossipBlocks++
    })
    const interval = this.syncOpts.stepIntervalMs ?? SYNCING_PEER_DEFAULTS.stepIntervalMs
    const tick = () => {
      this.timer = setTimeout(() => void this.step(upstream).finally(tick), interval)
      this.timer.unref()
    }
    void this.step(upstream).finally(tick)
  }

  override async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    await super.stop()
  }

  /** One sync step: learn the upstream's head from its Status, then fetch the next batch towards it. */
  async step(upstream: PeerId): Promise<void> {
    if (this.stepping || !this.client) return
    this.stepping = true
    try {
      const ours = encodeStatus(STATUS_V2, this.source().status())
      const reply = await this.client.requestOne(upstream, STATUS_V2, ours)
      const theirs = asPeerStatus(ssz.fulu.Status.deserialize(reply.ssz!))
      const head = this.head
      // Without gossip to announce new blocks, follow the wall clock past a peer's Status head.
      const target = Math.max(theirs.headSlot, this.clock.currentSlot)
      if (target <= head.slot) return
      // Batches end on multiples of the batch size, as Lodestar aligns its range-sync batches to epochs: peers
      // syncing the same history ask the same questions, which a relay's cache can answer.
      const batch = this.syncOpts.batchSize ?? SYNCING_PEER_DEFAULTS.batchSize
      const batchEnd = (Math.floor((head.slot + 1) / batch) + 1) * batch
      const count = Math.min(batchEnd - (head.slot + 1), target - head.slot)
      // A well-behaved requester: stay within the quotas the peer enforces (and bans for), as Contower does.
      const lease = this.quota.tryAcquire(upstream.toString(), BLOCKS_BY_RANGE.name, count)
      if (!lease) return
      const request = BLOCKS_BY_RANGE.request!.serialize({ startSlot: head.slot + 1, count, step: 1 })
      this.progress.requests++
      let blobBlocks = 0
      try {
        for await (const chunk of this.client.request(upstream, BLOCKS_BY_RANGE, request, { maxChunks: count })) {
          const blobs = this.accept(chunk.ssz!)
          if (blobs === null) break
          if (blobs > 0) blobBlocks++
          this.progress.bytesReceived += chunk.raw.byteLength
        }
      } finally {
        lease.release()
      }
      if (blobBlocks > 0) await this.fetchColumns(upstream, head.slot + 1, this.head.slot - head.slot, blobBlocks)
    } catch (e) {
      this.progress.failedRequests++
      this.modules.logger.debug({ err: e }, 'sync step failed')
    } finally {
      this.stepping = false
    }
  }

  /**
   * The data columns it custodies of the blocks just synced, as a Fulu node fetches them: one DataColumnsByRange
   * over the batch's slots, within the quota. `blobBlocks` blocks of the batch carry blobs.
   */
  private async fetchColumns(upstream: PeerId, startSlot: number, count: number, blobBlocks: number): Promise<void> {
    const columns = [...this.custody].sort((a, b) => a - b)
    const lease = this.quota.tryAcquire(upstream.toString(), COLUMNS_BY_RANGE.name, count * columns.length)
    if (!lease || columns.length === 0) return lease?.release()
    this.progress.columnsRequested += blobBlocks * columns.length
    const request = COLUMNS_BY_RANGE.request!.serialize({ startSlot, count, columns })
    try {
      const maxChunks = count * columns.length
      for await (const chunk of this.client!.request(upstream, COLUMNS_BY_RANGE, request, { maxChunks })) {
        this.progress.columnsReceived++
        this.progress.bytesReceived += chunk.raw.byteLength
      }
    } catch (e) {
      this.modules.logger.debug({ err: e }, 'column sync failed')
    } finally {
      lease.release()
    }
  }

  /**
   * Adds a requested block and returns its blob count; null for one that does not extend the head, which is
   * invalid (the chain is checked by roots).
   */
  private accept(bytes: Uint8Array): number | null {
    const blobs = this.extend(bytes)
    if (blobs === null) {
      this.progress.invalidBlocks++
      return null
    }
    this.progress.blocksReceived++
    return blobs
  }

  /** Adds the block if its parent is our head; returns its blob count, or null when it was not added. */
  private extend(bytes: Uint8Array): number | null {
    const block = ssz.fulu.SignedBeaconBlock.deserialize(bytes)
    const head = this.head
    if (block.message.slot <= head.slot || !equalBytes(block.message.parentRoot, head.root)) return null
    this.held.push({ slot: block.message.slot, root: ssz.fulu.BeaconBlock.hashTreeRoot(block.message) })
    this.progress.headSlot = block.message.slot
    return block.message.body.blobKzgCommitments.length
  }

  /** Root of the last held block at or before `slot`. */
  rootAt(slot: number): Uint8Array {
    for (let i = this.held.length - 1; i >= 0; i--) if (this.held[i].slot <= slot) return this.held[i].root
    return this.held[0].root
  }

  protected override source(): BlockSource {
    const slotsPerEpoch = this.modules.chain.slotsPerEpoch
    return {
      status: () => {
        const head = this.head
        const finalizedEpoch = Math.max(0, Math.floor(head.slot / slotsPerEpoch) - 2)
        return {
          forkDigest: this.digestAtSlot(Math.max(0, this.clock.currentSlot)),
          finalizedRoot: this.rootAt(finalizedEpoch * slotsPerEpoch),
          finalizedEpoch,
          headRoot: head.root,
          headSlot: head.slot,
          earliestAvailableSlot: 0,
        }
      },
      blocksInRange: () => [],
      blockByRoot: () => null,
      column: () => null,
      strayBlocks: () => [],
      digestAtSlot: (slot) => this.digestAtSlot(slot),
    }
  }
}

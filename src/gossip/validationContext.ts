import { ForkSeq } from '@lodestar/params'
import type { ChainConfig } from '../chain/chainConfig.js'
import { getBlobParameters } from '../chain/forkDigest.js'
import type { TimeWindows } from './timeWindows.js'

/** phase0 beacon-chain.md MAX_COMMITTEES_PER_SLOT (mainnet and minimal presets): no committee index reaches it. */
export const MAX_COMMITTEES_PER_SLOT = 64
/** phase0 p2p-interface.md ATTESTATION_PROPAGATION_SLOT_RANGE (the window before Deneb). */
export const ATTESTATION_PROPAGATION_SLOT_RANGE = 32
/** deneb beacon-chain.md MAX_BLOBS_PER_BLOCK, when the config omits it. */
const DEFAULT_MAX_BLOBS_PER_BLOCK_DENEB = 6
/** electra beacon-chain.md MAX_BLOBS_PER_BLOCK_ELECTRA, when the config omits it. */
const DEFAULT_MAX_BLOBS_PER_BLOCK_ELECTRA = 9

/** What a per-topic check needs besides the message: the clock's windows, the fork and the topic's subnet. */
export interface ValidationContext {
  readonly nowMs: number
  /** Lodestar fork name of the topic's digest. */
  readonly fork: string
  readonly forkSeq: ForkSeq
  /** The topic's subnet id (subnet topics), else null. */
  readonly subnet: number | null
  readonly windows: TimeWindows
  readonly config: ChainConfig
  /** Unix seconds. */
  readonly genesisTime: number
}

/** compute_time_at_slot: the execution payload timestamp a block of `slot` must carry. */
export function timeAtSlot(ctx: ValidationContext, slot: number): number {
  return ctx.genesisTime + Math.floor((slot * ctx.config.slotDurationMs) / 1000)
}

/** The blob limit of a block (or sidecar) of `epoch` under the topic's fork: Deneb, Electra, then the blob schedule. */
export function maxBlobsPerBlock(ctx: ValidationContext, epoch: number): number {
  if (ctx.forkSeq >= ForkSeq.fulu) return getBlobParameters(ctx.config, epoch).maxBlobsPerBlock
  if (ctx.forkSeq >= ForkSeq.electra) return ctx.config.maxBlobsPerBlockElectra || DEFAULT_MAX_BLOBS_PER_BLOCK_ELECTRA
  return ctx.config.values.optionalUint('MAX_BLOBS_PER_BLOCK') ?? DEFAULT_MAX_BLOBS_PER_BLOCK_DENEB
}

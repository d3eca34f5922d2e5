import { type ChainConfig, type Fork, forkAtEpoch } from './chainConfig.js'
import { epochToU64Le, FAR_FUTURE_EPOCH } from './configValues.js'
import {
  assertEpoch,
  type BlobParameters,
  computeForkDigest,
  FORK_DIGEST_BYTES,
  forkDigestToHex,
  getBlobParameters,
  ROOT_BYTES,
} from './forkDigest.js'

/** phase0 p2p-interface.md ENRForkID: fork_digest (4) ‖ next_fork_version (4) ‖ next_fork_epoch (u64 LE). */
export const ENR_FORK_ID_BYTES = 16

/**
 * An epoch at which the fork digest changes: a scheduled fork, or (from Fulu on) a BLOB_SCHEDULE entry, a
 * "blob-parameters-only" fork. The digest holds from `epoch` up to (not including) `endEpoch`.
 */
export interface DigestBoundary {
  readonly epoch: number
  /** Next boundary's epoch, or Infinity for the last one. */
  readonly endEpoch: number
  /** The fork in effect from `epoch` (unchanged across blob-parameters-only boundaries). */
  readonly fork: Fork
  /** Blob parameters hashed into the digest; null before Fulu. */
  readonly blobParams: BlobParameters | null
  readonly digest: Uint8Array
  /** Lowercase hex without 0x. */
  readonly digestHex: string
}

/** The fork schedule of one network with its digests precomputed; immutable once built. */
export class ForkSchedule {
  /** Scheduled boundaries in ascending epoch order; forks that share an epoch yield one boundary (the latest). */
  readonly boundaries: readonly DigestBoundary[]
  private readonly byDigestHex: ReadonlyMap<string, DigestBoundary>

  constructor(
    readonly config: ChainConfig,
    readonly genesisValidatorsRoot: Uint8Array,
  ) {
    if (genesisValidatorsRoot.length !== ROOT_BYTES) {
      throw new RangeError(`genesis validators root must be ${ROOT_BYTES} bytes, got ${genesisValidatorsRoot.length}`)
    }
    const epochs = new Set<number>()
    for (const fork of config.forks) if (fork.epoch !== FAR_FUTURE_EPOCH) epochs.add(fork.epoch)
    for (const entry of config.blobSchedule) {
      if (entry.epoch >= config.fuluForkEpoch && entry.epoch !== FAR_FUTURE_EPOCH) epochs.add(entry.epoch)
    }
    const sorted = [...epochs].sort((a, b) => a - b)
    this.boundaries = sorted.map((epoch, i) => {
      const digest = computeForkDigest(config, genesisValidatorsRoot, epoch)
      return {
        epoch,
        endEpoch: sorted[i + 1] ?? FAR_FUTURE_EPOCH,
        fork: forkAtEpoch(config, epoch),
        blobParams: epoch >= config.fuluForkEpoch ? getBlobParameters(config, epoch) : null,
        digest,
        digestHex: forkDigestToHex(digest),
      }
    })
    const byDigestHex = new Map<string, DigestBoundary>()
    // Distinct versions and blob parameters give distinct digests; should a hand-edited config repeat a
    // version before Fulu, the later boundary wins.
    for (const boundary of this.boundaries) byDigestHex.set(boundary.digestHex, boundary)
    this.byDigestHex = byDigestHex
  }

  /** The fork in effect at `epoch`: {name, version, epoch}. */
  forkAtEpoch(epoch: number): Fork {
    return this.boundaryAtEpoch(epoch).fork
  }

  /** The boundary whose digest holds at `epoch`. */
  boundaryAtEpoch(epoch: number): DigestBoundary {
    assertEpoch(epoch)
    for (let i = this.boundaries.length - 1; i >= 0; i--) {
      const boundary = this.boundaries[i]!
      if (epoch >= boundary.epoch) return boundary
    }
    // Unreachable: the genesis fork is always a boundary at epoch 0.
    throw new RangeError(`no fork at epoch ${epoch}`)
  }

  digestAtEpoch(epoch: number): Uint8Array {
    return this.boundaryAtEpoch(epoch).digest
  }

  digestHexAtEpoch(epoch: number): string {
    return this.boundaryAtEpoch(epoch).digestHex
  }

  /** The first boundary strictly after `epoch` (regular or blob-parameters-only fork), or null. */
  nextBoundary(epoch: number): DigestBoundary | null {
    assertEpoch(epoch)
    return this.boundaries.find((b) => b.epoch > epoch) ?? null
  }

  /** The boundary a context-bytes / topic digest belongs to, or null for a digest of no scheduled boundary. */
  forkForDigest(digest: Uint8Array): DigestBoundary | null {
    if (digest.length !== FORK_DIGEST_BYTES) return null
    return this.byDigestHex.get(forkDigestToHex(digest)) ?? null
  }

  forkForDigestHex(digestHex: string): DigestBoundary | null {
    return this.byDigestHex.get(digestHex.toLowerCase().replace(/^0x/, '')) ?? null
  }

  /**
   * SSZ ENRForkID for the `eth2` ENR key (phase0 p2p-interface.md, fulu p2p-interface.md "eth2 field"):
   * next_fork_epoch is the next boundary of any kind, next_fork_version its fork version (unchanged for a
   * blob-parameters-only boundary); with nothing scheduled, the current version and FAR_FUTURE_EPOCH.
   */
  enrForkId(epoch: number): Uint8Array {
    const current = this.boundaryAtEpoch(epoch)
    const next = this.nextBoundary(epoch)
    const out = new Uint8Array(ENR_FORK_ID_BYTES)
    out.set(current.digest, 0)
    out.set(next ? next.fork.version : current.fork.version, FORK_DIGEST_BYTES)
    out.set(epochToU64Le(next ? next.epoch : FAR_FUTURE_EPOCH), 8)
    return out
  }

  /** fulu p2p-interface.md `nfd` ENR key: the next boundary's digest, or four zero bytes when none is scheduled. */
  nextForkDigest(epoch: number): Uint8Array {
    return this.nextBoundary(epoch)?.digest ?? new Uint8Array(FORK_DIGEST_BYTES)
  }
}

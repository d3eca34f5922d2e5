import { createHash } from 'node:crypto'
import { type ChainConfig, FORK_VERSION_BYTES, forkAtEpoch } from './chainConfig.js'
import { epochToU64Le } from './configValues.js'

/** phase0 p2p-interface.md `ForkDigest = Bytes4`. */
export const FORK_DIGEST_BYTES = 4
/** phase0 beacon-chain.md `Root = Bytes32`. */
export const ROOT_BYTES = 32
/** ForkData.current_version (Bytes4) is right-padded to one 32-byte SSZ chunk before merkleization. */
const SSZ_CHUNK_BYTES = 32

/** fulu beacon-chain.md `BlobParameters`. */
export interface BlobParameters {
  readonly epoch: number
  readonly maxBlobsPerBlock: number
}

function sha256(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash('sha256')
  for (const part of parts) hash.update(part)
  return new Uint8Array(hash.digest())
}

function assertLength(name: string, bytes: Uint8Array, length: number): void {
  if (bytes.length !== length) throw new RangeError(`${name} must be ${length} bytes, got ${bytes.length}`)
}

export function assertEpoch(epoch: number): void {
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError(`epoch must be a non-negative integer: ${epoch}`)
}

/**
 * phase0 beacon-chain.md compute_fork_data_root: hash_tree_root(ForkData{current_version, genesis_validators_root}).
 * ForkData has two fields, so the root is sha256(chunk(version) ‖ gvr) with the version zero-padded to 32 bytes.
 */
export function computeForkDataRoot(version: Uint8Array, genesisValidatorsRoot: Uint8Array): Uint8Array {
  assertLength('fork version', version, FORK_VERSION_BYTES)
  assertLength('genesis validators root', genesisValidatorsRoot, ROOT_BYTES)
  const versionChunk = new Uint8Array(SSZ_CHUNK_BYTES)
  versionChunk.set(version)
  return sha256(versionChunk, genesisValidatorsRoot)
}

/**
 * fulu beacon-chain.md get_blob_parameters: the BLOB_SCHEDULE entry with the highest EPOCH at or before `epoch`,
 * else (ELECTRA_FORK_EPOCH, MAX_BLOBS_PER_BLOCK_ELECTRA).
 */
export function getBlobParameters(config: ChainConfig, epoch: number): BlobParameters {
  for (let i = config.blobSchedule.length - 1; i >= 0; i--) {
    const entry = config.blobSchedule[i]!
    if (epoch >= entry.epoch) return { epoch: entry.epoch, maxBlobsPerBlock: entry.maxBlobsPerBlock }
  }
  return { epoch: config.electraForkEpoch, maxBlobsPerBlock: config.maxBlobsPerBlockElectra }
}

/**
 * fulu beacon-chain.md compute_fork_digest: base = compute_fork_data_root(compute_fork_version(epoch), gvr);
 * before FULU_FORK_EPOCH the digest is base[:4], from it on (base XOR sha256(u64le(epoch) ‖ u64le(max_blobs)))[:4].
 */
export function computeForkDigest(config: ChainConfig, genesisValidatorsRoot: Uint8Array, epoch: number): Uint8Array {
  assertEpoch(epoch)
  const base = computeForkDataRoot(forkAtEpoch(config, epoch).version, genesisValidatorsRoot)
  if (epoch < config.fuluForkEpoch) return base.slice(0, FORK_DIGEST_BYTES)

  const params = getBlobParameters(config, epoch)
  const mask = sha256(epochToU64Le(params.epoch), uintToU64Le(params.maxBlobsPerBlock))
  const digest = new Uint8Array(FORK_DIGEST_BYTES)
  for (let i = 0; i < FORK_DIGEST_BYTES; i++) digest[i] = base[i]! ^ mask[i]!
  return digest
}

function uintToU64Le(value: number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(value), true)
  return out
}

/** Lowercase hex without 0x, as in gossip topics `/eth2/{digest}/…`. */
export function forkDigestToHex(digest: Uint8Array): string {
  return Buffer.from(digest).toString('hex')
}

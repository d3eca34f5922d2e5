import { type Node, Tree } from '@chainsafe/persistent-merkle-tree'
import type { ForkName } from '@lodestar/params'
import { ssz, sszTypesFor } from '@lodestar/types'
import type { ForkSchedule } from '../../../src/chain/forkSchedule.js'
import { type Horizon, toRelayRequest, type RelayRequest } from '../../../src/relay/relayRequest.js'
import { getProtocol, type ProtocolName, sszBounds } from '../../../src/reqresp/protocols.js'
import { ByteReader } from '../../../src/wire/byteReader.js'
import { encodeResponseChunk, readResponseChunk, type ResponseChunk } from '../../../src/wire/chunks.js'
import { MAX_PAYLOAD_SIZE_BYTES, RespCode } from '../../../src/wire/constants.js'

/** The current version of each data protocol, as the relay serves it. */
const VERSIONS: Partial<Record<ProtocolName, number>> = {
  beacon_blocks_by_range: 2,
  beacon_blocks_by_root: 2,
  blob_sidecars_by_range: 1,
  blob_sidecars_by_root: 1,
  data_column_sidecars_by_range: 1,
  data_column_sidecars_by_root: 1,
  execution_payload_envelopes_by_range: 1,
  execution_payload_envelopes_by_root: 1,
  light_client_bootstrap: 1,
  light_client_updates_by_range: 1,
  light_client_finality_update: 1,
  light_client_optimistic_update: 1,
  status: 2,
  ping: 1,
}

export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

export function defOf(name: ProtocolName) {
  return getProtocol(name, VERSIONS[name]!)
}

/** toRelayRequest for the current version of `name`. */
export function relayRequest(name: ProtocolName, decoded: unknown, horizon?: Horizon): RelayRequest {
  return toRelayRequest(defOf(name), decoded, horizon)
}

/**
 * A success chunk as the relay's client hands it over: encoded with encodeResponseChunk, then read back with
 * readResponseChunk under the bounds of the type the context bytes name (as ResponseTypes does), so every chunk
 * a test feeds the validator is one the wire layer accepts.
 */
export async function chunkOf(
  name: ProtocolName,
  ssz: Uint8Array,
  contextBytes: Uint8Array | undefined,
  forkSchedule: ForkSchedule,
): Promise<ResponseChunk> {
  const def = defOf(name)
  const bytes = encodeResponseChunk(RespCode.Success, ssz, contextBytes)
  const reader = new ByteReader(
    (async function* () {
      yield bytes
    })(),
  )
  const chunk = await readResponseChunk(reader, {
    contextBytes: def.contextBytes,
    boundsFor: (ctx) => {
      const boundary = ctx ? forkSchedule.forkForDigest(ctx) : null
      // Unknown digests are the client's to refuse; here they reach the validator so its own check can be seen.
      return boundary
        ? sszBounds(def.response(boundary.fork.name as ForkName))
        : { minSize: 0, maxSize: MAX_PAYLOAD_SIZE_BYTES }
    },
  })
  if (chunk === null) throw new Error('no chunk read back')
  return chunk
}

export const filled = (n: number, fill: number) => new Uint8Array(n).fill(fill)

/** A SignedBeaconBlock of `fork` with every fixed field before the body set to something non-zero. */
export function signedBlock(fork: ForkName, slot: number, parentRoot: Uint8Array = filled(32, 0x11)) {
  const types = sszTypesFor(fork)
  const value = types.SignedBeaconBlock.defaultValue()
  value.message.slot = slot
  value.message.proposerIndex = 4242
  value.message.parentRoot = parentRoot
  value.message.stateRoot = filled(32, 0x22)
  value.message.body.graffiti = filled(32, 0x33)
  value.signature = filled(96, 0x44)
  return {
    value,
    bytes: types.SignedBeaconBlock.serialize(value),
    messageRoot: types.BeaconBlock.hashTreeRoot(value.message),
  }
}

/** A SignedBeaconBlockHeader; a different proposer gives a different block root. */
export const header = (slot: number, proposerIndex = 77, bodyRoot: Uint8Array = filled(32, 0xa3)) => ({
  message: {
    slot,
    proposerIndex,
    parentRoot: filled(32, 0xa1),
    stateRoot: filled(32, 0xa2),
    bodyRoot,
  },
  signature: filled(96, 0xa4),
})

/**
 * A block body holding `commitments`, its root and the Merkle proof (leaf level first) of the generalized index
 * `path` leads to: the inclusion proof a sound sidecar carries.
 */
function bodyProof<V extends { blobKzgCommitments: Uint8Array[] }>(
  type: {
    defaultValue(): V
    hashTreeRoot(value: V): Uint8Array
    value_toTree(value: V): Node
    getPathInfo(path: Array<string | number>): { gindex: bigint }
  },
  commitments: Uint8Array[],
  path: Array<string | number>,
) {
  const body = type.defaultValue()
  body.blobKzgCommitments = commitments
  const root = type.hashTreeRoot(body)
  const proof = new Tree(type.value_toTree(body)).getSingleProof(type.getPathInfo(path).gindex)
  return { bodyRoot: root, proof }
}

export function columnSidecar(slot: number, index: number, proposerIndex = 77) {
  const value = ssz.fulu.DataColumnSidecar.defaultValue()
  value.index = index
  value.column = [filled(2048, 0x01), filled(2048, 0x02)]
  value.kzgCommitments = [filled(48, 0x03), filled(48, 0x04)]
  value.kzgProofs = [filled(48, 0x05), filled(48, 0x06)]
  const { bodyRoot, proof } = bodyProof(ssz.fulu.BeaconBlockBody, value.kzgCommitments, ['blobKzgCommitments'])
  value.signedBlockHeader = header(slot, proposerIndex, bodyRoot)
  value.kzgCommitmentsInclusionProof = proof
  const root = ssz.phase0.BeaconBlockHeader.hashTreeRoot(value.signedBlockHeader.message)
  return { value, bytes: ssz.fulu.DataColumnSidecar.serialize(value), root }
}

/** A Gloas DataColumnSidecar: no header or commitments, its block named by root and slot. */
export function gloasColumnSidecar(slot: number, index: number, blockRoot: Uint8Array = filled(32, 0x0a), cells = 2) {
  const value = ssz.gloas.DataColumnSidecar.defaultValue()
  value.index = index
  value.column = Array.from({ length: cells }, (_, i) => filled(2048, i + 1))
  value.kzgProofs = Array.from({ length: cells }, (_, i) => filled(48, i + 0x10))
  value.slot = slot
  value.beaconBlockRoot = blockRoot
  return { value, bytes: ssz.gloas.DataColumnSidecar.serialize(value), root: blockRoot }
}

/** A Gloas SignedExecutionPayloadEnvelope for the block `blockRoot` at `slot` (the payload's slot_number). */
export function payloadEnvelope(slot: number, blockRoot: Uint8Array = filled(32, 0x0b), transactions = 2) {
  const value = ssz.gloas.SignedExecutionPayloadEnvelope.defaultValue()
  value.message.payload.slotNumber = slot
  value.message.payload.timestamp = 1_655_733_600 + slot * 12
  value.message.payload.blockHash = filled(32, 0x0c)
  value.message.payload.transactions = Array.from({ length: transactions }, (_, i) => filled(100 + i, i + 1))
  value.message.payload.extraData = filled(7, 0x0d)
  value.message.builderIndex = 3
  value.message.beaconBlockRoot = blockRoot
  value.message.parentBeaconBlockRoot = filled(32, 0x0e)
  value.signature = filled(96, 0x0f)
  return { value, bytes: ssz.gloas.SignedExecutionPayloadEnvelope.serialize(value), root: blockRoot }
}

const BLOBS_PER_BLOCK = 6

export function blobSidecar(slot: number, index: number, proposerIndex = 77) {
  const value = ssz.deneb.BlobSidecar.defaultValue()
  value.index = index
  value.blob = filled(131_072, 0x07)
  value.kzgCommitment = filled(48, 0x08)
  value.kzgProof = filled(48, 0x09)
  // The block's commitments, the same for every index, so blobs of one block share its header.
  const commitments = Array.from({ length: BLOBS_PER_BLOCK }, () => value.kzgCommitment)
  const { bodyRoot, proof } = bodyProof(ssz.deneb.BeaconBlockBody, commitments, ['blobKzgCommitments', index])
  value.signedBlockHeader = header(slot, proposerIndex, bodyRoot)
  value.kzgCommitmentInclusionProof = proof
  const root = ssz.phase0.BeaconBlockHeader.hashTreeRoot(value.signedBlockHeader.message)
  return { value, bytes: ssz.deneb.BlobSidecar.serialize(value), root }
}

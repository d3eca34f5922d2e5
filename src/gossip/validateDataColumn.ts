/**
 * data_column_sidecar_{subnet}, the checks that need no state (fulu p2p-interface.md), in the spec's order:
 * verify_data_column_sidecar (index < NUMBER_OF_COLUMNS, commitments non-empty and within the epoch's blob limit,
 * column and proofs as long as the commitments) → REJECT; subnet = index % DATA_COLUMN_SIDECAR_SUBNET_COUNT →
 * REJECT; not from a future slot → IGNORE; verify_data_column_sidecar_inclusion_proof → REJECT.
 * Not judged: finalized slot, first-seen tuple, proposer signature, parent, KZG cell proofs (no KZG library here).
 *
 * Gloas (gloas p2p-interface.md "Modified data_column_sidecar_{subnet_id}"): the sidecar carries slot and block root,
 * no header, commitments or inclusion proof. In the spec's order: subnet = index % DATA_COLUMN_SIDECAR_SUBNET_COUNT →
 * REJECT; not from a future slot → IGNORE; then the parts of verify_data_column_sidecar that read the sidecar alone:
 * index < NUMBER_OF_COLUMNS, at least one cell, as many proofs as cells → REJECT. Not judged (they need the block,
 * whose bid holds the commitments): first-seen tuple, block seen and valid, slot = the block's, cells = commitments,
 * KZG proofs.
 */
import { NUMBER_OF_COLUMNS } from '@lodestar/params'
import { verifyCommitmentsInclusionProof } from '../chain/inclusionProof.js'
import { DATA_COLUMN_SIDECAR_SUBNET_COUNT } from './topics.js'
import { maxBlobsPerBlock, type ValidationContext } from './validationContext.js'
import { ACCEPT, ignore, reject, type Verdict } from './verdict.js'

export interface DataColumnSidecarLike {
  index: number
  column: unknown[]
  kzgCommitments: Uint8Array[]
  kzgProofs: unknown[]
  signedBlockHeader: { message: { slot: number; bodyRoot: Uint8Array } }
  kzgCommitmentsInclusionProof: Uint8Array[]
}

/** The Gloas DataColumnSidecar (EIP-7732). */
export interface GloasDataColumnSidecarLike {
  index: number
  column: unknown[]
  kzgProofs: unknown[]
  slot: number
}

export function validateGloasDataColumnSidecar(ctx: ValidationContext, sidecar: GloasDataColumnSidecarLike): Verdict {
  if (sidecar.index % DATA_COLUMN_SIDECAR_SUBNET_COUNT !== ctx.subnet) return reject('wrong_subnet')
  if (ctx.windows.isFutureSlot(sidecar.slot, ctx.nowMs)) return ignore('future_slot')
  if (!(sidecar.index < NUMBER_OF_COLUMNS)) return reject('column_index_out_of_range')
  if (sidecar.column.length === 0) return reject('empty_column')
  if (sidecar.column.length !== sidecar.kzgProofs.length) return reject('column_length_mismatch')
  return ACCEPT
}

export function validateDataColumnSidecar(ctx: ValidationContext, sidecar: DataColumnSidecarLike): Verdict {
  const header = sidecar.signedBlockHeader.message
  if (!(sidecar.index < NUMBER_OF_COLUMNS)) return reject('column_index_out_of_range')
  const blobs = sidecar.kzgCommitments.length
  if (blobs === 0) return reject('no_commitments')
  if (blobs > maxBlobsPerBlock(ctx, ctx.windows.epochAtSlot(header.slot))) return reject('too_many_blobs')
  if (sidecar.column.length !== blobs || sidecar.kzgProofs.length !== blobs) return reject('column_length_mismatch')
  if (sidecar.index % DATA_COLUMN_SIDECAR_SUBNET_COUNT !== ctx.subnet) return reject('wrong_subnet')
  if (ctx.windows.isFutureSlot(header.slot, ctx.nowMs)) return ignore('future_slot')
  const { kzgCommitments, kzgCommitmentsInclusionProof: proof } = sidecar
  if (!verifyCommitmentsInclusionProof(ctx.fork, kzgCommitments, proof, header.bodyRoot))
    return reject('inclusion_proof')
  return ACCEPT
}

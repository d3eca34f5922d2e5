/**
 * The count limits Gloas checks on gossip (gloas p2p-interface.md "verify_block_body_operation_limits",
 * "verify_execution_requests_limits"). EIP-7688 turns the body's and the requests' lists into progressive lists,
 * which have no SSZ limit, so the per-block and per-payload maxima of the preset are checked here instead. Each
 * reads the message alone: a message over a limit is invalid in every state.
 */
import {
  MAX_ATTESTATIONS_ELECTRA,
  MAX_ATTESTER_SLASHINGS_ELECTRA,
  MAX_BLS_TO_EXECUTION_CHANGES,
  MAX_BUILDER_DEPOSIT_REQUESTS_PER_PAYLOAD,
  MAX_BUILDER_EXIT_REQUESTS_PER_PAYLOAD,
  MAX_CONSOLIDATION_REQUESTS_PER_PAYLOAD,
  MAX_PAYLOAD_ATTESTATIONS,
  MAX_PROPOSER_SLASHINGS,
  MAX_VOLUNTARY_EXITS,
  MAX_WITHDRAWAL_REQUESTS_PER_PAYLOAD,
} from '@lodestar/params'

export interface GloasBlockBodyLike {
  proposerSlashings: unknown[]
  attesterSlashings: unknown[]
  attestations: unknown[]
  deposits: unknown[]
  voluntaryExits: unknown[]
  blsToExecutionChanges: unknown[]
  payloadAttestations: unknown[]
}

export interface ExecutionRequestsLike {
  withdrawals: unknown[]
  consolidations: unknown[]
  builderDeposits: unknown[]
  builderExits: unknown[]
}

/** verify_block_body_operation_limits: true when every count is within its limit and there is no deposit. */
export function withinBlockBodyOperationLimits(body: GloasBlockBodyLike): boolean {
  return (
    body.proposerSlashings.length <= MAX_PROPOSER_SLASHINGS &&
    body.attesterSlashings.length <= MAX_ATTESTER_SLASHINGS_ELECTRA &&
    body.attestations.length <= MAX_ATTESTATIONS_ELECTRA &&
    // Gloas takes deposits through execution requests only: a block must carry none.
    body.deposits.length === 0 &&
    body.voluntaryExits.length <= MAX_VOLUNTARY_EXITS &&
    body.blsToExecutionChanges.length <= MAX_BLS_TO_EXECUTION_CHANGES &&
    body.payloadAttestations.length <= MAX_PAYLOAD_ATTESTATIONS
  )
}

/** verify_execution_requests_limits (deposit requests have no gossip limit: the spec checks none). */
export function withinExecutionRequestsLimits(requests: ExecutionRequestsLike): boolean {
  return (
    requests.withdrawals.length <= MAX_WITHDRAWAL_REQUESTS_PER_PAYLOAD &&
    requests.consolidations.length <= MAX_CONSOLIDATION_REQUESTS_PER_PAYLOAD &&
    requests.builderDeposits.length <= MAX_BUILDER_DEPOSIT_REQUESTS_PER_PAYLOAD &&
    requests.builderExits.length <= MAX_BUILDER_EXIT_REQUESTS_PER_PAYLOAD
  )
}

/**
 * Stateless validation of one gossip message: what a node with no chain of its own can know for certain.
 *
 *   topic of this chain, digest active now (next digest only from its fork on, old one up to two epochs after;
 *     gloas proposer_preferences from MIN_SEED_LOOKAHEAD epochs before its fork) → else IGNORE
 *   compressed size ≤ max_compressed_len(MAX_PAYLOAD_SIZE), snappy block valid, uncompressed size ≤ the type's
 *     bound and MAX_PAYLOAD_SIZE, SSZ decodes as the topic's type for the digest's fork   → else REJECT
 *   the topic's own checks (validateBlock, validateAttestation, validateDataColumn, validateOperations,
 *     validateLightClient, validatePayloadTopics)
 *
 * A fork whose rules are not implemented here is IGNOREd: a message is never ACCEPTed by default.
 */
import { ForkSeq, MIN_SEED_LOOKAHEAD } from '@lodestar/params'
import type { Clock } from '../chain/clock.js'
import type { DigestBoundary, ForkSchedule } from '../chain/forkSchedule.js'
import { MAX_PAYLOAD_SIZE_BYTES } from '../wire/constants.js'
import { maxCompressedLength } from '../wire/snappyFrames.js'
import type { TopicInfo } from './gossipCodec.js'
import type { DecodedPayload } from './messageId.js'
import { TimeWindows } from './timeWindows.js'
import { SUPPORTED_FORKS } from './topicTypes.js'
import { validateAggregate, validateSubnetAttestation } from './validateAttestation.js'
import { validateBeaconBlock } from './validateBlock.js'
import { validateDataColumnSidecar, validateGloasDataColumnSidecar } from './validateDataColumn.js'
import { LightClientGate } from './validateLightClient.js'
import {
  validateAttesterSlashing,
  validateBlsToExecutionChange,
  validateContribution,
  validateProposerSlashing,
  validateSyncCommitteeMessage,
} from './validateOperations.js'
import {
  validateExecutionPayloadBid,
  validateExecutionPayloadEnvelope,
  validatePayloadAttestationMessage,
  validateProposerPreferences,
} from './validatePayloadTopics.js'
import type { ValidationContext } from './validationContext.js'
import { ACCEPT, ignore, reject, type Verdict } from './verdict.js'

/** phase0 p2p-interface.md "Gossipsub size limits": the compressed data of one message. */
export const MAX_COMPRESSED_MESSAGE_BYTES = maxCompressedLength(MAX_PAYLOAD_SIZE_BYTES)
/** altair p2p-interface.md "Transitioning the gossip": old-fork topics stay valid this long after the next fork. */
export const OLD_DIGEST_EPOCHS = 2

export interface GossipValidatorModules {
  clock: Pick<Clock, 'genesisTimeMs' | 'slotDurationMs' | 'slotsPerEpoch'>
  forkSchedule: ForkSchedule
  /** Unix ms; Date.now unless a test fakes time. */
  now?: () => number
}

export class GossipValidator {
  readonly windows: TimeWindows
  private readonly now: () => number
  private readonly lightClient: LightClientGate
  private readonly genesisTime: number

  constructor(private readonly modules: GossipValidatorModules) {
    const { config } = modules.forkSchedule
    this.windows = new TimeWindows(modules.clock, config.maximumGossipClockDisparityMs)
    this.now = modules.now ?? (() => Date.now())
    this.lightClient = new LightClientGate(modules.forkSchedule)
    this.genesisTime = modules.clock.genesisTimeMs / 1000
  }

  /** The verdict on `data` received on the topic `info` describes (null: no topic of this chain). */
  validate(info: TopicInfo | null, data: Uint8Array, decoded: DecodedPayload): Verdict {
    if (info === null) return ignore('unknown_topic')
    const nowMs = this.now()
    // gloas p2p-interface.md "proposer_preferences": proposers send them in the epoch before the fork.
    const opensEarlyEpochs = info.kind === 'proposer_preferences' ? MIN_SEED_LOOKAHEAD : 0
    const digest = this.digestState(info.boundary, nowMs, opensEarlyEpochs)
    if (digest !== null) return digest
    if (!SUPPORTED_FORKS.has(info.fork) || info.type === null) return ignore('unsupported_fork')
    if (data.length > MAX_COMPRESSED_MESSAGE_BYTES) return reject('too_large')
    if (!decoded.ok) return reject(decoded.reason)
    const { ssz } = decoded
    if (ssz.length < info.type.minSize || ssz.length > info.maxBytes) return reject('ssz_decode')
    let value: unknown
    try {
      value = info.type.deserialize(ssz)
    } catch {
      return reject('ssz_decode')
    }
    const ctx: ValidationContext = {
      nowMs,
      fork: info.fork,
      forkSeq: ForkSeq[info.fork as keyof typeof ForkSeq],
      subnet: info.parsed.subnet,
      windows: this.windows,
      config: this.modules.forkSchedule.config,
      genesisTime: this.genesisTime,
    }
    return this.validateKind(info, ctx, value)
  }

  /**
   * IGNORE for a digest not in force: a later boundary before its epoch starts (minus the clock disparity, and minus
   * `opensEarlyEpochs` for a topic the spec opens early), an earlier one more than OLD_DIGEST_EPOCHS after the
   * boundary that replaced it (plus the disparity). Null when in force.
   */
  digestState(boundary: DigestBoundary, nowMs: number, opensEarlyEpochs = 0): Verdict | null {
    const { windows } = this
    const opensAtSlot = (boundary.epoch - opensEarlyEpochs) * windows.slotsPerEpoch
    if (windows.isFutureSlot(opensAtSlot, nowMs)) return ignore('pre_fork')
    if (boundary.endEpoch !== Infinity) {
      const endMs = windows.slotStartMs((boundary.endEpoch + OLD_DIGEST_EPOCHS) * windows.slotsPerEpoch)
      if (nowMs - windows.disparityMs >= endMs) return ignore('stale_digest')
    }
    return null
  }

  private validateKind(info: TopicInfo, ctx: ValidationContext, value: unknown): Verdict {
    // The SSZ type of each kind was chosen in topicTypes.ts; the casts name the shape each check reads.
    switch (info.kind) {
      case 'beacon_block':
        return validateBeaconBlock(ctx, value as Parameters<typeof validateBeaconBlock>[1])
      case 'beacon_aggregate_and_proof':
        return validateAggregate(ctx, value as Parameters<typeof validateAggregate>[1])
      case 'beacon_attestation':
        return validateSubnetAttestation(ctx, value as Parameters<typeof validateSubnetAttestation>[1])
      case 'data_column_sidecar':
        // Gloas reshapes the sidecar (EIP-7732): slot and block root instead of header, commitments and proof.
        return ctx.forkSeq >= ForkSeq.gloas
          ? validateGloasDataColumnSidecar(ctx, value as Parameters<typeof validateGloasDataColumnSidecar>[1])
          : validateDataColumnSidecar(ctx, value as Parameters<typeof validateDataColumnSidecar>[1])
      case 'execution_payload':
        return validateExecutionPayloadEnvelope(ctx, value as Parameters<typeof validateExecutionPayloadEnvelope>[1])
      case 'payload_attestation_message':
        return validatePayloadAttestationMessage(ctx, value as Parameters<typeof validatePayloadAttestationMessage>[1])
      case 'execution_payload_bid':
        return validateExecutionPayloadBid(ctx, value as Parameters<typeof validateExecutionPayloadBid>[1])
      case 'proposer_preferences':
        return validateProposerPreferences(ctx, value as Parameters<typeof validateProposerPreferences>[1])
      case 'proposer_slashing':
        return validateProposerSlashing(ctx, value as Parameters<typeof validateProposerSlashing>[1])
      case 'attester_slashing':
        return validateAttesterSlashing(ctx, value as Parameters<typeof validateAttesterSlashing>[1])
      case 'sync_committee':
        return validateSyncCommitteeMessage(ctx, value as Parameters<typeof validateSyncCommitteeMessage>[1])
      case 'sync_committee_contribution_and_proof':
        return validateContribution(ctx, value as Parameters<typeof validateContribution>[1])
      case 'light_client_finality_update':
        return this.lightClient.validateFinalityUpdate(
          ctx,
          value as Parameters<LightClientGate['validateFinalityUpdate']>[1],
        )
      case 'light_client_optimistic_update':
        return this.lightClient.validateOptimisticUpdate(
          ctx,
          value as Parameters<LightClientGate['validateOptimisticUpdate']>[1],
        )
      case 'bls_to_execution_change':
        return validateBlsToExecutionChange(ctx)
      case 'voluntary_exit':
        // phase0 p2p-interface.md: every voluntary_exit rule needs the state.
        return ACCEPT
    }
  }
}

/**
 * Gossip topic names of the beacon network (phase0 … gloas p2p-interface.md "Topics and messages"):
 * `/eth2/{ForkDigest hex}/{Name}/ssz_snappy`. Parsing is strict (lowercase hex digest, canonical subnet ids), so a
 * topic string maps to exactly one (digest, kind, subnet) and back.
 */
import { ForkSeq } from '@lodestar/params'
import { GossipError, GossipErrorCode } from './errors.js'

/** The only encoding the spec defines for gossip: SSZ, compressed with snappy's block format. */
export const GOSSIP_ENCODING = 'ssz_snappy'
/** phase0 p2p-interface.md ATTESTATION_SUBNET_COUNT. */
export const ATTESTATION_SUBNET_COUNT = 64
/** altair validator.md SYNC_COMMITTEE_SUBNET_COUNT. */
export const SYNC_COMMITTEE_SUBNET_COUNT = 4
/** fulu p2p-interface.md DATA_COLUMN_SIDECAR_SUBNET_COUNT (= NUMBER_OF_COLUMNS on every public network). */
export const DATA_COLUMN_SIDECAR_SUBNET_COUNT = 128

/** Topics with one instance per digest. */
export const GLOBAL_TOPIC_KINDS = [
  'beacon_block',
  'beacon_aggregate_and_proof',
  'voluntary_exit',
  'proposer_slashing',
  'attester_slashing',
  'sync_committee_contribution_and_proof',
  'bls_to_execution_change',
  'light_client_finality_update',
  'light_client_optimistic_update',
  // gloas p2p-interface.md "Topics and messages" (EIP-7732: the payload travels apart from its block).
  'execution_payload',
  'payload_attestation_message',
  'execution_payload_bid',
  'proposer_preferences',
] as const

/** Topic families with one topic per subnet id: `{kind}_{subnet}`. */
export const SUBNET_COUNTS = {
  beacon_attestation: ATTESTATION_SUBNET_COUNT,
  sync_committee: SYNC_COMMITTEE_SUBNET_COUNT,
  data_column_sidecar: DATA_COLUMN_SIDECAR_SUBNET_COUNT,
} as const

export type GlobalTopicKind = (typeof GLOBAL_TOPIC_KINDS)[number]
export type SubnetTopicKind = keyof typeof SUBNET_COUNTS
export type TopicKind = GlobalTopicKind | SubnetTopicKind

export const SUBNET_TOPIC_KINDS = Object.keys(SUBNET_COUNTS) as SubnetTopicKind[]
export const TOPIC_KINDS: readonly TopicKind[] = [...GLOBAL_TOPIC_KINDS, ...SUBNET_TOPIC_KINDS]

/** The fork that introduced each topic (a digest of an earlier fork has no such topic). */
const INTRODUCED_IN: Record<TopicKind, ForkSeq> = {
  beacon_block: ForkSeq.phase0,
  beacon_aggregate_and_proof: ForkSeq.phase0,
  beacon_attestation: ForkSeq.phase0,
  voluntary_exit: ForkSeq.phase0,
  proposer_slashing: ForkSeq.phase0,
  attester_slashing: ForkSeq.phase0,
  sync_committee_contribution_and_proof: ForkSeq.altair,
  sync_committee: ForkSeq.altair,
  light_client_finality_update: ForkSeq.altair,
  light_client_optimistic_update: ForkSeq.altair,
  bls_to_execution_change: ForkSeq.capella,
  data_column_sidecar: ForkSeq.fulu,
  execution_payload: ForkSeq.gloas,
  payload_attestation_message: ForkSeq.gloas,
  execution_payload_bid: ForkSeq.gloas,
  proposer_preferences: ForkSeq.gloas,
}

/** A topic's `{Name}` part: a global kind (subnet null) or one subnet of a subnet family. */
export interface TopicName {
  readonly kind: TopicKind
  readonly subnet: number | null
}

/** A parsed topic string. */
export interface GossipTopic extends TopicName {
  /** Lowercase hex of the 4-byte fork digest, without 0x. */
  readonly digestHex: string
}

const DIGEST_HEX_RE = /^[0-9a-f]{8}$/
const SUBNET_RE = /^(0|[1-9][0-9]{0,3})$/
const GLOBAL_KIND_SET: ReadonlySet<string> = new Set(GLOBAL_TOPIC_KINDS)

export function isSubnetKind(kind: TopicKind): kind is SubnetTopicKind {
  return Object.hasOwn(SUBNET_COUNTS, kind)
}

/** Whether a digest of `fork` (a Lodestar fork name) carries topics of `kind`. */
export function kindExistsInFork(kind: TopicKind, fork: string): boolean {
  const seq = ForkSeq[fork as keyof typeof ForkSeq]
  // A fork newer than this code: assume every topic carries on (validation IGNOREs what it cannot judge).
  return seq === undefined || seq >= INTRODUCED_IN[kind]
}

/** `beacon_block`, `beacon_attestation_5` … */
export function topicNameString(name: TopicName): string {
  return name.subnet === null ? name.kind : `${name.kind}_${name.subnet}`
}

export function formatTopic(digestHex: string, name: TopicName): string {
  return `/eth2/${digestHex}/${topicNameString(name)}/${GOSSIP_ENCODING}`
}

/** Parse `{Name}` (e.g. `data_column_sidecar_17`); throws GossipError naming `input`. */
export function parseTopicName(name: string, input = name): TopicName {
  if (GLOBAL_KIND_SET.has(name)) return { kind: name as GlobalTopicKind, subnet: null }
  for (const kind of SUBNET_TOPIC_KINDS) {
    if (!name.startsWith(`${kind}_`)) continue
    const id = name.slice(kind.length + 1)
    const subnet = SUBNET_RE.test(id) ? Number(id) : NaN
    if (!(subnet < SUBNET_COUNTS[kind])) {
      throw new GossipError(
        GossipErrorCode.TOPIC_BAD_SUBNET,
        input,
        `${kind} subnets are 0 to ${SUBNET_COUNTS[kind] - 1}, got ${JSON.stringify(id)}`,
      )
    }
    return { kind, subnet }
  }
  throw new GossipError(GossipErrorCode.TOPIC_UNKNOWN_NAME, input, `unknown topic name ${JSON.stringify(name)}`)
}

/** Parse a full topic string; throws GossipError (malformed, unknown name, bad subnet, bad encoding). */
export function parseTopic(topic: string): GossipTopic {
  const parts = topic.split('/')
  if (parts.length !== 5 || parts[0] !== '' || parts[1] !== 'eth2') {
    throw new GossipError(GossipErrorCode.TOPIC_MALFORMED, topic, 'expected /eth2/{digest}/{name}/{encoding}')
  }
  const [, , digestHex, name, encoding] = parts as [string, string, string, string, string]
  if (!DIGEST_HEX_RE.test(digestHex)) {
    throw new GossipError(GossipErrorCode.TOPIC_MALFORMED, topic, 'the fork digest must be 8 lowercase hex digits')
  }
  if (encoding !== GOSSIP_ENCODING) {
    throw new GossipError(GossipErrorCode.TOPIC_BAD_ENCODING, topic, `encoding must be ${GOSSIP_ENCODING}`)
  }
  return { digestHex, ...parseTopicName(name, topic) }
}

/**
 * The `--subscribe` option: which topics Contower joins (for every active fork digest). A comma-separated list whose
 * items are topic names without digest or encoding:
 *
 *   beacon_block, voluntary_exit, …        a global topic
 *   beacon_attestation_5                   one subnet (also sync_committee_N, data_column_sidecar_N)
 *   beacon_attestation_0-15                an inclusive range of subnets
 *   beacon_attestation_all                 every subnet of the family
 *   default                                the default set below (so `default,beacon_attestation_all` adds to it)
 *   none                                   no gossip at all (alone)
 *
 * An empty list means `default`.
 */
import { GossipError, GossipErrorCode } from './errors.js'
import {
  GLOBAL_TOPIC_KINDS,
  type GlobalTopicKind,
  isSubnetKind,
  SUBNET_COUNTS,
  SUBNET_TOPIC_KINDS,
  type SubnetTopicKind,
  type TopicKind,
  type TopicName,
} from './topics.js'

/**
 * What a relay with no validators of its own forwards usefully by default: the global topics. Subnets cost far more
 * bandwidth (mainnet attestation subnets carry ~2,600 messages/s together), so they are opt-in.
 */
export const DEFAULT_SUBSCRIBE: readonly GlobalTopicKind[] = [
  'beacon_block',
  'beacon_aggregate_and_proof',
  'voluntary_exit',
  'proposer_slashing',
  'attester_slashing',
  'bls_to_execution_change',
  'sync_committee_contribution_and_proof',
  'light_client_finality_update',
  'light_client_optimistic_update',
  // Gloas: a digest before Gloas has none of these topics, so they are joined from the Gloas digest on.
  'execution_payload',
  'payload_attestation_message',
  'execution_payload_bid',
  'proposer_preferences',
]

/** The topics chosen, canonical order (global kinds as GLOBAL_TOPIC_KINDS lists them, then subnets ascending). */
export type SubscribeSpec = readonly TopicName[]

const RANGE_RE = /^(0|[1-9][0-9]{0,3})-(0|[1-9][0-9]{0,3})$/
const ID_RE = /^(0|[1-9][0-9]{0,3})$/

/** Parse the `--subscribe` items (already split on commas); throws GossipError naming the first bad item. */
export function parseSubscribeSpec(items: readonly string[]): SubscribeSpec {
  const trimmed = items.map((i) => i.trim()).filter((i) => i !== '')
  if (trimmed.length === 0) return canonical(new Set(DEFAULT_SUBSCRIBE), emptySubnets())
  if (trimmed.includes('none')) {
    const other = trimmed.find((i) => i !== 'none')
    if (other !== undefined) {
      throw new GossipError(GossipErrorCode.SUBSCRIBE_NONE_WITH_OTHERS, other, '"none" cannot be combined with topics')
    }
    return []
  }
  const globals = new Set<GlobalTopicKind>()
  const subnets = emptySubnets()
  for (const item of trimmed) {
    if (item === 'default') {
      for (const kind of DEFAULT_SUBSCRIBE) globals.add(kind)
      continue
    }
    if ((GLOBAL_TOPIC_KINDS as readonly string[]).includes(item)) {
      globals.add(item as GlobalTopicKind)
      continue
    }
    const kind = SUBNET_TOPIC_KINDS.find((k) => item.startsWith(`${k}_`))
    if (kind === undefined) {
      throw new GossipError(
        GossipErrorCode.SUBSCRIBE_UNKNOWN_ITEM,
        item,
        `expected default, none, one of ${GLOBAL_TOPIC_KINDS.join(', ')}, or {${SUBNET_TOPIC_KINDS.join('|')}}_{N|A-B|all}`,
      )
    }
    for (const subnet of subnetsOf(kind, item.slice(kind.length + 1), item)) subnets[kind].add(subnet)
  }
  return canonical(globals, subnets)
}

/** Subnet ids of one family named by `N`, `A-B` or `all`. */
function subnetsOf(kind: SubnetTopicKind, text: string, item: string): number[] {
  const count = SUBNET_COUNTS[kind]
  const bad = (detail: string) => new GossipError(GossipErrorCode.SUBSCRIBE_BAD_SUBNET, item, detail)
  if (text === 'all') return Array.from({ length: count }, (_, i) => i)
  const range = RANGE_RE.exec(text)
  const [from, to] = range ? [Number(range[1]), Number(range[2])] : ID_RE.test(text) ? [Number(text), Number(text)] : []
  if (from === undefined || to === undefined) throw bad(`expected ${kind}_N, ${kind}_A-B or ${kind}_all`)
  if (to >= count) throw bad(`${kind} subnets are 0 to ${count - 1}`)
  if (from > to) throw bad(`range ${from}-${to} is empty`)
  return Array.from({ length: to - from + 1 }, (_, i) => from + i)
}

function emptySubnets(): Record<SubnetTopicKind, Set<number>> {
  return { beacon_attestation: new Set(), sync_committee: new Set(), data_column_sidecar: new Set() }
}

function canonical(globals: Set<GlobalTopicKind>, subnets: Record<SubnetTopicKind, Set<number>>): SubscribeSpec {
  const names: TopicName[] = GLOBAL_TOPIC_KINDS.filter((k) => globals.has(k)).map((kind) => ({ kind, subnet: null }))
  for (const kind of SUBNET_TOPIC_KINDS) {
    for (const subnet of [...subnets[kind]].sort((a, b) => a - b)) names.push({ kind, subnet })
  }
  return names
}

/** Subnet ids the spec subscribes to, per family: what MetaData attnets/syncnets (and custody) should advertise. */
export function subscribedSubnets(spec: SubscribeSpec): Record<SubnetTopicKind, number[]> {
  const out: Record<SubnetTopicKind, number[]> = { beacon_attestation: [], sync_committee: [], data_column_sidecar: [] }
  for (const { kind, subnet } of spec) if (isSubnetKind(kind) && subnet !== null) out[kind].push(subnet)
  return out
}

/** The kinds present in a spec (for metrics and logs). */
export function subscribedKinds(spec: SubscribeSpec): TopicKind[] {
  return [...new Set(spec.map((n) => n.kind))]
}

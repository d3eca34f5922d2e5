import type { Message } from '@libp2p/gossipsub'
import type { DigestBoundary, ForkSchedule } from '../chain/forkSchedule.js'
import { MAX_PAYLOAD_SIZE_BYTES } from '../wire/constants.js'
import {
  type DecodedPayload,
  decodeGossipPayload,
  messageIdFromParts,
  messageIdToString,
  messageIdTopicPrefix,
} from './messageId.js'
import { type GossipSszType, gossipSszType, maxUncompressedBytes } from './topicTypes.js'
import {
  formatTopic,
  GLOBAL_TOPIC_KINDS,
  type GossipTopic,
  kindExistsInFork,
  parseTopic,
  SUBNET_COUNTS,
  SUBNET_TOPIC_KINDS,
  type TopicKind,
} from './topics.js'

/**
 * The payload decoded for a message's id rides on gossipsub's Message object (the one it later emits) under this
 * symbol until the validator takes it. A WeakMap would do the same, but V8's ephemeron bookkeeping for ~10,000 new
 * keys a second cost more than the validation itself.
 */
const DECODED = Symbol('contower.decodedPayload')
type Carrier = Message & { [DECODED]?: DecodedPayload }

/** Everything the hot path needs about one topic string, computed once. */
export interface TopicInfo {
  readonly topic: string
  readonly parsed: GossipTopic
  readonly kind: TopicKind
  /** The fork-digest boundary the topic's digest belongs to. */
  readonly boundary: DigestBoundary
  /** Lodestar fork name of the boundary. */
  readonly fork: string
  /** Message type, or null for a fork @lodestar/types does not know. */
  readonly type: GossipSszType | null
  /** Cap on the uncompressed payload. */
  readonly maxBytes: number
  /** `u64le(len(topic)) ‖ topic` (empty for phase0 topics), hashed into the message id. */
  readonly idPrefix: Uint8Array
}

/**
 * The codec gossipsub and the validator share: parses topics once (only those of this chain's digests, so the cache
 * is bounded by the fork schedule), computes message ids, and hands the payload it decompressed for the id to the
 * validator, so each message is decompressed once.
 */
export class GossipCodec {
  private readonly infos = new Map<string, TopicInfo>()

  constructor(private readonly modules: { forkSchedule: ForkSchedule }) {}

  /** The topic's facts, or null for a string that is no eth2 topic of this chain. */
  topicInfo(topic: string): TopicInfo | null {
    const cached = this.infos.get(topic)
    if (cached !== undefined) return cached
    let parsed: GossipTopic
    try {
      parsed = parseTopic(topic)
    } catch {
      return null
    }
    const boundary = this.modules.forkSchedule.forkForDigestHex(parsed.digestHex)
    if (boundary === null) return null
    const fork = boundary.fork.name
    const type = gossipSszType(parsed.kind, fork)
    const info: TopicInfo = {
      topic,
      parsed,
      kind: parsed.kind,
      boundary,
      fork,
      type,
      maxBytes: maxUncompressedBytes(type, parsed.kind, fork),
      idPrefix: messageIdTopicPrefix(topic, fork === 'phase0'),
    }
    this.infos.set(topic, info)
    return info
  }

  /** gossipsub `msgIdFn`: the spec id; the decoded payload is kept for `takeDecoded`. */
  readonly msgIdFn = (msg: Message): Uint8Array => {
    const info = this.topicInfo(msg.topic)
    const decoded = decodeGossipPayload(msg.data, info?.maxBytes ?? MAX_PAYLOAD_SIZE_BYTES)
    ;(msg as Carrier)[DECODED] = decoded
    return messageIdFromParts(info?.idPrefix ?? messageIdTopicPrefix(msg.topic, false), msg.data, decoded)
  }

  /** gossipsub `msgIdToStrFn`. */
  readonly msgIdToStrFn = messageIdToString

  /** The payload decoded for `msg`'s id (once), or a fresh decode if the id was computed elsewhere. */
  takeDecoded(msg: Message, maxBytes: number): DecodedPayload {
    const carrier = msg as Carrier
    const decoded = carrier[DECODED]
    if (decoded === undefined) return decodeGossipPayload(msg.data, maxBytes)
    carrier[DECODED] = undefined
    return decoded
  }

  /** Every topic string of every scheduled digest (for gossipsub's allowedTopics and metric labels). */
  allTopics(): Map<string, TopicKind> {
    const out = new Map<string, TopicKind>()
    for (const boundary of this.modules.forkSchedule.boundaries) {
      for (const kind of GLOBAL_TOPIC_KINDS) {
        if (kindExistsInFork(kind, boundary.fork.name))
          out.set(formatTopic(boundary.digestHex, { kind, subnet: null }), kind)
      }
      for (const kind of SUBNET_TOPIC_KINDS) {
        if (!kindExistsInFork(kind, boundary.fork.name)) continue
        for (let subnet = 0; subnet < SUBNET_COUNTS[kind]; subnet++) {
          out.set(formatTopic(boundary.digestHex, { kind, subnet }), kind)
        }
      }
    }
    return out
  }
}

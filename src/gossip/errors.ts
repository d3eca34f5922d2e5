import { ContowerError } from '../errors.js'

/**
 * Typed failures of the gossip module: a topic string that is not an eth2 topic, and a `--subscribe` item that
 * names no topic. Each carries the offending input so an operator (or a log line) can tell what was wrong.
 */
export enum GossipErrorCode {
  /** Not of the form `/eth2/{8 hex digits}/{name}/ssz_snappy`. */
  TOPIC_MALFORMED = 'GOSSIP_TOPIC_MALFORMED',
  /** The `{name}` part is no topic Contower knows. */
  TOPIC_UNKNOWN_NAME = 'GOSSIP_TOPIC_UNKNOWN_NAME',
  /** A subnet topic whose subnet id is not a canonical decimal below the subnet count. */
  TOPIC_BAD_SUBNET = 'GOSSIP_TOPIC_BAD_SUBNET',
  /** An encoding other than ssz_snappy, the only one the spec defines. */
  TOPIC_BAD_ENCODING = 'GOSSIP_TOPIC_BAD_ENCODING',
  /** A well-formed topic whose fork digest is none of this chain's. */
  TOPIC_UNKNOWN_DIGEST = 'GOSSIP_TOPIC_UNKNOWN_DIGEST',
  /** A call out of order: publish() while stopped, start() without gossipsub, attach() after start(). */
  LIFECYCLE = 'GOSSIP_LIFECYCLE',
  /** A `--subscribe` item that names no topic (or topic family). */
  SUBSCRIBE_UNKNOWN_ITEM = 'GOSSIP_SUBSCRIBE_UNKNOWN_ITEM',
  /** A `--subscribe` subnet (or subnet range) outside the topic's subnet count. */
  SUBSCRIBE_BAD_SUBNET = 'GOSSIP_SUBSCRIBE_BAD_SUBNET',
  /** `none` combined with other items. */
  SUBSCRIBE_NONE_WITH_OTHERS = 'GOSSIP_SUBSCRIBE_NONE_WITH_OTHERS',
}

export class GossipError extends ContowerError<GossipErrorCode> {
  constructor(
    code: GossipErrorCode,
    /** The topic string or `--subscribe` item at fault. */
    readonly input: string,
    /** What was wrong or expected, for the message. */
    readonly detail: string,
  ) {
    super(code, `${code}: ${JSON.stringify(input)}: ${detail}`)
  }
}

export function isGossipError(err: unknown, code?: GossipErrorCode): err is GossipError {
  return err instanceof GossipError && (code === undefined || err.code === code)
}

/**
 * Gossip message ids and payload decoding. altair p2p-interface.md "Topics and messages":
 *
 *   valid snappy:   SHA256(MESSAGE_DOMAIN_VALID_SNAPPY   ‖ u64le(len(topic)) ‖ topic ‖ snappy_decompress(data))[:20]
 *   otherwise:      SHA256(MESSAGE_DOMAIN_INVALID_SNAPPY ‖ u64le(len(topic)) ‖ topic ‖ data)[:20]
 *
 * phase0 topics leave the topic out. "Valid snappy" here means: a well-formed block whose declared length is within
 * the topic's size cap (as Teku does); a larger one is never decompressed, so it takes the invalid-snappy id.
 */
import { createHash } from 'node:crypto'
import { blockUncompressedLength, decompressBlock } from '../wire/snappyBlock.js'

/** phase0 p2p-interface.md MESSAGE_DOMAIN_INVALID_SNAPPY. */
export const MESSAGE_DOMAIN_INVALID_SNAPPY = Uint8Array.of(0x00, 0x00, 0x00, 0x00)
/** phase0 p2p-interface.md MESSAGE_DOMAIN_VALID_SNAPPY. */
export const MESSAGE_DOMAIN_VALID_SNAPPY = Uint8Array.of(0x01, 0x00, 0x00, 0x00)
/** The id is the first 20 bytes of the hash (phase0 p2p-interface.md "message-id"). */
export const GOSSIP_MSG_ID_BYTES = 20

/** A message's data after snappy: the SSZ bytes, or why there are none. */
export type DecodedPayload =
  | { readonly ok: true; readonly ssz: Uint8Array }
  | { readonly ok: false; readonly reason: 'snappy_decode' | 'too_large' }

/** Snappy-block decompress `data`, refusing (before allocating) a declared length above `maxBytes`. */
export function decodeGossipPayload(data: Uint8Array, maxBytes: number): DecodedPayload {
  let declared: number
  try {
    declared = blockUncompressedLength(data).length
  } catch {
    return { ok: false, reason: 'snappy_decode' }
  }
  if (declared > maxBytes) return { ok: false, reason: 'too_large' }
  try {
    return { ok: true, ssz: decompressBlock(data, maxBytes) }
  } catch {
    return { ok: false, reason: 'snappy_decode' }
  }
}

/**
 * The bytes hashed before the payload for `topic`, without the domain: `u64le(len(topic)) ‖ topic` (Altair on), or
 * nothing for a phase0 topic. Precomputed once per topic.
 */
export function messageIdTopicPrefix(topic: string, phase0: boolean): Uint8Array {
  if (phase0) return new Uint8Array(0)
  const topicBytes = Buffer.from(topic, 'utf8')
  const out = Buffer.alloc(8 + topicBytes.length)
  out.writeBigUInt64LE(BigInt(topicBytes.length), 0)
  topicBytes.copy(out, 8)
  return out
}

/** The spec message id of raw gossip `data` whose decoding is `decoded`, given the topic's prefix. */
export function messageIdFromParts(topicPrefix: Uint8Array, data: Uint8Array, decoded: DecodedPayload): Uint8Array {
  const hash = createHash('sha256')
  hash.update(decoded.ok ? MESSAGE_DOMAIN_VALID_SNAPPY : MESSAGE_DOMAIN_INVALID_SNAPPY)
  hash.update(topicPrefix)
  hash.update(decoded.ok ? decoded.ssz : data)
  const digest = hash.digest()
  return new Uint8Array(digest.buffer, digest.byteOffset, GOSSIP_MSG_ID_BYTES)
}

/** Message id of gossip `data` on `topic` (Altair rule unless `phase0`), with uncompressed payloads capped at `maxBytes`. */
export function computeMessageId(topic: string, data: Uint8Array, maxBytes: number, phase0 = false): Uint8Array {
  return messageIdFromParts(messageIdTopicPrefix(topic, phase0), data, decodeGossipPayload(data, maxBytes))
}

/** Hex of a message id: gossipsub's key for its seen cache, mcache and IHAVE/IWANT bookkeeping. */
export function messageIdToString(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.length).toString('hex')
}

import { type NoiseComponents, type NoiseExtensions, type NoiseInit, noise } from '@chainsafe/libp2p-noise'
import { type ConnectionEncrypter, type SecureConnectionOptions, serviceCapabilities } from '@libp2p/interface'

/**
 * Noise that leaves the muxer to multistream-select (see docs/muxers.md).
 *
 * @chainsafe/libp2p-noise 17 negotiates the muxer inside the handshake, but each end takes the *remote's* first
 * muxer, so two ends that order their muxers differently pick different ones and the connection dies on its first
 * frame. With `skipStreamMuxerNegotiation` this end sends an empty muxer list (a peer on the same noise then finds
 * no early choice) and ignores the remote's list, so both ends run multistream-select: the dialer proposes in its
 * order, the listener takes the first it speaks, and the two always agree. It costs one round trip per connection.
 */
export function noiseWithoutEarlyMuxerNegotiation(
  init?: NoiseInit,
): (components: NoiseComponents) => ConnectionEncrypter<NoiseExtensions> {
  const factory = noise(init)
  return (components) => {
    const inner = factory(components)
    const skip = (options?: SecureConnectionOptions) => ({ ...options, skipStreamMuxerNegotiation: true })
    return {
      protocol: inner.protocol,
      // The capabilities other libp2p services look for ('@libp2p/connection-encryption', ...).
      [serviceCapabilities]: (inner as { [serviceCapabilities]?: string[] })[serviceCapabilities] ?? [],
      [Symbol.toStringTag]: 'contower-noise',
      secureOutbound: (connection, options) => inner.secureOutbound(connection, skip(options)),
      secureInbound: (connection, options) => inner.secureInbound(connection, skip(options)),
    } as ConnectionEncrypter<NoiseExtensions>
  }
}

import type { Multiaddr } from '@multiformats/multiaddr'

/** The transports a connection may use; `other` covers anything else libp2p may hand us (e.g. a relayed one). */
export const TRANSPORTS = ['tcp', 'quic', 'other'] as const
export type TransportName = (typeof TRANSPORTS)[number]

/** Which transport an address (a connection's remoteAddr, or one to dial) is on. */
export function transportOf(addr: Multiaddr): TransportName {
  let tcp = false
  for (const c of addr.getComponents()) {
    if (c.name === 'quic-v1') return 'quic'
    if (c.name === 'tcp') tcp = true
    if (c.name === 'p2p-circuit') return 'other'
  }
  return tcp ? 'tcp' : 'other'
}

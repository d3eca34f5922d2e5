import type { Multiaddr } from '@multiformats/multiaddr'

export interface AdmissionOptions {
  maxPeers: number
  /** Inbound peers from one IP address (IPv6: one whole address) at most. */
  maxInboundPerIp: number
  /** Loopback addresses (127.0.0.0/8, ::1) are exempt from the per-IP limit. */
  exemptLoopbackFromIpLimit: boolean
}

export interface Arrival {
  direction: 'inbound' | 'outbound'
  /** The remote IP address, null when the address has none (e.g. a relayed connection). */
  ip: string | null
  /** Admitted whatever the counts: `--static-peers`, and connections that predate the peer manager. */
  exempt: boolean
}

export type AdmissionVerdict = 'admitted' | 'max_peers' | 'ip_limit'

interface Admitted {
  direction: 'inbound' | 'outbound'
  ip: string | null
}

/**
 * Which connected peers count towards the limits. libp2p's own `maxConnections` is soft when many peers dial at
 * once (it counts established connections, so simultaneous handshakes all pass), so the peer manager decides
 * here, one arrival at a time, and the peer manager says Goodbye(129) to those refused. Outbound peers are always
 * admitted (we chose to dial them; the heartbeat prunes any excess), and so are static peers.
 */
export class Admission {
  private readonly admitted = new Map<string, Admitted>()
  private readonly inboundPerIp = new Map<string, number>()

  constructor(private readonly opts: AdmissionOptions) {}

  get size(): number {
    return this.admitted.size
  }

  has(peer: string): boolean {
    return this.admitted.has(peer)
  }

  direction(peer: string): 'inbound' | 'outbound' | undefined {
    return this.admitted.get(peer)?.direction
  }

  peers(): IterableIterator<string> {
    return this.admitted.keys()
  }

  /** Counts the peer in, or says why not (it is then not counted). A peer already admitted stays admitted. */
  admit(peer: string, arrival: Arrival): AdmissionVerdict {
    if (this.admitted.has(peer)) return 'admitted'
    if (arrival.direction === 'inbound' && !arrival.exempt) {
      if (this.admitted.size >= this.opts.maxPeers) return 'max_peers'
      if (arrival.ip !== null && this.ipLimited(arrival.ip)) {
        if ((this.inboundPerIp.get(arrival.ip) ?? 0) >= this.opts.maxInboundPerIp) return 'ip_limit'
      }
    }
    this.admitted.set(peer, { direction: arrival.direction, ip: arrival.ip })
    if (arrival.direction === 'inbound' && arrival.ip !== null) {
      this.inboundPerIp.set(arrival.ip, (this.inboundPerIp.get(arrival.ip) ?? 0) + 1)
    }
    return 'admitted'
  }

  release(peer: string): void {
    const entry = this.admitted.get(peer)
    if (!entry) return
    this.admitted.delete(peer)
    if (entry.direction === 'inbound' && entry.ip !== null) {
      const n = (this.inboundPerIp.get(entry.ip) ?? 1) - 1
      if (n > 0) this.inboundPerIp.set(entry.ip, n)
      else this.inboundPerIp.delete(entry.ip)
    }
  }

  clear(): void {
    this.admitted.clear()
    this.inboundPerIp.clear()
  }

  private ipLimited(ip: string): boolean {
    return !(this.opts.exemptLoopbackFromIpLimit && isLoopback(ip))
  }
}

export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.')
}

/** The IP address in a multiaddr (`/ip4/…` or `/ip6/…`), or null. */
export function ipOf(addr: Multiaddr): string | null {
  const c = addr.getComponents().find((c) => c.name === 'ip4' || c.name === 'ip6')
  return c?.value ?? null
}

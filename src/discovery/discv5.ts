// The one place that meets @chainsafe/discv5 11's older types (see docs stack.md): it wants multiaddr v12
// objects (`multiaddr12`, an npm alias) and @libp2p/interface v2 keys. Nothing of either leaves this file:
// callers pass strings, numbers and our libp2p v3 key, and get ENRs (@chainsafe/enr 5, shared by both).
import { createSocket } from 'node:dgram'
import type { Socket } from 'node:dgram'
import { isIPv6 } from 'node:net'
import { Discv5, type IDiscv5CreateOptions } from '@chainsafe/discv5'
import type { ENR, SignableENR } from '@chainsafe/enr'
import type { PrivateKey } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { multiaddr as multiaddr12 } from 'multiaddr12'
import { DiscoveryError, DiscoveryErrorCode } from './errors.js'

/** discv5's key type: @libp2p/interface v2's PrivateKey. The v3 runtime object has the same shape. */
type Discv5PrivateKey = IDiscv5CreateOptions['privateKey']

export interface Discv5NodeOpts {
  privateKey: PrivateKey
  /** Our signed record; discv5 mutates it (seq bump) when it learns our external address. */
  enr: SignableENR
  /** Address the UDP socket binds to; an IPv6 one gives discv5 an IPv6 socket (and only that). */
  bindAddress: string
  /** UDP port; 0 picks a free one (read it from `udpPort` after start). */
  port: number
  /** Let votes from peers set our ENR's ip/udp (for a node that does not know its public address). */
  enrUpdate: boolean
  /** discv5 defaults: 10 votes, 1 s per request, 60 s per lookup. */
  addrVotesToUpdateEnr?: number
  requestTimeoutMs?: number
  lookupTimeoutMs?: number
  /** Log2 distances each FINDNODE of a lookup asks for (discv5's lookupRequestLimit, default 3). */
  lookupDistances?: number
}

export interface Discv5NodeEvents {
  /** A record returned by a FINDNODE answer (the same record may come many times). */
  discovered?: (enr: ENR) => void
  /** A record added to the routing table (e.g. a node that contacted us). */
  enrAdded?: (enr: ENR) => void
  /** Votes changed our ENR's ip/udp (the record's seq was bumped). */
  addressUpdated?: (addr: { ip: string; udp: number }) => void
  /** A UDP socket error after start; without a listener Node would crash the process on it. */
  socketError?: (err: Error) => void
}

/**
 * Discv5 is an EventEmitter at runtime, but its typings reach the events through strict-event-emitter-types,
 * whose `types` entry NodeNext resolution cannot follow: name the events we use here.
 */
interface Discv5Emitter {
  on(event: 'discovered' | 'enrAdded', listener: (enr: ENR) => void): void
  on(event: 'multiaddrUpdated', listener: (addr: { toString(): string }) => void): void
  removeAllListeners(): void
}

/** The private parts of discv5's UDP transport we read: the bound socket (for its port and errors). */
interface TransportInternals {
  ip4?: { socket?: Socket }
  ip6?: { socket?: Socket }
}

/** discv5's running lookups, each with its timeout timer (private fields). */
interface LookupInternals {
  activeLookups?: Map<number, { timeout?: NodeJS.Timeout }>
}

/** A started discv5 service, behind our own types. */
export class Discv5Node {
  private constructor(
    private readonly discv5: Discv5,
    /** The UDP port actually bound. */
    readonly udpPort: number,
  ) {}

  /** Binds the UDP socket and starts discv5. Throws DiscoveryError(BIND_FAILED) when the port is unusable. */
  static async start(opts: Discv5NodeOpts, events: Discv5NodeEvents = {}): Promise<Discv5Node> {
    // discv5 binds without an 'error' listener, so a port in use would crash the process: try it first.
    const port = await probeUdpPort(opts.bindAddress, opts.port)
    const discv5 = Discv5.create({
      enr: opts.enr,
      privateKey: opts.privateKey as unknown as Discv5PrivateKey,
      bindAddrs: isIPv6(opts.bindAddress)
        ? { ip6: multiaddr12(`/ip6/${opts.bindAddress}/udp/${port}`) }
        : { ip4: multiaddr12(`/ip4/${opts.bindAddress}/udp/${port}`) },
      config: {
        enrUpdate: opts.enrUpdate,
        ...(opts.addrVotesToUpdateEnr !== undefined && { addrVotesToUpdateEnr: opts.addrVotesToUpdateEnr }),
        ...(opts.requestTimeoutMs !== undefined && { requestTimeout: opts.requestTimeoutMs }),
        ...(opts.lookupTimeoutMs !== undefined && { lookupTimeout: opts.lookupTimeoutMs }),
        ...(opts.lookupDistances !== undefined && { lookupRequestLimit: opts.lookupDistances }),
      },
    })
    const emitter = discv5 as unknown as Discv5Emitter
    if (events.discovered) emitter.on('discovered', events.discovered)
    if (events.enrAdded) emitter.on('enrAdded', events.enrAdded)
    if (events.addressUpdated) {
      const onAddress = events.addressUpdated
      emitter.on('multiaddrUpdated', (ma) => {
        // A v12 multiaddr: re-parse it as v13 before reading it.
        const parts = multiaddr(ma.toString()).getComponents()
        const ip = parts.find((c) => c.name === 'ip4' || c.name === 'ip6')?.value
        const udp = parts.find((c) => c.name === 'udp')?.value
        if (ip !== undefined && udp !== undefined) onAddress({ ip, udp: Number(udp) })
      })
    }
    try {
      await discv5.start()
    } catch (e) {
      throw bindError(opts.bindAddress, port, e)
    }
    const transport = discv5.sessionService.transport as unknown as TransportInternals
    const socket = (transport.ip4 ?? transport.ip6)?.socket
    socket?.on('error', (err) => events.socketError?.(err))
    return new Discv5Node(discv5, socket?.address().port ?? port)
  }

  get enr(): SignableENR {
    return this.discv5.enr
  }

  get tableSize(): number {
    return this.discv5.kadValues().length
  }

  /** Records in the routing table. */
  tableEnrs(): ENR[] {
    return this.discv5.kadValues()
  }

  /** Adds a known record (a bootnode) to the routing table; nothing is sent until a lookup. */
  addEnr(enr: string | ENR): void {
    this.discv5.addEnr(enr)
  }

  /** One iterative lookup of a random node id; resolves with the closest records found (bounded by lookupTimeout). */
  async findRandomNode(): Promise<ENR[]> {
    // discv5 11 clears a lookup's timeout only when the timeout itself ends it: a lookup that finishes by
    // itself leaves a timer that holds the Lookup and keeps the process alive for lookupTimeout. The lookup
    // is registered synchronously, so find it and clear its timer once it is done.
    const lookups = (this.discv5 as unknown as LookupInternals).activeLookups
    const before = new Set(lookups?.values())
    const pending = this.discv5.findRandomNode()
    const lookup = [...(lookups?.values() ?? [])].find((l) => !before.has(l))
    try {
      return await pending
    } finally {
      if (lookup?.timeout) clearTimeout(lookup.timeout)
    }
  }

  /** Stops lookups (they resolve), timers and the socket. */
  async stop(): Promise<void> {
    ;(this.discv5 as unknown as Discv5Emitter).removeAllListeners()
    await this.discv5.stop()
  }
}

/**
 * Binds and releases `port` on `address` and returns the port (a free one for 0), so that a port in use is
 * a clear error here rather than an unhandled 'error' event (a crash) inside discv5.
 */
export async function probeUdpPort(address: string, port: number): Promise<number> {
  const socket = createSocket(isIPv6(address) ? 'udp6' : 'udp4')
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(port, address, () => resolve())
    })
    return socket.address().port
  } catch (e) {
    throw bindError(address, port, e)
  } finally {
    await new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve())
      } catch {
        resolve() // never bound
      }
    })
  }
}

function bindError(address: string, port: number, e: unknown): DiscoveryError {
  const code = (e as NodeJS.ErrnoException).code
  const why =
    code === 'EADDRINUSE'
      ? 'address already in use'
      : code === 'EADDRNOTAVAIL'
        ? 'address not available on this machine'
        : code === 'EACCES'
          ? 'permission denied'
          : (e as Error).message
  // An IPv6 address in brackets, so that its port reads as one (RFC 3986 host:port).
  const where = isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`
  return new DiscoveryError(DiscoveryErrorCode.BIND_FAILED, `cannot bind discv5 to ${where} (UDP): ${why}`, where, {
    cause: e,
  })
}

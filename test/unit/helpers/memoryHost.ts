// In-memory stand-ins for the libp2p host: just what req/resp and the relay call (dialProtocol, handle, unhandle,
// peer events), with real libp2p v3 streams from @libp2p/utils' stream pair, so no TCP and no muxer negotiation.
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { streamPair } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'

export type MemoryHandler = (stream: Stream, connection: Connection) => void | Promise<void>

export async function newPeerId(): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

/** The parts of a Connection the server reads: who is on the other end and over which transport. */
export function fakeConnection(remotePeer: PeerId): Connection {
  return { remotePeer, remoteAddr: multiaddr('/ip4/127.0.0.1/tcp/9000') } as unknown as Connection
}

/** Hosts that reach each other by peer id. */
export class MemoryNetwork {
  private readonly hosts = new Map<string, MemoryHost>()

  async addHost(): Promise<MemoryHost> {
    const host = new MemoryHost(await newPeerId(), this)
    this.hosts.set(host.peerId.toString(), host)
    return host
  }

  get(peerId: PeerId): MemoryHost | undefined {
    return this.hosts.get(peerId.toString())
  }
}

export class MemoryHost extends EventTarget {
  readonly handlers = new Map<string, { handler: MemoryHandler; options: unknown }>()
  /** Every dial made from this host: the peer and protocol, and the requester's end of the stream. */
  readonly dials: Array<{ peer: string; protocol: string; stream: Stream }> = []
  /** Streams this host's handlers were given (the responder's ends). */
  readonly served: Stream[] = []
  /**
   * A connection that stopped moving: what this host's dialled streams send never leaves, so their half-close waits
   * (as libp2p's does for its send queue to go idle) until the caller's signal gives up.
   */
  stalledSends = false

  constructor(
    readonly peerId: PeerId,
    private readonly network: MemoryNetwork | null = null,
  ) {
    super()
  }

  /** Typed as the libp2p host the code under test expects; only the methods above exist. */
  get libp2p(): Libp2p {
    return this as unknown as Libp2p
  }

  async handle(protocol: string, handler: MemoryHandler, options?: unknown): Promise<void> {
    this.handlers.set(protocol, { handler, options })
  }

  async unhandle(protocols: string | string[]): Promise<void> {
    for (const p of [protocols].flat()) this.handlers.delete(p)
  }

  /** Opens a stream to `peerId`'s handler for `protocol`; fails like a failed negotiation when it has none. */
  async dialProtocol(peerId: PeerId, protocol: string, opts: { signal?: AbortSignal } = {}): Promise<Stream> {
    opts.signal?.throwIfAborted()
    const remote = this.network?.get(peerId)
    const entry = remote?.handlers.get(protocol)
    if (!remote || !entry) throw new Error(`protocol selection failed: ${protocol}`)
    const [outbound, inbound] = await streamPair({ protocol })
    if (this.stalledSends) outbound.close = untilAborted
    this.dials.push({ peer: peerId.toString(), protocol, stream: outbound })
    remote.served.push(inbound)
    void entry.handler(inbound, fakeConnection(this.peerId))
    return outbound
  }

  /**
   * Plays a remote requester against this host's own handler: opens a stream pair, hands the inbound end to the
   * handler registered for `protocol`, and returns the requester's end.
   */
  async open(protocol: string, from: PeerId): Promise<Stream> {
    const entry = this.handlers.get(protocol)
    if (!entry) throw new Error(`no handler for ${protocol}`)
    const [outbound, inbound] = await streamPair({ protocol })
    this.served.push(inbound)
    void entry.handler(inbound, fakeConnection(from))
    return outbound
  }
}

function untilAborted(options?: { signal?: AbortSignal }): Promise<void> {
  return new Promise((_, reject) => options?.signal?.addEventListener('abort', () => reject(options.signal!.reason)))
}

/** Resolves once the stream has closed, cleanly or not, with the error of a reset or abort (if any). */
export function closed(stream: Stream): Promise<Error | undefined> {
  if (stream.status === 'closed') return Promise.resolve(undefined)
  if (stream.status === 'aborted' || stream.status === 'reset') return Promise.resolve(new Error(stream.status))
  return new Promise((resolve) =>
    stream.addEventListener('close', (evt) => resolve((evt as Event & { error?: Error }).error), { once: true }),
  )
}

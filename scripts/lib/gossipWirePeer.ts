// The load generator of scripts/bench-gossip.ts: libp2p hosts that speak meshsub at the wire level only.
import { RPC } from '@libp2p/gossipsub/message'
import type { Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { Uint8ArrayList } from 'uint8arraylist'
import type { ContowerHost } from '../../src/network/host.js'
import { decodeVarint, varintLength, writeVarint } from '../../src/wire/varint.js'

/**
 * A peer that speaks meshsub at the wire level only: it sends pre-encoded RPC frames (one message per RPC, as
 * gossipsub sends them) and counts the messages it is sent. Much cheaper than a full gossipsub node, so that the relay,
 * not the load generator, is what runs out of CPU.
 */
export class WirePeer {
  delivered = 0
  private toRelay: Stream | null = null
  private waiter: (() => void) | null = null
  private readonly relayOpened: Promise<void>

  private constructor(readonly host: ContowerHost) {
    let opened!: () => void
    this.relayOpened = new Promise((resolve) => (opened = resolve))
    // The relay opens its stream to us once identify showed we speak meshsub: from then on it takes our stream too.
    const onStream = (stream: Stream) => {
      opened()
      void this.read(stream)
    }
    for (const protocol of MESHSUB) void host.handle(protocol, onStream)
  }

  /** Connects `host` (started, without gossipsub) to the relay; with topics, subscribes to them there. */
  static async connect(host: ContowerHost, relay: string, subscribe: string[]): Promise<WirePeer> {
    const peer = new WirePeer(host)
    const addr = multiaddr(relay)
    await peer.host.dial(addr)
    await peer.relayOpened
    peer.toRelay = await peer.host.dialProtocol(addr, MESHSUB)
    if (subscribe.length > 0) {
      await peer.send(frame({ subscriptions: subscribe.map((topic) => ({ subscribe: true, topic })), messages: [] }))
    }
    return peer
  }

  /** Writes a frame, waiting while the muxer's buffer is full. */
  async send(bytes: Uint8Array): Promise<void> {
    if (!this.toRelay!.send(bytes)) await this.toRelay!.onDrain()
  }

  /** Resolves at the next delivered message, or after `ms`. */
  nextDelivery(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.waiter = resolve
      setTimeout(resolve, ms)
    })
  }

  private async read(stream: Stream): Promise<void> {
    const buffer = new Uint8ArrayList()
    try {
      for await (const chunk of stream) {
        buffer.append(chunk)
        for (;;) {
          const head = buffer.subarray(0, Math.min(buffer.length, 10))
          let length: { value: number; bytesRead: number }
          try {
            length = decodeVarint(head)
          } catch {
            break // the length prefix is not complete yet
          }
          if (buffer.length < length.bytesRead + length.value) break
          const rpc = RPC.decode(buffer.subarray(length.bytesRead, length.bytesRead + length.value))
          buffer.consume(length.bytesRead + length.value)
          if (rpc.messages.length > 0) {
            this.delivered += rpc.messages.length
            this.waiter?.()
          }
        }
      }
    } catch {
      // The relay went away: the round in progress reports what arrived.
    }
  }
}

export const MESHSUB = ['/meshsub/1.2.0', '/meshsub/1.1.0']

/** A length-prefixed RPC, as gossipsub writes it. */
export function frame(rpc: RPC): Uint8Array {
  const body = RPC.encode(rpc)
  const out = new Uint8Array(varintLength(body.length) + body.length)
  out.set(body, writeVarint(body.length, out, 0))
  return out
}

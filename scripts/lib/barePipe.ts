// The benchmark's floor: a libp2p host on Contower's stack (createHost: TCP, noise, mplex/yamux; QUIC) that answers
// BlocksByRange by piping bytes to and from an upstream, with nothing else in the path: no decoding, no checks, no
// cache, no metrics. What a relay costs beyond this is Contower's own work; this much is the hop itself.
// The entry point must import src/setup.ts before this module.
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId, Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { UpstreamLimiter } from '../../src/limits/upstreamLimiter.js'
import { createHost } from '../../src/network/host.js'
import { addressOn, BY_RANGE, type BenchTransport } from './benchRounds.js'

/** Every wait of a piped request is bounded by this (the requester's own timeouts are shorter). */
const PIPE_TIMEOUT_MS = 20_000

export interface BarePipe {
  peerId: PeerId
  multiaddr: string
  /** Requests that found no upstream with quota left (the benchmark's pacing should keep this at 0). */
  refused: number
  stop(): Promise<void>
}

/**
 * Starts the pipe on `listenAddress` (and `transport`) and connects it to `upstreamAddrs`. Each request goes to the next upstream (round
 * robin) that Contower's own upstream self-limit allows, so upstream quotas hold as they do for Contower. The pipe
 * does not decode requests: each is charged `blocksPerRequest`, what the benchmark always asks for.
 */
export async function startBarePipe(
  upstreamAddrs: string[],
  blocksPerRequest: number,
  listenAddress: string,
  transport: BenchTransport,
): Promise<BarePipe> {
  const host = await createHost(
    { privateKey: await generateKeyPair('secp256k1'), registry: null, isBanned: () => false },
    {
      listenAddress,
      port: 0,
      quicPort: transport === 'quic' ? 0 : null,
      maxPeers: upstreamAddrs.length + 8,
      agentVersion: 'contower-bench-pipe',
    },
  )
  await host.start()
  const upstreams: PeerId[] = []
  for (const addr of upstreamAddrs) upstreams.push((await host.dial(multiaddr(addr))).remotePeer)
  const limiter = new UpstreamLimiter()
  let next = 0
  const pipe: BarePipe = {
    peerId: host.peerId,
    multiaddr: addressOn(host.getMultiaddrs(), transport).toString(),
    refused: 0,
    stop: async () => {
      await host.stop()
    },
  }

  await host.handle(BY_RANGE.id, async (inbound) => {
    const signal = AbortSignal.timeout(PIPE_TIMEOUT_MS)
    let lease: { release(): void } | null = null
    try {
      const request: Uint8Array[] = []
      for await (const piece of inbound) request.push(piece.subarray()) // until the requester half-closes
      let upstream: PeerId | undefined
      for (let k = 0; k < upstreams.length && !lease; k++) {
        upstream = upstreams[(next + k) % upstreams.length]
        lease = limiter.tryAcquire(upstream.toString(), BY_RANGE.name, blocksPerRequest)
        if (lease) next = (next + k + 1) % upstreams.length
      }
      if (!lease || !upstream) {
        pipe.refused++
        inbound.abort(new Error('no upstream with quota left'))
        return
      }
      const outbound = await host.dialProtocol(upstream, BY_RANGE.id, { signal })
      for (const piece of request) outbound.send(piece)
      await outbound.close({ signal })
      await copy(outbound, inbound, signal)
      await inbound.close({ signal })
    } catch (e) {
      inbound.abort(e as Error)
    } finally {
      lease?.release()
    }
  })
  return pipe
}

/** Streams every piece from `from` to `to` as it arrives, waiting for `to` to drain when its buffer is full. */
async function copy(from: Stream, to: Stream, signal: AbortSignal): Promise<void> {
  for await (const piece of from) {
    if (!to.send(piece)) await to.onDrain({ signal })
  }
}

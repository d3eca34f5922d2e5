import { isIPv6 } from 'node:net'
import { quic } from '@chainsafe/libp2p-quic'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { GossipSub, GossipSubComponents } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import { mplex } from '@libp2p/mplex'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import type { Registry } from 'prom-client'
import type { InboundUpgradeWatcher } from './connectionMonitor.js'
import { libp2pLogger } from './libp2pLogger.js'
import { noiseWithoutEarlyMuxerNegotiation } from './noise.js'

export const HOST_DEFAULTS = {
  /**
   * mplex 12 aborts the whole connection when a peer opens more than this many streams per second (its
   * default is 5). A relay receives bursts of requests from one peer; beacon clients allow far more.
   */
  mplexNewStreamsPerSecond: 256,
  /** Concurrent inbound streams per connection: 2 per protocol per peer (spec) over ~20 protocols, plus slack. */
  maxInboundStreams: 256,
  /** Outbound streams per connection: the relay self-limits far below this; it only stops runaway bugs. */
  maxOutboundStreams: 256,
  /** Noise + multistream handshakes that take longer than this are dropped (Lodestar dials with 5 s). */
  dialTimeoutMs: 5_000,
  /** Inbound connections still in their handshake, to bound work done for unauthenticated sockets. */
  maxIncomingPendingConnections: 32,
  /**
   * New inbound connections per second from one IP (libp2p's default is 5). A local devnet puts every peer
   * on 127.0.0.1; per-IP connection counts are the peer manager's job.
   */
  inboundConnectionsPerIpPerSecond: 64,
  /** QUIC: streams the remote may have open at once on one connection (quinn's flow control, like muxer limits). */
  quicMaxConcurrentStreams: 256,
} as const

export interface HostModules {
  privateKey: PrivateKey
  /** Registry for libp2p's own metrics (and the process metrics it collects); null = no metrics. */
  registry: Registry | null
  /** Peers refused in both directions (bans and cool-downs). */
  isBanned: (peer: PeerId) => boolean
  /** The gossipsub service (GossipService.gossipsubFactory()); a host without it takes no part in gossip. */
  gossipsub?: (components: GossipSubComponents) => GossipSub
  /** Told how far each inbound socket got (ConnectionMonitor.inboundUpgrades), to count failed upgrades. */
  inboundUpgrades?: InboundUpgradeWatcher
}

export interface HostOptions {
  listenAddress: string
  port: number
  /** UDP port of the QUIC listener (0 picks a free one); null: TCP only, and QUIC addresses are not dialled. */
  quicPort?: number | null
  maxPeers: number
  agentVersion: string
  /** Offer mplex alone, as Lodestar does (the devnet's simulated peers). */
  mplexOnly?: boolean
}

export type ContowerHost = Libp2p<{ identify: ReturnType<ReturnType<typeof identify>>; gossipsub?: GossipSub }>

/**
 * The libp2p host beacon peers meet: TCP + noise, yamux preferred and mplex always offered (Lodestar speaks
 * only mplex), and QUIC beside it when `quicPort` is set; identify with our agent version. Created stopped; the
 * caller starts it.
 */
export async function createHost(modules: HostModules, opts: HostOptions): Promise<ContowerHost> {
  const muxerLimits = {
    maxInboundStreams: HOST_DEFAULTS.maxInboundStreams,
    maxOutboundStreams: HOST_DEFAULTS.maxOutboundStreams,
  }
  const ip = isIPv6(opts.listenAddress) ? 'ip6' : 'ip4'
  const withQuic = opts.quicPort != null
  return createLibp2p({
    start: false,
    privateKey: modules.privateKey,
    logger: libp2pLogger(),
    addresses: {
      listen: [
        `/${ip}/${opts.listenAddress}/tcp/${opts.port}`,
        ...(withQuic ? [`/${ip}/${opts.listenAddress}/udp/${opts.quicPort}/quic-v1`] : []),
      ],
    },
    // QUIC brings its own TLS 1.3 and stream multiplexing (in native code); noise and the muxers are TCP's.
    transports: [
      tcp(),
      ...(withQuic ? [quic({ maxConcurrentStreamLimit: HOST_DEFAULTS.quicMaxConcurrentStreams })] : []),
    ],
    // Muxers by multistream-select: noise 17's early negotiation disagrees with peers that order them differently.
    connectionEncrypters: [noiseWithoutEarlyMuxerNegotiation()],
    streamMuxers: [
      ...(opts.mplexOnly ? [] : [yamux(muxerLimits)]),
      mplex({ ...muxerLimits, disconnectThreshold: HOST_DEFAULTS.mplexNewStreamsPerSecond }),
    ],
    connectionManager: {
      maxConnections: opts.maxPeers,
      dialTimeout: HOST_DEFAULTS.dialTimeoutMs,
      maxIncomingPendingConnections: HOST_DEFAULTS.maxIncomingPendingConnections,
      inboundConnectionThreshold: HOST_DEFAULTS.inboundConnectionsPerIpPerSecond,
    },
    // identify announces nodeInfo.userAgent as our agent version.
    nodeInfo: { name: 'contower', userAgent: opts.agentVersion },
    services: { identify: identify(), ...(modules.gossipsub ? { gossipsub: modules.gossipsub } : {}) },
    // libp2p's monitor pings every connection over /ipfs/ping each 10 s and aborts it when the answer is late; a
    // busy connection's ping queues behind its data, so under load it killed the peers carrying the most traffic.
    // Liveness is the eth2 Ping's (src/peers/handshake.ts), which beacon peers answer.
    connectionMonitor: { enabled: false },
    connectionGater: {
      denyDialPeer: (peer) => modules.isBanned(peer),
      denyInboundConnection: (maConn) => {
        modules.inboundUpgrades?.socket(maConn)
        return false
      },
      denyInboundEncryptedConnection: (peer, maConn) => {
        const denied = modules.isBanned(peer)
        modules.inboundUpgrades?.encrypted(maConn, denied)
        return denied
      },
      denyInboundUpgradedConnection: (_peer, maConn) => {
        modules.inboundUpgrades?.upgraded(maConn)
        return false
      },
    },
    metrics: modules.registry
      ? prometheusMetrics({ registry: modules.registry, preserveExistingMetrics: true })
      : undefined,
  })
}

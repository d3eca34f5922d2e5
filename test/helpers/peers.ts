import { quic } from '@chainsafe/libp2p-quic'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { mplex } from '@libp2p/mplex'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'

export interface TestPeerOptions {
  /** 'mplex' models Lodestar, which speaks mplex only. */
  muxers?: 'mplex' | 'both'
  listen?: boolean
  agentVersion?: string
  /** Reuse an identity (a peer that restarts); a fresh secp256k1 key by default. */
  privateKey?: PrivateKey
  /** Listen here instead of an OS-chosen port on 127.0.0.1. */
  listenAddr?: string
  /** 'quic': QUIC only (its own encryption and multiplexing; `muxers` is then unused), as a QUIC-first client. */
  transport?: 'tcp' | 'quic'
}

/**
 * An independent libp2p host on 127.0.0.1, built like a beacon client's (secp256k1, TCP, noise; or QUIC alone with
 * the package's defaults).
 */
export async function createTestPeer(opts: TestPeerOptions = {}): Promise<Libp2p<{ identify: unknown }>> {
  const muxers = opts.muxers === 'mplex' ? [mplex({ disconnectThreshold: 1000 })] : [yamux(), mplex()]
  const isQuic = opts.transport === 'quic'
  const listen = opts.listenAddr ?? (isQuic ? '/ip4/127.0.0.1/udp/0/quic-v1' : '/ip4/127.0.0.1/tcp/0')
  return createLibp2p({
    privateKey: opts.privateKey ?? (await generateKeyPair('secp256k1')),
    addresses: { listen: opts.listen === false ? [] : [listen] },
    transports: isQuic ? [quic()] : [tcp()],
    connectionEncrypters: isQuic ? [] : [noise()],
    streamMuxers: isQuic ? [] : muxers,
    nodeInfo: { userAgent: opts.agentVersion ?? 'test-peer/0.0.0' },
    services: { identify: identify() },
  })
}

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
}

/** An independent libp2p host on 127.0.0.1, built like a beacon client's (secp256k1, TCP, noise). */
export async function createTestPeer(opts: TestPeerOptions = {}): Promise<Libp2p<{ identify: unknown }>> {
  const muxers = opts.muxers === 'mplex' ? [mplex({ disconnectThreshold: 1000 })] : [yamux(), mplex()]
  return createLibp2p({
    privateKey: opts.privateKey ?? (await generateKeyPair('secp256k1')),
    addresses: { listen: opts.listen === false ? [] : [opts.listenAddr ?? '/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: muxers,
    nodeInfo: { userAgent: opts.agentVersion ?? 'test-peer/0.0.0' },
    services: { identify: identify() },
  })
}

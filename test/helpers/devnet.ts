import type { Libp2p, PeerId } from '@libp2p/interface'
import { afterEach, expect } from 'vitest'
import type { Network } from '../../src/chain/resolveNetwork.js'
import { devnetNetwork } from '../../src/devnet/devnetNetwork.js'
import { type SimulatedPeer, startSimulatedPeer } from '../../src/devnet/simulatedPeer.js'
import { SyntheticChain } from '../../src/devnet/syntheticChain.js'
import { createLogger } from '../../src/logger.js'
import type { ContowerNode, NodeOverrides } from '../../src/node.js'
import { CLIENT_DEFAULTS, ReqRespClient } from '../../src/reqresp/client.js'
import { RequestError } from '../../src/reqresp/errors.js'
import { registryValue } from './metrics.js'
import { getProtocol, type ProtocolDef } from '../../src/reqresp/protocols.js'
import { ResponseTypes } from '../../src/reqresp/responseTypes.js'
import type { ResponseChunk } from '../../src/wire/chunks.js'
import { startTestNode } from './node.js'

export const logger = createLogger({ level: 'silent', format: 'json' })

/** Registers an afterEach that stops everything `track` was given in the test: call once per test file. */
export function stopAfterEach(): <T extends { stop(): unknown }>(started: Promise<T>) => Promise<T> {
  const started: Array<{ stop(): unknown }> = []
  afterEach(async () => {
    await Promise.all(started.splice(0).map((c) => c.stop()))
  })
  return async (p) => {
    const v = await p
    started.push(v)
    return v
  }
}

/** A BlocksByRange v2 request's SSZ. */
export const rangeRequest = (startSlot: number, count: number): Uint8Array =>
  getProtocol('beacon_blocks_by_range', 2).request!.serialize({ startSlot, count, step: 1 })

/** A devnet chain `historySlots` old, with 2 s slots. */
export function testChain(historySlots = 100, payloadBytes = 20_000): { network: Network; chain: SyntheticChain } {
  const network = devnetNetwork({ genesisTime: Math.floor(Date.now() / 1000) - historySlots * 2 })
  return { network, chain: new SyntheticChain({ network }, { payloadBytes }) }
}

export function startPeer(
  network: Network,
  chain: SyntheticChain,
  opts: { serveBlocks?: boolean; quic?: boolean; custodyGroupCount?: number } = {},
): Promise<SimulatedPeer> {
  return startSimulatedPeer({ network, chain, logger }, opts)
}

/** Contower on the devnet (the node takes the Network as given), dialling `upstreams` as static peers. */
export async function startRelay(
  network: Network,
  upstreams: SimulatedPeer[],
  flags: Record<string, string> = {},
  overrides: NodeOverrides = {},
): Promise<ContowerNode> {
  return startTestNode({ ...staticPeers(upstreams), ...flags }, network, overrides)
}

function staticPeers(peers: SimulatedPeer[]): Record<string, string> {
  return peers.length > 0 ? { 'static-peers': peers.map((p) => p.multiaddr.toString()).join(',') } : {}
}

/** Waits until Contower has exchanged Status with every peer (so each is a candidate upstream). */
export async function waitHandshaken(
  node: ContowerNode,
  peers: ReadonlyArray<{ peerId: PeerId }>,
  timeout = 10_000,
): Promise<void> {
  for (const p of peers) await expect.poll(() => node.peerStore.get(p.peerId)?.handshaken, { timeout }).toBe(true)
}

/** Dials each host from `node` and waits until it is handshaken and told apart as `client` by its agent string. */
export async function connectUpstreams(node: ContowerNode, hosts: readonly Libp2p[], client: string): Promise<void> {
  for (const host of hosts) await node.libp2p.dial(host.getMultiaddrs()[0]!)
  await waitHandshaken(node, hosts, 15_000)
  for (const host of hosts) {
    await expect.poll(() => node.peerStore.get(host.peerId)?.client, { timeout: 15_000 }).toBe(client)
  }
}

/** A req/resp client on a simulated peer's host: chunks are seen one by one, timeouts can be changed. */
export function clientFor(peer: SimulatedPeer, opts: Partial<typeof CLIENT_DEFAULTS> = {}): ReqRespClient {
  const responseTypes = new ResponseTypes({ forkSchedule: peer.forkSchedule, clock: peer.clock })
  return new ReqRespClient({ host: peer.libp2p, responseTypes, metrics: null }, { ...CLIENT_DEFAULTS, ...opts })
}

/** How a request ended: the chunks that arrived, then the error (null when the response ended cleanly). */
export interface RequestOutcome {
  chunks: ResponseChunk[]
  error: RequestError | null
  ms: number
}

/** Sends one request and records its outcome instead of throwing; non-request errors still throw. */
export async function outcomeOf(
  client: ReqRespClient,
  peer: PeerId,
  def: ProtocolDef,
  requestSsz: Uint8Array | null,
  maxChunks: number,
  signal?: AbortSignal,
): Promise<RequestOutcome> {
  const startedMs = Date.now()
  const chunks: ResponseChunk[] = []
  try {
    for await (const chunk of client.request(peer, def, requestSsz, { maxChunks, signal })) chunks.push(chunk)
    return { chunks, error: null, ms: Date.now() - startedMs }
  } catch (e) {
    if (!(e instanceof RequestError)) throw e
    return { chunks, error: e, ms: Date.now() - startedMs }
  }
}

/** Sum of a node's metric's values whose labels include `labels` (0 when the metric has none yet). */
export function metricValue(node: ContowerNode, name: string, labels: Record<string, string> = {}): Promise<number> {
  return registryValue(node.registry, name, labels)
}

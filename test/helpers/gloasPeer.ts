import { ListCompositeType } from '@chainsafe/ssz'
import type { Libp2p, Stream } from '@libp2p/interface'
import { ssz } from '@lodestar/types'
import { Clock } from '../../src/chain/clock.js'
import { ForkSchedule } from '../../src/chain/forkSchedule.js'
import type { Network } from '../../src/chain/resolveNetwork.js'
import type { SyntheticChain } from '../../src/devnet/syntheticChain.js'
import { protocolId } from '../../src/reqresp/protocols.js'
import { ByteReader } from '../../src/wire/byteReader.js'
import { encodeResponseChunk, readRequest } from '../../src/wire/chunks.js'
import { RespCode } from '../../src/wire/constants.js'
import { serveBeaconProtocols } from './beaconPeer.js'
import { createTestPeer } from './peers.js'

const BLOCKS_BY_RANGE = protocolId('beacon_blocks_by_range', 2)
const ENVELOPES_BY_RANGE = protocolId('execution_payload_envelopes_by_range', 1)
const ENVELOPES_BY_ROOT = protocolId('execution_payload_envelopes_by_root', 1)

/**
 * How a Gloas peer lies: `other_block` answers each root (or slot) with the envelope of the next block instead;
 * `reversed` sends a range's envelopes last slot first; `changed_payload` changes each envelope's execution block
 * hash (the root it names stays right).
 */
export type GloasPeerLie = 'none' | 'other_block' | 'reversed' | 'changed_payload'

export interface GloasPeer {
  host: Libp2p
  /** Requests received, by protocol id. */
  received: Map<string, number>
  stop(): Promise<void>
}

/**
 * A Gloas peer built without our host or simulated peer: plain createLibp2p (yamux and mplex, its own order), Status
 * v2/Ping/MetaData v3/Goodbye from beaconPeer.ts, BlocksByRange and the payload envelope protocols answered from
 * `chain` (SyntheticChain.envelopeAt), each chunk under its slot's digest; `lie` changes what it answers.
 */
export async function startGloasPeer(network: Network, chain: SyntheticChain, lie: GloasPeerLie = 'none') {
  const host = await createTestPeer({ agentVersion: 'plain-gloas-peer/0.0.0' })
  const clock = Clock.fromChainConfig(network.config, network.genesisTime)
  const forks = new ForkSchedule(network.config, network.genesisValidatorsRoot)
  const digestAt = (slot: number) => forks.digestAtEpoch(Math.floor(slot / chain.slotsPerEpoch))
  const headSlot = () => chain.headAt(Math.max(0, clock.currentSlot)).slot
  await serveBeaconProtocols(host, () => {
    const head = chain.headAt(headSlot())
    return {
      forkDigest: digestAt(Math.max(0, clock.currentSlot)),
      finalizedRoot: new Uint8Array(32),
      finalizedEpoch: 0,
      headRoot: head.root,
      headSlot: head.slot,
      earliestAvailableSlot: 0,
    }
  })
  const received = new Map<string, number>()
  const count = (protocol: string) => received.set(protocol, (received.get(protocol) ?? 0) + 1)
  const send = (stream: Stream, bytes: Uint8Array, slot: number) =>
    stream.send(encodeResponseChunk(RespCode.Success, bytes, digestAt(slot)))
  /** The envelope this peer gives for the block at `slot`: its own, or (lying) the next block's. */
  const envelopeFor = (slot: number): { slot: number; bytes: Uint8Array } | null => {
    const head = headSlot()
    for (let s = lie === 'other_block' ? slot + 1 : slot; s <= head; s++) {
      const bytes = chain.envelopeAt(s)
      if (bytes && lie === 'changed_payload') {
        const changed = ssz.gloas.SignedExecutionPayloadEnvelope.deserialize(bytes)
        changed.message.payload.blockHash = new Uint8Array(32).fill(0x66)
        return { slot: s, bytes: ssz.gloas.SignedExecutionPayloadEnvelope.serialize(changed) }
      }
      if (bytes) return { slot: s, bytes }
      if (lie !== 'other_block') return null
    }
    return null
  }
  const rangeType = ssz.gloas.ExecutionPayloadEnvelopesByRangeRequest
  await host.handle(ENVELOPES_BY_RANGE, async (stream) => {
    count(ENVELOPES_BY_RANGE)
    const req = rangeType.deserialize(await readRequest(new ByteReader(stream), rangeType))
    const found = []
    for (let slot = req.startSlot; slot < req.startSlot + Math.min(req.count, 128) && slot <= headSlot(); slot++) {
      const envelope = chain.blockAt(slot) ? envelopeFor(slot) : null
      if (envelope) found.push(envelope)
    }
    if (lie === 'reversed') found.reverse()
    for (const { slot, bytes } of found) send(stream, bytes, slot)
    await stream.close()
  })
  const rootsType = new ListCompositeType(ssz.Root, 128)
  await host.handle(ENVELOPES_BY_ROOT, async (stream) => {
    count(ENVELOPES_BY_ROOT)
    const roots = rootsType.deserialize(await readRequest(new ByteReader(stream), rootsType))
    for (const root of roots) {
      const block = chain.blockByRoot(root, headSlot())
      const envelope = block ? envelopeFor(block.slot) : null
      if (envelope) send(stream, envelope.bytes, envelope.slot)
    }
    await stream.close()
  })
  const blocksType = ssz.phase0.BeaconBlocksByRangeRequest
  await host.handle(BLOCKS_BY_RANGE, async (stream) => {
    count(BLOCKS_BY_RANGE)
    const req = blocksType.deserialize(await readRequest(new ByteReader(stream), blocksType))
    for (const block of chain.blocksInRange(req.startSlot, Math.min(req.count, 128), headSlot())) {
      send(stream, block.ssz, block.slot)
    }
    await stream.close()
  })
  await host.start()
  const peer: GloasPeer = { host, received, stop: async () => await host.stop() }
  return peer
}

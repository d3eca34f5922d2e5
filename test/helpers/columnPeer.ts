import { ListCompositeType } from '@chainsafe/ssz'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, Stream } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ssz } from '@lodestar/types'
import type { Network } from '../../src/chain/resolveNetwork.js'
import { Clock } from '../../src/chain/clock.js'
import { ForkSchedule } from '../../src/chain/forkSchedule.js'
import { custodyColumns, nodeIdOf } from '../../src/peers/custody.js'
import type { SyntheticChain } from '../../src/devnet/syntheticChain.js'
import { protocolId } from '../../src/reqresp/protocols.js'
import { ByteReader } from '../../src/wire/byteReader.js'
import { encodeResponseChunk, readRequest } from '../../src/wire/chunks.js'
import { RespCode } from '../../src/wire/constants.js'
import { serveBeaconProtocols } from './beaconPeer.js'
import { createTestPeer } from './peers.js'

const BY_RANGE = protocolId('data_column_sidecars_by_range', 1)
const BY_ROOT = protocolId('data_column_sidecars_by_root', 1)

export interface ColumnPeer {
  host: Libp2p
  custody: ReadonlySet<number>
  /** Every column index it was asked for, by either protocol. */
  asked: Set<number>
  stop(): Promise<void>
}

/**
 * A Fulu peer built without our host or simulated peer: plain createLibp2p (yamux and mplex, its own order),
 * Status v2/Ping/MetaData v3/Goodbye from beaconPeer.ts, and DataColumnSidecarsByRange/ByRoot answered from
 * `chain` with only the columns its key and `custodyGroupCount` custody, as a Fulu node stores them.
 */
export async function startColumnPeer(network: Network, chain: SyntheticChain, custodyGroupCount: number) {
  const privateKey = await generateKeyPair('secp256k1')
  const custody = new Set(custodyColumns(nodeIdOf(peerIdFromPrivateKey(privateKey))!, custodyGroupCount))
  const host = await createTestPeer({ privateKey, agentVersion: 'plain-column-peer/0.0.0' })
  const clock = Clock.fromChainConfig(network.config, network.genesisTime)
  const forks = new ForkSchedule(network.config, network.genesisValidatorsRoot)
  const digestAt = (slot: number) => forks.digestAtEpoch(Math.floor(slot / chain.slotsPerEpoch))
  await serveBeaconProtocols(
    host,
    () => {
      const slot = Math.max(0, clock.currentSlot)
      const head = chain.headAt(slot)
      const finalized = chain.checkpoint(Math.max(0, Math.floor(head.slot / chain.slotsPerEpoch) - 2))
      return {
        forkDigest: digestAt(slot),
        finalizedRoot: finalized.root,
        finalizedEpoch: finalized.epoch,
        headRoot: head.root,
        headSlot: head.slot,
        earliestAvailableSlot: 0,
      }
    },
    () => 1n,
    custodyGroupCount,
  )
  const asked = new Set<number>()
  const answer = async (stream: Stream, wanted: Array<{ slot: number; columns: number[] }>) => {
    for (const { slot, columns } of wanted) {
      for (const column of columns) {
        asked.add(column)
        const sidecar = custody.has(column) ? chain.dataColumnSidecar(slot, column) : null
        if (sidecar) stream.send(encodeResponseChunk(RespCode.Success, sidecar, digestAt(slot)))
      }
    }
    await stream.close()
  }
  await host.handle(BY_RANGE, async (stream) => {
    const type = ssz.fulu.DataColumnSidecarsByRangeRequest
    const req = type.deserialize(await readRequest(new ByteReader(stream), type))
    const wanted = []
    for (let slot = req.startSlot; slot < req.startSlot + req.count; slot++) {
      if (chain.blockAt(slot)) wanted.push({ slot, columns: req.columns })
    }
    await answer(stream, wanted)
  })
  await host.handle(BY_ROOT, async (stream) => {
    const type = new ListCompositeType(ssz.fulu.DataColumnsByRootIdentifier, 128)
    const ids = type.deserialize(await readRequest(new ByteReader(stream), type))
    const wanted = []
    for (const id of ids) {
      const block = chain.blockByRoot(id.blockRoot)
      if (block) wanted.push({ slot: block.slot, columns: id.columns })
    }
    await answer(stream, wanted)
  })
  await host.start()
  const peer: ColumnPeer = { host, custody, asked, stop: async () => await host.stop() }
  return peer
}

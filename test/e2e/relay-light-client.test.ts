// Light-client data through Contower from upstreams it did not build: plain libp2p hosts answering the beacon
// handshake and the light-client protocols with hand-made responses (test/helpers/lightClient.ts builds them from a
// state tree, as a full node does). A liar's bootstrap or update (valid SSZ, a proof that no longer holds) never
// reaches the requester or the cache; the liar is charged, and an honest upstream then serves the same request.
import type { Libp2p } from '@libp2p/interface'
import { EPOCHS_PER_SYNC_COMMITTEE_PERIOD, ForkName } from '@lodestar/params'
import { describe, expect, it } from 'vitest'
import { ForkSchedule } from '../../src/chain/forkSchedule.js'
import type { ContowerNode } from '../../src/node.js'
import { getProtocol, protocolId, type ProtocolDef } from '../../src/reqresp/protocols.js'
import { toRelayRequest } from '../../src/relay/relayRequest.js'
import { ByteReader } from '../../src/wire/byteReader.js'
import { encodeResponseChunk, readRequest, type ResponseChunk } from '../../src/wire/chunks.js'
import { RespCode } from '../../src/wire/constants.js'
import { relevantStatus, serveBeaconProtocols } from '../helpers/beaconPeer.js'
import {
  clientFor,
  connectUpstreams,
  metricValue,
  outcomeOf,
  startPeer,
  startRelay,
  stopAfterEach,
  testChain,
  waitHandshaken,
} from '../helpers/devnet.js'
import { lightClientBootstrap, lightClientUpdate, updatesOfPeriods } from '../helpers/lightClient.js'
import { createTestPeer } from '../helpers/peers.js'

const BOOTSTRAP = getProtocol('light_client_bootstrap', 1)
const UPDATES = getProtocol('light_client_updates_by_range', 1)
const track = stopAfterEach()
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const payloads = (chunks: ResponseChunk[]) => chunks.map((c) => hex(c.ssz!))
const label = (def: ProtocolDef) => `${def.name}/${def.version}`
const cacheKey = (def: ProtocolDef, requestSsz: Uint8Array) =>
  toRelayRequest(def, def.request!.deserialize(requestSsz)).key

/**
 * What an upstream answers: the SSZ of each chunk, for the bootstrap and for the updates asked (each in the digest
 * of its attested slot's epoch, epoch 0 without one).
 */
interface LightClientAnswers {
  bootstrap: Uint8Array
  updates: (startPeriod: number, count: number) => Array<{ bytes: Uint8Array; attestedSlot?: number }>
}

/**
 * A host that looks like a beacon node to `node` and serves the light-client protocols from `answers()`; with
 * `resetAfter`, it resets an updates stream after sending that many updates.
 */
async function startLightClientServer(
  node: ContowerNode,
  schedule: ForkSchedule,
  answers: () => LightClientAnswers,
  opts: { resetAfter?: number; agentVersion?: string } = {},
) {
  const host = (await createTestPeer({ muxers: 'mplex', agentVersion: opts.agentVersion })) as Libp2p
  await host.start()
  const served = { bootstrap: 0, updates: 0 }
  await serveBeaconProtocols(host, () => relevantStatus(node))
  // Devnet slots here are all in epoch 0's digest (the tests keep headers early).
  const digest = schedule.digestAtEpoch(0)
  await host.handle(protocolId(BOOTSTRAP.name, BOOTSTRAP.version), async (stream) => {
    await readRequest(new ByteReader(stream), BOOTSTRAP.request!)
    served.bootstrap++
    stream.send(encodeResponseChunk(RespCode.Success, answers().bootstrap, digest))
    await stream.close()
  })
  await host.handle(protocolId(UPDATES.name, UPDATES.version), async (stream) => {
    const req = UPDATES.request!.deserialize(await readRequest(new ByteReader(stream), UPDATES.request!)) as {
      startPeriod: number
      count: number
    }
    served.updates++
    const updates = answers().updates(req.startPeriod, req.count)
    for (const [i, { bytes, attestedSlot }] of updates.entries()) {
      if (i === opts.resetAfter) {
        stream.abort(new Error('gone mid-response'))
        return
      }
      const epoch = Math.floor((attestedSlot ?? 0) / schedule.config.slotsPerEpoch)
      stream.send(encodeResponseChunk(RespCode.Success, bytes, schedule.digestAtEpoch(epoch)))
    }
    await stream.close()
  })
  return { host, served, stop: () => host.stop() }
}

describe('relay: light-client data from strangers', () => {
  it('updates by range: each upstream resets after one update; the next goes on with the periods after it, and the answer is whole', async () => {
    const slotsPerPeriod = EPOCHS_PER_SYNC_COMMITTEE_PERIOD * 32 // the devnet's mainnet preset
    const { network, chain } = testChain(2 * slotsPerPeriod + 64) // the clock in period 2: periods 0-2 can be had
    const schedule = new ForkSchedule(network.config, network.genesisValidatorsRoot)
    const updates = updatesOfPeriods([0, 1, 2], slotsPerPeriod)
    const bootstrap = lightClientBootstrap(ForkName.fulu, 24).bytes
    const node = await track(startRelay(network, []))
    // Whichever is asked first sends one update and resets; so does the next: three upstreams, three periods.
    const servers = await Promise.all(
      [0, 1, 2].map(() =>
        track(
          startLightClientServer(
            node,
            schedule,
            () => ({ bootstrap, updates: (start, count) => updates.slice(start, start + count) }),
            // Lodestar's limits take a whole range of updates (an unknown agent is held to every client's least).
            { resetAfter: 1, agentVersion: 'Lodestar/v1.36.0/linux-x64' },
          ),
        ),
      ),
    )
    await connectUpstreams(
      node,
      servers.map((server) => server.host),
      'lodestar',
    )
    const requester = await track(startPeer(network, chain, { serveBlocks: false }))
    await requester.libp2p.dial(node.listenAddresses[0]!)

    const request = UPDATES.request!.serialize({ startPeriod: 0, count: 3 })
    const out = await outcomeOf(clientFor(requester), node.libp2p.peerId, UPDATES, request, 3)
    expect(out.error).toBeNull()
    expect(payloads(out.chunks)).toEqual(updates.map((u) => hex(u.bytes)))
    expect(servers.map((server) => server.served.updates)).toEqual([1, 1, 1])
    expect(await metricValue(node, 'contower_relay_resumes_total', { outcome: 'whole' })).toBe(1)
    expect(node.relayCache.get(cacheKey(UPDATES, request))?.chunks).toHaveLength(3)
  })

  it('a bootstrap whose sync committee the branch does not prove is not forwarded nor cached; an honest one is, then from the cache', async () => {
    const { network, chain } = testChain(40)
    const schedule = new ForkSchedule(network.config, network.genesisValidatorsRoot)
    const honest = lightClientBootstrap(ForkName.fulu, 24)
    const forged = structuredClone(honest.value)
    forged.currentSyncCommittee.pubkeys[0] = new Uint8Array(48).fill(0xee) // a key of the attacker's choosing
    const forgedBytes = honest.type.serialize(forged) as Uint8Array

    const requester = await track(startPeer(network, chain, { serveBlocks: false }))
    const node = await track(startRelay(network, []))
    const noUpdates = () => []
    const liar = await track(
      startLightClientServer(node, schedule, () => ({ bootstrap: forgedBytes, updates: noUpdates })),
    )
    await node.libp2p.dial(liar.host.getMultiaddrs()[0]!)
    await waitHandshaken(node, [liar.host], 15_000)
    await requester.libp2p.dial(node.listenAddresses[0]!)
    const request = BOOTSTRAP.request!.serialize(honest.root)

    const first = await outcomeOf(clientFor(requester), node.libp2p.peerId, BOOTSTRAP, request, 1)
    expect(liar.served.bootstrap).toBeGreaterThanOrEqual(1)
    expect(first.chunks).toHaveLength(0)
    expect(first.error).not.toBeNull()
    expect(node.relayCache.get(cacheKey(BOOTSTRAP, request))).toBeUndefined()
    expect(node.scores.score(liar.host.peerId.toString())).toBeLessThan(0)
    const invalid = { protocol: label(BOOTSTRAP), reason: 'invalid_light_client' }
    expect(await metricValue(node, 'contower_relay_upstream_errors_total', invalid)).toBe(1)

    const server = await track(
      startLightClientServer(node, schedule, () => ({ bootstrap: honest.bytes, updates: noUpdates })),
    )
    await node.libp2p.dial(server.host.getMultiaddrs()[0]!)
    await waitHandshaken(node, [server.host], 15_000)
    const second = await requester.fetch(node.libp2p.peerId, BOOTSTRAP, request, 1)
    expect(payloads(second)).toEqual([hex(honest.bytes)])
    expect(server.served.bootstrap).toBe(1)
    const third = await requester.fetch(node.libp2p.peerId, BOOTSTRAP, request, 1)
    expect(payloads(third)).toEqual([hex(honest.bytes)])
    expect(server.served.bootstrap + liar.served.bootstrap).toBe(2) // the third came from the cache
  })

  it('updates by range: an update whose next sync committee was changed is not forwarded nor cached; an honest upstream’s is', async () => {
    const { network, chain } = testChain(40)
    const schedule = new ForkSchedule(network.config, network.genesisValidatorsRoot)
    // Headers stay in epoch 0's digest: the updates' periods come from their attested slots, 0 here.
    const update = lightClientUpdate(ForkName.fulu, 30, 16)
    const forged = update.type.deserialize(update.bytes)
    forged.nextSyncCommittee.pubkeys[5] = new Uint8Array(48).fill(0xee)
    const forgedBytes = update.type.serialize(forged) as Uint8Array

    const requester = await track(startPeer(network, chain, { serveBlocks: false }))
    const node = await track(startRelay(network, []))
    const bootstrap = lightClientBootstrap(ForkName.fulu, 24).bytes
    const liar = await track(
      startLightClientServer(node, schedule, () => ({ bootstrap, updates: () => [{ bytes: forgedBytes }] })),
    )
    const server = await track(
      startLightClientServer(node, schedule, () => ({ bootstrap, updates: () => [{ bytes: update.bytes }] })),
    )
    // The liar first: the only upstream until it has been caught.
    await node.libp2p.dial(liar.host.getMultiaddrs()[0]!)
    await waitHandshaken(node, [liar.host], 15_000)
    await requester.libp2p.dial(node.listenAddresses[0]!)
    const request = UPDATES.request!.serialize({ startPeriod: 0, count: 1 })
    const first = await outcomeOf(clientFor(requester), node.libp2p.peerId, UPDATES, request, 1)
    expect(first.chunks).toHaveLength(0)
    expect(first.error).not.toBeNull()
    expect(node.relayCache.get(cacheKey(UPDATES, request))).toBeUndefined()
    const invalid = { protocol: label(UPDATES), reason: 'invalid_light_client' }
    expect(await metricValue(node, 'contower_relay_upstream_errors_total', invalid)).toBe(1)

    await node.libp2p.dial(server.host.getMultiaddrs()[0]!)
    await waitHandshaken(node, [server.host], 15_000)
    const second = await requester.fetch(node.libp2p.peerId, UPDATES, request, 1)
    expect(payloads(second)).toEqual([hex(update.bytes)])
    expect(node.relayCache.get(cacheKey(UPDATES, request))?.chunks).toHaveLength(1)
  })
})

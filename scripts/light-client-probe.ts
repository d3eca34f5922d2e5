// Light-client data of a real beacon node through the checks the relay applies to it (ChunkValidator): does Contower
// accept what a real client serves? Reads the node's bootstrap for its finalized block, its updates from period 0,
// and its finality and optimistic updates from the beacon API (JSON, the node's own encoding turned into SSZ with
// @lodestar/types), and checks each as if an upstream had sent it in answer to the matching request.
//
//   npx tsx scripts/light-client-probe.ts --beacon-api http://127.0.0.1:9596 [--periods 4] [--via MULTIADDR]
//
// Updates are asked for the sync committee periods before the current one, at most --periods: a node has no update
// for a period still to come (Lodestar 1.5 then ends the answer with ServerError, after the updates it has).
//
// With --via (a running Contower's TCP address, with /p2p/ID), the same items are also asked of that Contower over
// libp2p, by a plain libp2p host that answers its Status: what comes back must pass the same checks, and the
// bootstrap and updates (which do not change between the two reads) must be byte for byte what the node served.
// It also asks for updates reaching two periods past the current one: Contower must answer those it has, no error.
//
// Used by scripts/lodestar-trial.sh at the end of a trial (minimal preset: run with LODESTAR_PRESET unset, it reads
// the preset from the node's spec). Prints one line per item and exits 1 if the node served something the relay
// rejects, or served no light-client data at all.
import '../src/setup.js'
import { type PresetName, setActivePreset } from '@lodestar/params/setPreset'
import { Uint8ArrayList } from 'uint8arraylist'
import { fetchChainConfig, fetchGenesis } from '../src/chain/beaconApi.js'
import { intOption } from './lib/intOption.js'

const args = process.argv.slice(2)
const option = (name: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const api = option('beacon-api')
if (!api) {
  console.error('usage: light-client-probe --beacon-api URL [--periods N] [--via MULTIADDR]')
  process.exit(2)
}
const periods = intOption('periods', 4, 1, 128)

const config = await fetchChainConfig(api)
const genesis = await fetchGenesis(api)
// SSZ types follow the active preset: chosen before anything loads @lodestar/types (as `contower start` does).
setActivePreset(config.presetBase as PresetName)
const { sszTypesFor } = await import('@lodestar/types')
const { ForkSchedule } = await import('../src/chain/forkSchedule.js')
const { ChunkValidator, InvalidChunkError } = await import('../src/relay/chunkValidator.js')
const { toRelayRequest } = await import('../src/relay/relayRequest.js')
const { getProtocol } = await import('../src/reqresp/protocols.js')
const { RespCode } = await import('../src/wire/constants.js')
const { EPOCHS_PER_SYNC_COMMITTEE_PERIOD } = await import('@lodestar/params')
type ForkName = Parameters<typeof sszTypesFor>[0]

const schedule = new ForkSchedule(config, genesis.genesisValidatorsRoot)
const slotsPerPeriod = config.slotsPerEpoch * EPOCHS_PER_SYNC_COMMITTEE_PERIOD

async function get(path: string): Promise<unknown | null> {
  const res = await fetch(new URL(path, api), { signal: AbortSignal.timeout(10_000) })
  if (res.status === 404 || res.status === 500 || res.status === 501) return null
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`)
  return res.json()
}

/** One item of `typeName` in the node's JSON, as SSZ of the fork its slot picks (as context bytes would). */
function toSsz(typeName: string, data: unknown, slotOf: (value: never) => number) {
  // The fork is not known before decoding: try the newest first, keep the first whose slot falls in it.
  for (const fork of [...config.forks].reverse()) {
    try {
      const type = (sszTypesFor(fork.name as ForkName) as unknown as Record<string, TypeLike | undefined>)[typeName]
      if (!type) continue
      const value = type.fromJson(data)
      const slot = slotOf(value as never)
      if (schedule.forkAtEpoch(Math.floor(slot / config.slotsPerEpoch)).name !== fork.name) continue
      return { bytes: type.serialize(value), slot }
    } catch {
      // another fork's shape, or a fork these types do not know (Lodestar 1.5's `eip4844`)
    }
  }
  throw new Error(`${typeName} matches no fork's type`)
}

interface TypeLike {
  fromJson(json: unknown): unknown
  serialize(value: unknown): Uint8Array
}

type Header = { beacon: { slot: number } }
let checked = 0
let rejected = 0
/** What the beacon API served, to compare Contower's answers with. */
const probed: { bootstrap: { root: Uint8Array; bytes: Uint8Array } | null; updates: Uint8Array[] } = {
  bootstrap: null,
  updates: [],
}

async function check(protocol: string, request: unknown, items: Array<{ bytes: Uint8Array; slot: number }>) {
  const def = getProtocol(protocol as never, 1)
  const validator = new ChunkValidator({ forkSchedule: schedule }, toRelayRequest(def, request))
  for (const { bytes, slot } of items) {
    const contextBytes = schedule.digestAtEpoch(Math.floor(slot / config.slotsPerEpoch))
    let verdict = 'accepted'
    try {
      await validator.check({ result: RespCode.Success, contextBytes, ssz: bytes, raw: new Uint8ArrayList(bytes) })
    } catch (e) {
      if (!(e instanceof InvalidChunkError)) throw e
      verdict = `REJECTED ${e.message}`
      rejected++
    }
    checked++
    console.log(`${protocol}\tslot ${slot}\t${bytes.length} bytes\t${verdict}`)
  }
}

const finalized = (await get('/eth/v1/beacon/headers/finalized')) as { data: { root: string } } | null
if (finalized) {
  const root = finalized.data.root
  const bootstrap = (await get(`/eth/v1/beacon/light_client/bootstrap/${root}`)) as { data: unknown } | null
  if (bootstrap) {
    const item = toSsz('LightClientBootstrap', bootstrap.data, (v: { header: Header }) => v.header.beacon.slot)
    const rootBytes = Buffer.from(root.slice(2), 'hex')
    await check('light_client_bootstrap', rootBytes, [item])
    probed.bootstrap = { root: rootBytes, bytes: item.bytes }
  } else console.log(`light_client_bootstrap\tnone for ${root}`)
}
const currentSlot = Math.floor((Date.now() / 1000 - genesis.genesisTime) / config.secondsPerSlot)
const currentPeriod = Math.floor(currentSlot / slotsPerPeriod)
const updateCount = Math.max(1, Math.min(periods, currentPeriod))
const updates = (await get(`/eth/v1/beacon/light_client/updates?start_period=0&count=${updateCount}`)) as
  Array<{ data: unknown }> | { data: unknown[] } | null
const updateList = Array.isArray(updates) ? updates.map((u) => u.data) : (updates?.data ?? [])
const updateItems = updateList.map((u) =>
  toSsz('LightClientUpdate', u, (v: { attestedHeader: Header }) => v.attestedHeader.beacon.slot),
)
probed.updates = updateItems.map((u) => u.bytes)
if (updates === null) console.log(`light_client_updates_by_range\tnone for periods 0-${updateCount - 1}`)
await check('light_client_updates_by_range', { startPeriod: 0, count: updateCount }, updateItems)
for (const [path, protocol, typeName] of [
  ['finality_update', 'light_client_finality_update', 'LightClientFinalityUpdate'],
  ['optimistic_update', 'light_client_optimistic_update', 'LightClientOptimisticUpdate'],
] as const) {
  const update = (await get(`/eth/v1/beacon/light_client/${path}`)) as { data: unknown } | null
  if (!update) {
    console.log(`${protocol}\tnone`)
    continue
  }
  await check(protocol, null, [
    toSsz(typeName, update.data, (v: { attestedHeader: Header }) => v.attestedHeader.beacon.slot),
  ])
}
let relayFailures = 0
const via = option('via')
if (via) relayFailures = await askThrough(via)
console.log(`checked ${checked}, rejected ${rejected} (${slotsPerPeriod} slots per period)`)
process.exit(rejected > 0 || checked === 0 || relayFailures > 0 ? 1 : 0)

/**
 * Asks Contower at `address` for the same light-client data over libp2p, from a plain host (TCP, noise, mplex and
 * yamux) that answers Status with the node's own view. Returns how many answers failed or differed.
 */
async function askThrough(address: string): Promise<number> {
  const { createLibp2p } = await import('libp2p')
  const { tcp } = await import('@libp2p/tcp')
  const { noise } = await import('@chainsafe/libp2p-noise')
  const { yamux } = await import('@chainsafe/libp2p-yamux')
  const { mplex } = await import('@libp2p/mplex')
  const { identify } = await import('@libp2p/identify')
  const { multiaddr } = await import('@multiformats/multiaddr')
  const { ssz } = await import('@lodestar/types')
  const { Clock } = await import('../src/chain/clock.js')
  const { fetchChainSeed } = await import('../src/chain/beaconApi.js')
  const { CLIENT_DEFAULTS, ReqRespClient } = await import('../src/reqresp/client.js')
  const { ResponseTypes } = await import('../src/reqresp/responseTypes.js')
  const { protocolId } = await import('../src/reqresp/protocols.js')
  const { ByteReader } = await import('../src/wire/byteReader.js')
  const { encodeResponseChunk, readRequest } = await import('../src/wire/chunks.js')

  const clock = Clock.fromChainConfig(config, genesis.genesisTime)
  const host = await createLibp2p({
    addresses: { listen: [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [mplex(), yamux()],
    services: { identify: identify() },
  })
  await host.start()
  // A beacon node's face: Status as the node sees the chain, Ping and MetaData (v2) with nothing subscribed.
  const respond = async (stream: { send(b: Uint8Array): unknown; close(): Promise<void> }, bytes: Uint8Array) => {
    stream.send(encodeResponseChunk(RespCode.Success, bytes))
    await stream.close()
  }
  await host.handle(protocolId('status', 1), async (stream) => {
    await readRequest(new ByteReader(stream), ssz.phase0.Status)
    const seed = await fetchChainSeed(api!)
    const status = {
      forkDigest: schedule.digestAtEpoch(clock.currentEpoch),
      finalizedRoot: seed.finalizedRoot,
      finalizedEpoch: seed.finalizedEpoch,
      headRoot: seed.headRoot,
      headSlot: seed.headSlot,
    }
    await respond(stream, ssz.phase0.Status.serialize(status))
  })
  await host.handle(protocolId('ping', 1), async (stream) => {
    await readRequest(new ByteReader(stream), ssz.phase0.Ping)
    await respond(stream, ssz.phase0.Ping.serialize(0n))
  })
  await host.handle(protocolId('metadata', 2), async (stream) => {
    await respond(stream, ssz.altair.Metadata.serialize(ssz.altair.Metadata.defaultValue()))
  })

  const contower = multiaddr(address)
  await host.dial(contower)
  const peer = contower.getComponents().find((c) => c.name === 'p2p')?.value
  if (!peer) throw new Error(`--via ${address}: no /p2p/ peer id`)
  const { peerIdFromString } = await import('@libp2p/peer-id')
  const peerId = peerIdFromString(peer)
  const client = new ReqRespClient(
    { host, responseTypes: new ResponseTypes({ forkSchedule: schedule, clock }), metrics: null },
    CLIENT_DEFAULTS,
  )
  let failures = 0
  const ask = async (protocol: string, request: unknown, expected: Uint8Array[] | null) => {
    const def = getProtocol(protocol as never, 1)
    const requestSsz = def.request ? def.request.serialize(request as never) : null
    const chunks = []
    let error = ''
    // Contower may still be exchanging Status with this host: an error before any chunk is retried.
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        chunks.length = 0
        for await (const chunk of client.request(peerId, def, requestSsz, { maxChunks: 128 })) chunks.push(chunk)
        error = ''
        break
      } catch (e) {
        error = (e as Error).message
        if (chunks.length > 0) break // an answer that ended in an error: reported as it is
        await new Promise((resolve) => setTimeout(resolve, 1_000))
      }
    }
    const validator = new ChunkValidator({ forkSchedule: schedule }, toRelayRequest(def, request))
    let verdict = error ? `${chunks.length} chunks, then FAILED ${error}` : `${chunks.length} chunks`
    try {
      for (const chunk of chunks) await validator.check(chunk)
    } catch (e) {
      verdict = `REJECTED ${(e as Error).message}`
    }
    const bytes = chunks.map((c) => Buffer.from(c.ssz!).toString('hex'))
    if (!error && expected && bytes.join() !== expected.map((b) => Buffer.from(b).toString('hex')).join()) {
      verdict += ', DIFFERENT from the beacon API'
    } else if (!error && expected) verdict += ', equal to the beacon API'
    if (error || verdict.includes('REJECTED') || verdict.includes('DIFFERENT') || chunks.length === 0) failures++
    console.log(`via contower\t${protocol}\t${verdict}`)
  }
  if (probed.bootstrap) await ask('light_client_bootstrap', probed.bootstrap.root, [probed.bootstrap.bytes])
  await ask('light_client_updates_by_range', { startPeriod: 0, count: updateCount }, probed.updates)
  // Reaching two periods past the current one: Contower asks its upstreams only up to the current period, so the
  // answer is the updates that exist, with no error from an upstream that has none for the future.
  await ask('light_client_updates_by_range', { startPeriod: 0, count: currentPeriod + 3 }, null)
  await ask('light_client_finality_update', null, null)
  await ask('light_client_optimistic_update', null, null)
  await host.stop()
  return failures
}

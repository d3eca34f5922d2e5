// Light-client data of a real beacon node through the checks the relay applies to it (ChunkValidator): does Contower
// accept what a real client serves? Reads the node's bootstrap for its finalized block, its updates from period 0,
// and its finality and optimistic updates from the beacon API (JSON, the node's own encoding turned into SSZ with
// @lodestar/types), and checks each as if an upstream had sent it in answer to the matching request.
//
//   npx tsx scripts/light-client-probe.ts --beacon-api http://127.0.0.1:9596 [--periods 4]
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
  console.error('usage: light-client-probe --beacon-api URL [--periods N]')
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
    await check('light_client_bootstrap', Buffer.from(root.slice(2), 'hex'), [item])
  } else console.log(`light_client_bootstrap\tnone for ${root}`)
}
const updates = (await get(`/eth/v1/beacon/light_client/updates?start_period=0&count=${periods}`)) as
  Array<{ data: unknown }> | { data: unknown[] } | null
const updateList = Array.isArray(updates) ? updates.map((u) => u.data) : (updates?.data ?? [])
await check(
  'light_client_updates_by_range',
  { startPeriod: 0, count: periods },
  updateList.map((u) => toSsz('LightClientUpdate', u, (v: { attestedHeader: Header }) => v.attestedHeader.beacon.slot)),
)
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
console.log(`checked ${checked}, rejected ${rejected} (${slotsPerPeriod} slots per period)`)
process.exit(rejected > 0 || checked === 0 ? 1 : 0)

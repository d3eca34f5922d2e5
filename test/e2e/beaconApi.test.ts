import type { Libp2p } from '@libp2p/interface'
import { ssz } from '@lodestar/types'
import { multiaddr } from '@multiformats/multiaddr'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { afterEach, describe, expect, it } from 'vitest'
import { ForkSchedule } from '../../src/chain/forkSchedule.js'
import { parseChainConfig } from '../../src/chain/chainConfig.js'
import { encodeRequest } from '../../src/wire/chunks.js'
import { type FakeBeaconApi, startFakeBeaconApi } from '../helpers/beaconApiServer.js'
import { firstChunk, rawExchange, STATUS_V2 } from '../helpers/beaconPeer.js'
import { CliProcess, runCli } from '../helpers/cli.js'
import { createTestPeer } from '../helpers/peers.js'
import { tempDir } from '../helpers/tmp.js'

const LOOPBACK = ['--listen-address', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--no-discovery']
const cleanup: Array<{ stop?(): unknown; close?(): unknown; kill?(): unknown }> = []
afterEach(async () => {
  for (const c of cleanup.splice(0)) await (c.kill?.() ?? c.stop?.() ?? c.close?.())
})

const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString('hex')}`
const mainnetYaml = readFileSync(new URL('../../config/networks/mainnet.yaml', import.meta.url), 'utf8')
const devnetYaml = mainnetYaml
  .replace(/^PRESET_BASE: .*$/m, 'PRESET_BASE: "minimal"')
  .replace(/^CONFIG_NAME: .*$/m, 'CONFIG_NAME: "apinet"')
  .replace(/^(ALTAIR|BELLATRIX|CAPELLA|DENEB|ELECTRA|FULU)_FORK_EPOCH: .*$/gm, '$1_FORK_EPOCH: 0')
  .replace(/^SECONDS_PER_SLOT: .*$/m, 'SECONDS_PER_SLOT: 2')
  .replace(/^SLOT_DURATION_MS: .*$/m, 'SLOT_DURATION_MS: 2000')

async function api(routes: Record<string, unknown>): Promise<FakeBeaconApi> {
  const server = await startFakeBeaconApi(routes)
  cleanup.push(server)
  return server
}

function start(args: string[]): CliProcess {
  const p = new CliProcess(['start', '--data-dir', tempDir('contower-api-'), ...LOOPBACK, ...args])
  cleanup.push(p)
  return p
}

describe('--beacon-api', () => {
  it('gives a custom network its spec and genesis, and seeds our Status with its finalized checkpoint', async () => {
    const gvr = randomBytes(32)
    const genesisTime = Math.floor(Date.now() / 1000) - 200 // slot 100, epoch 12 on 2 s slots and minimal epochs
    const finalizedRoot = randomBytes(32)
    const headRoot = randomBytes(32)
    const server = await api({
      '/eth/v1/config/spec': parseYaml(devnetYaml, { schema: 'failsafe' }), // strings, as beacon nodes serve it
      '/eth/v1/beacon/genesis': {
        genesis_time: String(genesisTime),
        genesis_validators_root: hex(gvr),
        genesis_fork_version: '0x00000000',
      },
      '/eth/v1/beacon/states/head/finality_checkpoints': { finalized: { epoch: '10', root: hex(finalizedRoot) } },
      '/eth/v1/beacon/headers/head': { root: hex(headRoot), header: { message: { slot: '95' } } },
    })
    const p = start(['--network', 'custom', '--beacon-api', server.url])
    const chain = await p.waitForLog((l) => l.msg === 'chain')
    const schedule = new ForkSchedule(parseChainConfig(devnetYaml, 'apinet'), gvr)
    expect(chain).toMatchObject({
      network: 'apinet',
      preset: 'minimal',
      forkDigest: Buffer.from(schedule.digestAtEpoch(0)).toString('hex'),
    })

    const peer = (await createTestPeer({ muxers: 'mplex', listen: false })) as Libp2p
    cleanup.push(peer)
    await peer.start()
    const addr = multiaddr((await p.listenAddrs())[0])
    const ours = {
      forkDigest: schedule.digestAtEpoch(0),
      finalizedRoot: new Uint8Array(32),
      finalizedEpoch: 0,
      headRoot: new Uint8Array(32),
      headSlot: 0,
      earliestAvailableSlot: 0,
    }
    const reply = await firstChunk(
      await rawExchange(peer, addr, STATUS_V2, encodeRequest(ssz.fulu.Status.serialize(ours))),
      ssz.fulu.Status,
    )
    const theirs = ssz.fulu.Status.deserialize(reply!.ssz!)
    expect(theirs.finalizedEpoch).toBe(10)
    expect(Buffer.from(theirs.finalizedRoot)).toEqual(finalizedRoot)
    expect(theirs.headSlot).toBe(95)
    expect(Buffer.from(theirs.headRoot)).toEqual(headRoot)
  })

  it('refuses a trusted node on another network', async () => {
    const server = await api({
      '/eth/v1/beacon/genesis': {
        genesis_time: '1606824023',
        genesis_validators_root: hex(randomBytes(32)),
        genesis_fork_version: '0x00000000',
      },
    })
    const result = await runCli([
      'start',
      '--network',
      'mainnet',
      '--beacon-api',
      server.url,
      '--data-dir',
      tempDir('contower-api-'),
      ...LOOPBACK,
    ])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`beacon API ${server.url}: serves genesis validators root`)
    expect(result.stderr).toContain("not mainnet's 0x4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95")
  })

  it('starts anyway when a named network’s trusted node is down, and says so', async () => {
    const server = await api({})
    await server.close() // nothing listens there now
    const p = start(['--network', 'mainnet', '--beacon-api', server.url])
    await p.waitForLog((l) => l.msg === 'beacon API seed failed')
    await p.waitForLog((l) => l.msg === 'metrics and health served')
  })

  it('rejects a non-http URL as configuration', async () => {
    const result = await runCli(['start', '--beacon-api', 'ftp://127.0.0.1/'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(
      `invalid value for 'beacon-api' from flag --beacon-api: "ftp://127.0.0.1/" (expected an http:// or https:// URL)`,
    )
  })
})

import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ForkSchedule } from '../../src/chain/forkSchedule.js'
import { parseChainConfig } from '../../src/chain/chainConfig.js'
import { CliProcess, runCli } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

const LOOPBACK = ['--listen-address', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--no-discovery']
const running: CliProcess[] = []
afterEach(() => {
  for (const p of running.splice(0)) p.kill()
})

const dir = tempDir('contower-network-')

/** A local devnet config: minimal preset, every fork through Fulu from genesis, 2 s slots. */
function devnetConfigYaml(): string {
  return readFileSync(new URL('../../config/networks/mainnet.yaml', import.meta.url), 'utf8')
    .replace(/^PRESET_BASE: .*$/m, 'PRESET_BASE: "minimal"')
    .replace(/^CONFIG_NAME: .*$/m, 'CONFIG_NAME: "devnet"')
    .replace(/^(ALTAIR|BELLATRIX|CAPELLA|DENEB|ELECTRA|FULU)_FORK_EPOCH: .*$/gm, '$1_FORK_EPOCH: 0')
    .replace(/^SECONDS_PER_SLOT: .*$/m, 'SECONDS_PER_SLOT: 2')
    .replace(/^SLOT_DURATION_MS: .*$/m, 'SLOT_DURATION_MS: 2000')
}

function start(args: string[]): CliProcess {
  const p = new CliProcess(['start', '--data-dir', tempDir('data-', dir), ...LOOPBACK, ...args])
  running.push(p)
  return p
}

const chainLog = (p: CliProcess) => p.waitForLog((l) => l.msg === 'chain')

describe('networks', () => {
  it('mainnet: the wall-clock fork digest is computed from the preset data and logged', async () => {
    const p = start(['--network', 'mainnet'])
    const chain = await chainLog(p)
    const preset = readFileSync(new URL('../../config/networks/mainnet.yaml', import.meta.url), 'utf8')
    const schedule = new ForkSchedule(
      parseChainConfig(preset, 'mainnet.yaml'),
      Buffer.from('4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95', 'hex'),
    )
    expect(chain).toMatchObject({ network: 'mainnet', preset: 'mainnet' })
    expect(chain.forkDigest).toBe(Buffer.from(schedule.digestAtEpoch(chain.epoch as number)).toString('hex'))
    // The digest doc's vector: BPO2 has been active since epoch 419072.
    if ((chain.epoch as number) >= 419072) expect(chain.forkDigest).toBe('8c9f62fe')
  })

  it('custom from config.yaml + genesis time/root: minimal preset applied to the SSZ types', async () => {
    const configPath = join(dir, 'devnet.yaml')
    writeFileSync(configPath, devnetConfigYaml())
    const gvr = randomBytes(32)
    const genesisTime = Math.floor(Date.now() / 1000) - 60 // 30 slots ago
    const p = start([
      '--network',
      'custom',
      '--chain-config',
      configPath,
      '--genesis-time',
      String(genesisTime),
      '--genesis-validators-root',
      `0x${gvr.toString('hex')}`,
    ])
    const chain = await chainLog(p)
    const expected = new ForkSchedule(parseChainConfig(devnetConfigYaml(), 'devnet'), gvr)
    expect(chain).toMatchObject({ network: 'devnet', preset: 'minimal', fork: 'fulu' })
    expect(chain.slot).toBeGreaterThanOrEqual(29)
    expect(chain.epoch).toBe(Math.floor((chain.slot as number) / 8)) // minimal: 8 slots per epoch
    expect(chain.forkDigest).toBe(Buffer.from(expected.digestAtEpoch(0)).toString('hex'))
  })

  it('custom from config.yaml + genesis.ssz reads genesis time and validators root from the state', async () => {
    const configPath = join(dir, 'devnet2.yaml')
    writeFileSync(configPath, devnetConfigYaml())
    const gvr = randomBytes(32)
    const state = Buffer.alloc(200) // genesis_time u64 LE, then genesis_validators_root, then the rest
    state.writeBigUInt64LE(BigInt(Math.floor(Date.now() / 1000) - 10))
    gvr.copy(state, 8)
    const statePath = join(dir, 'genesis.ssz')
    writeFileSync(statePath, state)
    const p = start(['--network', 'custom', '--chain-config', configPath, '--genesis-state', statePath])
    const chain = await chainLog(p)
    const expected = new ForkSchedule(parseChainConfig(devnetConfigYaml(), 'devnet'), gvr)
    expect(chain.forkDigest).toBe(Buffer.from(expected.digestAtEpoch(0)).toString('hex'))
  })

  it('a bad chain config exits 2 naming the file and key', async () => {
    const configPath = join(dir, 'bad.yaml')
    writeFileSync(configPath, devnetConfigYaml().replace(/^FULU_FORK_VERSION: .*$/m, 'FULU_FORK_VERSION: 0x123'))
    const result = await runCli([
      'start',
      '--network',
      'custom',
      '--chain-config',
      configPath,
      '--genesis-time',
      '0',
      '--genesis-validators-root',
      `0x${'00'.repeat(32)}`,
      ...LOOPBACK,
    ])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(configPath)
    expect(result.stderr).toContain('FULU_FORK_VERSION')
  })
})

import { generateKeyPair } from '@libp2p/crypto/keys'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { Clock } from '../../../src/chain/clock.js'
import { ForkSchedule } from '../../../src/chain/forkSchedule.js'
import { loadNetworkPreset } from '../../../src/chain/networks.js'
import { loadConfig } from '../../../src/config/load.js'
import { Discovery } from '../../../src/discovery/discovery.js'
import { discoveryFromConfig } from '../../../src/discovery/fromConfig.js'
import { tempDir } from '../../helpers/tmp.js'

const mainnet = loadNetworkPreset('mainnet')

async function modules() {
  return {
    privateKey: await generateKeyPair('secp256k1'),
    forkSchedule: new ForkSchedule(mainnet.config, mainnet.genesisValidatorsRoot),
    clock: Clock.fromChainConfig(mainnet.config, mainnet.genesisTime),
    logger: pino({ level: 'silent' }),
    registry: null,
  }
}

function config(flags: Record<string, unknown>, env: Record<string, string> = {}) {
  return loadConfig({ command: 'start', flags: { 'data-dir': tempDir('contower-disc-'), ...flags }, env }).config
}

describe('discoveryFromConfig', () => {
  it('builds nothing with --no-discovery or CONTOWER_DISCOVERY=false (so nothing reaches a bootnode)', async () => {
    expect(
      discoveryFromConfig(await modules(), config({ discovery: false }), { tcpPort: 9000, quicPort: 9001 }),
    ).toBeNull()
    expect(
      discoveryFromConfig(await modules(), config({}, { CONTOWER_DISCOVERY: 'false' }), {
        tcpPort: 9000,
        quicPort: 9001,
      }),
    ).toBeNull()
  })

  it('builds an unstarted service with discovery on (nothing is bound or sent before start)', async () => {
    const discovery = discoveryFromConfig(await modules(), config({ network: 'sepolia' }), {
      tcpPort: 9000,
      quicPort: 9001,
    })
    expect(discovery).toBeInstanceOf(Discovery)
    expect(discovery!.isRunning).toBe(false)
    expect(() => discovery!.enr).toThrow('discovery not started')
  })
})

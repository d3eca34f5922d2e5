import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ENR } from '@chainsafe/enr'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Clock } from '../../../src/chain/clock.js'
import { ForkSchedule } from '../../../src/chain/forkSchedule.js'
import { loadNetworkPreset } from '../../../src/chain/networks.js'
import { main } from '../../../src/cli/index.js'
import { decodeEnrForkId } from '../../../src/discovery/enr.js'
import { ENR_FILE_NAME } from '../../../src/discovery/enrStore.js'
import { tempDir } from '../../helpers/tmp.js'

afterEach(() => {
  vi.restoreAllMocks()
})

/** Runs `contower identity …` in this process and returns its exit code, stdout and stderr. */
async function identity(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true))
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true))
  const code = await main(['identity', ...args], {})
  vi.restoreAllMocks()
  return { code, stdout, stderr }
}

function enrOf(stdout: string): ENR {
  const line = stdout.split('\n').find((l) => l.startsWith('enr '))
  return ENR.decodeTxt(line!.slice(10))
}

describe('contower identity prints our ENR', () => {
  it('with the network’s eth2/nfd for the current epoch, the --enr-* address, and writes nothing', async () => {
    const dir = tempDir('contower-identity-')
    const args = ['--data-dir', dir, '--network', 'hoodi', '--enr-address', '192.0.2.10', '--port', '9100']
    const { code, stdout } = await identity([...args, '--attnets', '1,2', '--custody-group-count', '8'])
    expect(code).toBe(0)
    const enr = enrOf(stdout)
    expect(enr.ip).toBe('192.0.2.10')
    expect(enr.tcp).toBe(9100)
    expect(enr.udp).toBe(9100) // --discovery-port defaults to --port
    const hoodi = loadNetworkPreset('hoodi')
    const epoch = Clock.fromChainConfig(hoodi.config, hoodi.genesisTime).currentEpoch
    const schedule = new ForkSchedule(hoodi.config, hoodi.genesisValidatorsRoot)
    expect(decodeEnrForkId(enr.kvs.get('eth2')!)!.forkDigest).toEqual(schedule.digestAtEpoch(epoch))
    expect(enr.kvs.get('nfd')).toEqual(schedule.nextForkDigest(epoch))
    expect(Buffer.from(enr.kvs.get('cgc')!).toString('hex')).toBe('08')
    expect(stdout).toContain(`peer id   ${enr.peerId.toString()}`)
    expect(existsSync(join(dir, ENR_FILE_NAME))).toBe(false)
  })

  it('without eth2 when a custom network would need --beacon-api, and says why', async () => {
    const dir = tempDir('contower-identity-')
    const { code, stdout, stderr } = await identity([
      '--data-dir',
      dir,
      '--network',
      'custom',
      '--beacon-api',
      'http://127.0.0.1:1/',
    ])
    expect(code).toBe(0)
    const enr = enrOf(stdout)
    expect(enr.kvs.has('eth2')).toBe(false)
    expect(enr.kvs.has('nfd')).toBe(false)
    expect(enr.ip).toBeUndefined() // listen 0.0.0.0 and no --enr-address: discovered at run time
    expect(stderr).toContain('ENR without eth2/nfd')
  })

  it('with ip6, tcp6, udp6 and quic6 (and no IPv4 fields) and /ip6/ listen addresses on an IPv6 listen address', async () => {
    const dir = tempDir('contower-identity-')
    const { code, stdout } = await identity(['--data-dir', dir, '--listen-address', '::1', '--port', '9200'])
    expect(code).toBe(0)
    const enr = enrOf(stdout)
    expect(enr).toMatchObject({ ip6: '::1', tcp6: 9200, udp6: 9200, quic6: 9201 })
    expect([enr.ip, enr.tcp, enr.udp, enr.quic]).toEqual([undefined, undefined, undefined, undefined])
    expect(stdout).toMatch(/^listen {4}\/ip6\/::1\/tcp\/9200\/p2p\/16U/m)
    expect(stdout).toMatch(/^listen {4}\/ip6\/::1\/udp\/9201\/quic-v1\/p2p\/16U/m)
  })

  it('exits 1 naming a corrupt enr.json', async () => {
    const dir = tempDir('contower-identity-')
    const file = join(dir, ENR_FILE_NAME)
    writeFileSync(file, '{"seq": "one"}')
    const { code, stderr } = await identity(['--data-dir', dir])
    expect(code).toBe(1)
    expect(stderr).toContain(`contower: ENR record file ${file} is corrupt`)
  })
})

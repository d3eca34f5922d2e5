import { readFileSync, writeFileSync } from 'node:fs'
import { ENR } from '@chainsafe/enr'
import { describe, expect, it } from 'vitest'
import { NETWORK_PRESET_NAMES } from '../../../src/chain/networks.js'
import { ConfigError } from '../../../src/config/errors.js'
import { bootnodesFile, loadBootnodes, resolveBootnodes } from '../../../src/discovery/bootnodes.js'
import { DiscoveryError, DiscoveryErrorCode } from '../../../src/discovery/errors.js'
import { makeEnr } from '../../helpers/enr.js'
import { tempDir } from '../../helpers/tmp.js'

describe('shipped bootnode files', () => {
  for (const name of NETWORK_PRESET_NAMES) {
    it(`${name}: every entry is a valid, distinct ENR and the source is cited`, () => {
      const enrs = loadBootnodes(name)
      expect(enrs.length).toBeGreaterThanOrEqual(5)
      const nodeIds = enrs.map((text) => ENR.decodeTxt(text).nodeId)
      expect(new Set(nodeIds).size).toBe(enrs.length)
      const header = readFileSync(bootnodesFile(name), 'utf8').split('\n').slice(0, 3).join('\n')
      expect(header).toMatch(
        new RegExp(`https://github\\.com/eth-clients/${name}/blob/[0-9a-f]{40}/metadata/bootstrap_nodes\\.yaml`),
      )
    })
  }
})

describe('loadBootnodes', () => {
  it('names the file and the entry that does not parse', () => {
    const dir = `${tempDir('contower-bootnodes-')}/`
    const file = bootnodesFile('mainnet', dir)
    const good = loadBootnodes('mainnet')[0]!
    writeFileSync(file, `- ${good}\n- enr:-notarecord\n`)
    try {
      loadBootnodes('mainnet', dir)
      expect.unreachable()
    } catch (e) {
      expect(e).toBeInstanceOf(DiscoveryError)
      expect((e as DiscoveryError).code).toBe(DiscoveryErrorCode.INVALID_BOOTNODE_FILE)
      expect((e as DiscoveryError).message).toContain(`bootnode file ${file}: entry 2 is not a valid ENR`)
    }
    writeFileSync(file, 'bootnodes: []\n')
    expect(() => loadBootnodes('mainnet', dir)).toThrow('expected a YAML list of ENRs')
    expect(() => loadBootnodes('sepolia', dir)).toThrow(`bootnode file ${bootnodesFile('sepolia', dir)}`)
  })
})

describe('resolveBootnodes', () => {
  it('uses the network’s list unless --bootnodes replaces it; a custom network has none', async () => {
    expect(resolveBootnodes({ network: 'hoodi' })).toEqual(loadBootnodes('hoodi'))
    const own = (await makeEnr({ ip: '127.0.0.1', udp: 9999 })).text
    expect(resolveBootnodes({ network: 'mainnet', bootnodes: [own] })).toEqual([own])
    expect(resolveBootnodes({ network: 'mainnet', bootnodes: [] })).toEqual([])
    expect(resolveBootnodes({ network: 'custom' })).toEqual([])
  })

  it('refuses a --bootnodes record whose signature does not verify', async () => {
    const own = (await makeEnr({ ip: '127.0.0.1', udp: 9999 })).text
    const tampered = `${own.slice(0, 20)}${own[20] === 'A' ? 'B' : 'A'}${own.slice(21)}`
    expect(() => resolveBootnodes({ network: 'mainnet', bootnodes: [tampered] })).toThrow(ConfigError)
    expect(() => resolveBootnodes({ network: 'mainnet', bootnodes: [tampered] })).toThrow(
      /invalid value for 'bootnodes'/,
    )
  })
})

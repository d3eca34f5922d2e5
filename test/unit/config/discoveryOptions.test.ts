import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../../src/config/errors.js'
import { loadConfig } from '../../../src/config/load.js'
import type { CommandName } from '../../../src/config/options.js'

function load(flags: Record<string, unknown> = {}, env: Record<string, string> = {}, command: CommandName = 'start') {
  return loadConfig({ command, flags, env }).config
}

const ENR_TEXT =
  'enr:-Iu4QLm7bZGdAt9NSeJG0cEnJohWcQTQaI9wFLu3Q7eHIDfrI4cwtzvEW3F3VbG9XdFXlrHyFGeXPn9snTCQJ9bnMRABgmlkgnY0gmlwhAOTJQCJc2VjcDI1NmsxoQIZdZD6tDYpkpEfVo5bgiU8MGRjhcOmHGD2nErK0UKRrIN0Y3CCIyiDdWRwgiMo'

describe('discovery options', () => {
  it('--discovery defaults to true; --no-discovery and CONTOWER_DISCOVERY=false turn it off', () => {
    expect(load().discovery).toBe(true)
    expect(load({ discovery: false }).discovery).toBe(false) // yargs turns --no-discovery into false
    expect(load({}, { CONTOWER_DISCOVERY: 'false' }).discovery).toBe(false)
    expect(load({ discovery: true }, { CONTOWER_DISCOVERY: 'false' }).discovery).toBe(true)
  })

  it('--bootnodes takes comma-separated ENRs and is unset unless given', () => {
    expect(load().bootnodes).toBeUndefined()
    expect(load({ bootnodes: `${ENR_TEXT}, ${ENR_TEXT}` }).bootnodes).toEqual([ENR_TEXT, ENR_TEXT])
    expect(() => load({ bootnodes: '/ip4/1.2.3.4/udp/9000' })).toThrow(ConfigError)
    expect(() => load({}, { CONTOWER_BOOTNODES: 'enr:not base64!' })).toThrow(
      /invalid value for 'bootnodes' from env CONTOWER_BOOTNODES/,
    )
  })

  it('identity takes what our ENR is computed from, but not discovery itself', () => {
    const config = load(
      { 'enr-address': '192.0.2.1', 'enr-udp-port': '9999', attnets: 'all', 'discovery-port': '9002' },
      {},
      'identity',
    )
    expect(config).toMatchObject({ network: 'mainnet', enrAddress: '192.0.2.1', enrUdpPort: 9999, discoveryPort: 9002 })
    expect(config.attnets).toHaveLength(64)
    expect(config.discovery).toBeUndefined()
  })
})

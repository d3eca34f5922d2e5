import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../../src/config/errors.js'
import { loadConfig } from '../../../src/config/load.js'
import { envName, OPTIONS } from '../../../src/config/options.js'
import { tempDir } from '../../helpers/tmp.js'

const dir = tempDir('contower-config-')
function file(name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

function load(flags: Record<string, unknown> = {}, env: Record<string, string> = {}) {
  return loadConfig({ command: 'start', flags, env })
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (e) {
    if (e instanceof ConfigError) return e
    throw e
  }
  throw new Error('expected a ConfigError')
}

describe('loadConfig precedence', () => {
  const yaml = file('c.yaml', 'port: 9100\nmetrics-port: 9101\ntarget-peers: 20\n')

  it('uses defaults when nothing is given', () => {
    const { config } = load()
    expect(config.port).toBe(9000)
    expect(config.discoveryPort).toBe(9000)
    expect(config.metricsAddress).toBe('127.0.0.1')
    expect(config.maxPeers).toBe(55) // target 50 + 10%
  })

  it('file < env < flag', () => {
    const { config } = load({ config: yaml, port: '9300' }, { CONTOWER_PORT: '9200', CONTOWER_METRICS_PORT: '9201' })
    expect(config.port).toBe(9300) // flag beats env and file
    expect(config.metricsPort).toBe(9201) // env beats file
    expect(config.targetPeers).toBe(20) // file beats default
    expect(config.maxPeers).toBe(22)
    expect(config.discoveryPort).toBe(9300) // derived from the winning port
  })

  it('takes the config file path from the environment too, and reads JSON', () => {
    const json = file('c.json', JSON.stringify({ port: 9400, 'static-peers': [] }))
    expect(load({}, { CONTOWER_CONFIG: json }).config.port).toBe(9400)
  })

  it('parses booleans and lists from env and flags', () => {
    expect(load({}, { CONTOWER_METRICS: 'false' }).config.metrics).toBe(false)
    expect(load({ metrics: false }, { CONTOWER_METRICS: 'true' }).config.metrics).toBe(false)
    const peer = '/ip4/127.0.0.1/tcp/9000/p2p/16Uiu2HAkxmcJUH1d2gg61iX8qF92bkxb3VN8GdQxBe7yfQ4d2Pda'
    expect(load({}, { CONTOWER_STATIC_PEERS: ` ${peer} , ${peer}` }).config.staticPeers).toEqual([peer, peer])
  })

  it('refuses a CONTOWER_* variable that names no option, suggesting the closest one', () => {
    expect(() => load({}, { CONTOWER_NETWROK: 'sepolia' })).toThrow(
      "unknown environment variable CONTOWER_NETWROK (did you mean CONTOWER_NETWORK?): CONTOWER_* names options of 'start', see --help",
    )
    expect(() => load({}, { CONTOWER_PROT: '1' })).toThrow('(did you mean CONTOWER_PORT?)')
    expect(() => load({}, { CONTOWER_XYZZY_PLUGH: '1' })).toThrow(
      /^unknown environment variable CONTOWER_XYZZY_PLUGH: /,
    )
  })

  it("only notes a variable of another command's option: one environment may serve several commands", () => {
    expect(load({}, { CONTOWER_SERVING_PEERS: '2' }).warnings).toEqual([
      "environment variable CONTOWER_SERVING_PEERS ignored: an option of 'devnet' only",
    ])
  })

  it('names the closest option for an unknown config-file key, and a YAML error without a dangling colon', () => {
    const typo = file('typo.yaml', 'netwrok: sepolia\n')
    expect(() => load({ config: typo })).toThrow(
      `unknown option 'netwrok' in config file ${typo} (did you mean 'network'?)`,
    )
    const broken = file('broken.yaml', 'port: 9000\nnetwork: [\n')
    expect(() => load({ config: broken })).toThrow(/is not valid YAML or JSON: .* at line \d+, column \d+$/)
  })
})

describe('loadConfig errors name key, value, source and expectation', () => {
  it.each([
    [{ port: '70000' }, {}, `invalid value for 'port' from flag --port: "70000" (expected an integer from 0 to 65535)`],
    [
      {},
      { CONTOWER_NETWORK: 'goerli' },
      `'network' from env CONTOWER_NETWORK: "goerli" (expected one of mainnet, sepolia, hoodi, custom)`,
    ],
    [{}, { CONTOWER_METRICS: 'maybe' }, `'metrics' from env CONTOWER_METRICS: "maybe" (expected true or false)`],
    [
      { 'listen-address': 'localhost' },
      {},
      `'listen-address' from flag --listen-address: "localhost" (expected an IPv4 or IPv6 address such as 127.0.0.1 or ::1)`,
    ],
    [{ 'static-peers': '/ip4/1.2.3' }, {}, `'static-peers' from flag --static-peers: "/ip4/1.2.3"`],
    [
      { 'static-peers': '/ip4/127.0.0.1/tcp/9000' },
      {},
      `"/ip4/127.0.0.1/tcp/9000" (expected comma-separated multiaddrs`,
    ],
    [{ 'target-peers': '0' }, {}, `'target-peers' from flag --target-peers: "0" (expected an integer from 1 to 10000)`],
  ])('%j %j', (flags, env, message) => {
    expect(errorOf(() => load(flags, env)).message).toContain(message)
  })

  it('takes an IPv6 --listen-address from a flag, the env and the file', () => {
    expect(load({ 'listen-address': '::1' }).config.listenAddress).toBe('::1')
    expect(load({}, { CONTOWER_LISTEN_ADDRESS: '::' }).config.listenAddress).toBe('::')
    const config = file('listen6.yaml', 'listen-address: "::1"\n')
    expect(load({ config }).config.listenAddress).toBe('::1')
    expect(errorOf(() => load({}, { CONTOWER_LISTEN_ADDRESS: '::1::2' })).message).toContain(
      `'listen-address' from env CONTOWER_LISTEN_ADDRESS: "::1::2" (expected an IPv4 or IPv6 address`,
    )
  })

  it('takes --custody-group-count as a number from 4 to 128 or auto', () => {
    expect(load({ 'custody-group-count': 'auto' }).config.custodyGroupCount).toBe('auto')
    expect(load({}, { CONTOWER_CUSTODY_GROUP_COUNT: '16' }).config.custodyGroupCount).toBe(16)
    expect(errorOf(() => load({ 'custody-group-count': 'most' })).message).toBe(
      `invalid value for 'custody-group-count' from flag --custody-group-count: "most" (expected an integer from 4 to 128 or auto)`,
    )
  })

  it('names the config file as the source of a bad value', () => {
    const path = file('bad.yaml', 'metrics-port: eighty\n')
    expect(errorOf(() => load({ config: path })).message).toBe(
      `invalid value for 'metrics-port' from config file ${path}: "eighty" (expected an integer from 0 to 65535)`,
    )
  })

  it('rejects unknown keys, unreadable and malformed files', () => {
    expect(errorOf(() => load({ config: file('u.yaml', 'prot: 1\n') })).message).toContain(`unknown option 'prot'`)
    expect(errorOf(() => load({ config: join(dir, 'missing.yaml') })).message).toContain('cannot read config file')
    expect(errorOf(() => load({ config: file('m.yaml', 'port: [\n') })).message).toContain('not valid YAML or JSON')
    expect(errorOf(() => load({ config: file('l.yaml', '- 1\n') })).message).toContain('must hold a mapping')
  })

  it('checks rules across options', () => {
    expect(errorOf(() => load({ 'target-peers': '50', 'max-peers': '10' })).message).toContain(
      `invalid value for 'max-peers' from flag --max-peers: 10 (expected at least target-peers (50))`,
    )
    expect(errorOf(() => load({ network: 'custom' })).key).toBe('chain-config')
    expect(errorOf(() => load({ network: 'custom', 'chain-config': 'c.yaml' })).key).toBe('genesis-state')
    expect(errorOf(() => load({ 'genesis-time': '5' })).message).toContain('only used with --network custom')
  })
})

describe('QUIC options', () => {
  it('listens on --port + 1 by default, on its own port when given, and not at all with --no-quic', () => {
    expect(load().config).toMatchObject({ quic: true, port: 9000, quicPort: 9001 })
    expect(load({ port: '0' }).config).toMatchObject({ quic: true, quicPort: 0 })
    expect(load({ 'quic-port': '9100' }).config.quicPort).toBe(9100)
    expect(load({}, { CONTOWER_QUIC: 'false' }).config.quic).toBe(false)
    expect(load({ quic: false, port: '65535' }).config.quic).toBe(false) // no port + 1 needed then
  })

  it('refuses a QUIC port past 65535 or on the discovery port, naming the key', () => {
    expect(errorOf(() => load({ port: '65535' })).message).toBe(
      `invalid value for 'quic-port' from flag --port: 65536 (expected at most 65535: set quic-port, or no-quic)`,
    )
    const clash = errorOf(() => load({ 'quic-port': '9005', 'discovery-port': '9005' }))
    expect(clash.key).toBe('quic-port')
    expect(clash.message).toContain('a UDP port other than discovery-port (9005)')
  })
})

describe('option data', () => {
  it('gives every option a unique env name and a description', () => {
    const names = OPTIONS.map((o) => envName(o.name))
    expect(new Set(names).size).toBe(names.length)
    for (const o of OPTIONS) expect(o.description.length).toBeGreaterThan(10)
  })
})

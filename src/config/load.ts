import { readFileSync } from 'node:fs'
import { isIP, isIPv4 } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { GLOBAL_QUOTA_KEY, LODESTAR_QUOTAS } from '../spec/quotas.js'
import { parseQuotaSpec, QUOTA_SPEC_FORM } from './quotaSpec.js'
import { ConfigError, describeSource, type ValueSource } from './errors.js'
import { closest } from './closest.js'
import { type CommandName, envName, OPTIONS, type OptionDef, optionsFor } from './options.js'
import type { ContowerConfig } from './types.js'

export interface LoadConfigInput {
  command: CommandName
  /** Values given on the command line, by kebab-case option name; undefined = not given. */
  flags: Record<string, unknown>
  env: Record<string, string | undefined>
}

export interface LoadedConfig {
  config: ContowerConfig
  /** Non-fatal findings, e.g. a CONTOWER_* variable of another command; logged at start. */
  warnings: string[]
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on'])
const FALSE_WORDS = new Set(['false', '0', 'no', 'off'])

function expected(def: OptionDef): string {
  switch (def.type) {
    case 'integer':
      return `an integer${def.min !== undefined ? ` from ${def.min}` : ''}${def.max !== undefined ? ` to ${def.max}` : ''}${def.choices ? ` or ${def.choices.join(', ')}` : ''}`
    case 'boolean':
      return 'true or false'
    case 'enum':
      return `one of ${def.choices?.join(', ')}`
    case 'list':
      return 'a comma-separated list'
    case 'multiaddrs':
      return 'comma-separated multiaddrs such as /ip4/127.0.0.1/tcp/9000/p2p/16Uiu2…'
    case 'hex32':
      return '0x followed by 64 hex digits'
    case 'subnets':
      return `comma-separated subnet ids from 0 to ${(def.max ?? 1) - 1}, or all`
    case 'ipv4':
      return 'an IPv4 address such as 127.0.0.1'
    case 'ip':
      return 'an IPv4 or IPv6 address such as 127.0.0.1 or ::1'
    case 'url':
      return 'an http:// or https:// URL'
    case 'redis-url':
      return 'a redis:// or rediss:// URL such as redis://127.0.0.1:6379'
    case 'string':
      return 'a non-empty string'
    case 'enrs':
      return 'comma-separated ENRs (enr:-…)'
    case 'quotas':
      return `comma-separated ${QUOTA_SPEC_FORM}, with protocol one of ${[...QUOTA_PROTOCOLS].join(', ')}`
  }
}

function splitList(v: unknown): unknown {
  return typeof v === 'string'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
    : v
}

/** A dialable peer address: a multiaddr that names the peer (/p2p/<peer id>). */
function isPeerMultiaddr(s: string): boolean {
  try {
    return multiaddr(s)
      .getComponents()
      .some((c) => c.name === 'p2p')
  } catch {
    return false
  }
}

/** Protocols a quota may name: the req/resp protocols Lodestar limits, and `global` for the all-peers bucket. */
const QUOTA_PROTOCOLS = new Set([...Object.keys(LODESTAR_QUOTAS), GLOBAL_QUOTA_KEY])

function isQuotaSpec(s: string): boolean {
  try {
    return QUOTA_PROTOCOLS.has(parseQuotaSpec(s).protocol)
  } catch {
    return false
  }
}

/** One zod schema per option type; strings from env and flags are coerced here. */
function schemaFor(def: OptionDef): z.ZodType {
  switch (def.type) {
    case 'integer': {
      let n = z.number().int()
      if (def.min !== undefined) n = n.min(def.min)
      if (def.max !== undefined) n = n.max(def.max)
      const words = def.choices ?? []
      const value = words.length > 0 ? z.union([n, z.enum(words as [string, ...string[]])]) : n
      return z.preprocess((v) => (typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v), value)
    }
    case 'boolean':
      return z.preprocess((v) => {
        if (typeof v !== 'string') return v
        const w = v.trim().toLowerCase()
        return TRUE_WORDS.has(w) ? true : FALSE_WORDS.has(w) ? false : v
      }, z.boolean())
    case 'enum':
      return z.enum(def.choices as [string, ...string[]])
    case 'list':
      return z.preprocess(splitList, z.array(z.string().min(1)))
    case 'multiaddrs':
      return z.preprocess(splitList, z.array(z.string().refine(isPeerMultiaddr)))
    case 'hex32':
      return z.string().regex(/^0x[0-9a-fA-F]{64}$/)
    case 'subnets': {
      const count = def.max ?? 0
      return z.preprocess(
        (v) => {
          if (typeof v === 'string' && v.trim() === 'all') return Array.from({ length: count }, (_, i) => i)
          const items = splitList(v)
          return Array.isArray(items)
            ? items.map((x) => (typeof x === 'string' && /^\d+$/.test(x) ? Number(x) : x))
            : items
        },
        z
          .array(
            z
              .number()
              .int()
              .min(0)
              .max(count - 1),
          )
          .transform((ids) => [...new Set(ids)].sort((a, b) => a - b)),
      )
    }
    case 'ipv4':
      return z.string().refine((s) => isIPv4(s))
    case 'ip':
      return z.string().refine((s) => isIP(s) !== 0)
    case 'url':
      return z.string().refine((s) => URL.canParse(s) && ['http:', 'https:'].includes(new URL(s).protocol))
    case 'redis-url':
      return z.string().refine((s) => URL.canParse(s) && ['redis:', 'rediss:'].includes(new URL(s).protocol))
    case 'string':
      return z.string().min(1)
    case 'quotas':
      return z.preprocess(splitList, z.array(z.string().refine(isQuotaSpec)))
    case 'enrs':
      // The form only: signatures are checked where the records are used (discovery/bootnodes.ts).
      return z.preprocess(splitList, z.array(z.string().regex(/^enr:[A-Za-z0-9_-]+$/)))
  }
}

function readConfigFile(path: string, source: ValueSource): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path} (from ${describeSource(source)}): ${(e as Error).message}`)
  }
  let parsed: unknown
  try {
    parsed = parseYaml(text) // YAML 1.2 is a superset of JSON: one parser for both
  } catch (e) {
    // The parser's message ends in a source excerpt after a colon; keep the sentence with its line and column.
    const reason = (e as Error).message.split('\n')[0]!.replace(/:\s*$/, '')
    throw new ConfigError(`config file ${path} is not valid YAML or JSON: ${reason}`)
  }
  if (parsed === null || parsed === undefined) return {}
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path} must hold a mapping of option names to values`)
  }
  return parsed as Record<string, unknown>
}

/**
 * Merges defaults < config file < CONTOWER_* env < CLI flags, validating each value where it enters so the
 * error can say where it came from.
 */
export function loadConfig(input: LoadConfigInput): LoadedConfig {
  const defs = optionsFor(input.command)
  const byName = new Map(defs.map((d) => [d.name, d]))
  const values = new Map<string, { value: unknown; source: ValueSource }>()
  const warnings: string[] = []

  const set = (def: OptionDef, raw: unknown, source: ValueSource) => {
    const parsed = schemaFor(def).safeParse(raw)
    if (!parsed.success) throw ConfigError.invalidValue(def.name, raw, source, expected(def))
    values.set(def.name, { value: parsed.data, source })
  }

  for (const def of defs)
    if (def.default !== undefined) values.set(def.name, { value: def.default, source: { kind: 'default' } })

  // The config file's own path may come from env or flag.
  const configDef = byName.get('config')!
  const configPath =
    input.flags['config'] !== undefined
      ? { raw: input.flags['config'], source: { kind: 'flag', name: 'config' } as ValueSource }
      : input.env[envName('config')] !== undefined
        ? { raw: input.env[envName('config')], source: { kind: 'env', name: envName('config') } as ValueSource }
        : undefined
  if (configPath) {
    set(configDef, configPath.raw, configPath.source)
    const path = values.get('config')!.value as string
    for (const [key, raw] of Object.entries(readConfigFile(path, configPath.source))) {
      const def = byName.get(key)
      if (!def || key === 'config') {
        const near = closest(key, byName.keys())
        throw new ConfigError(
          `unknown option '${key}' in config file ${path}${near ? ` (did you mean '${near}'?)` : ''}: options are kebab-case, see --help`,
          key,
        )
      }
      set(def, raw, { kind: 'file', path })
    }
  }

  const envNames = new Map(defs.map((d) => [envName(d.name), d]))
  for (const [name, raw] of Object.entries(input.env)) {
    if (!name.startsWith('CONTOWER_') || raw === undefined) continue
    const def = envNames.get(name)
    if (!def) {
      // One environment may serve several commands (start and identity in one container): another command's
      // option is only noted. A name that is no option at all is a typo that would silently change nothing.
      const other = OPTIONS.find((d) => envName(d.name) === name)
      if (other) {
        warnings.push(`environment variable ${name} ignored: an option of '${other.commands.join("', '")}' only`)
        continue
      }
      const near = closest(name, envNames.keys())
      throw new ConfigError(
        `unknown environment variable ${name}${near ? ` (did you mean ${near}?)` : ''}: CONTOWER_* names options of '${input.command}', see --help`,
        name,
      )
    }
    if (def.name !== 'config') set(def, raw, { kind: 'env', name })
  }

  for (const def of defs) {
    const raw = input.flags[def.name]
    if (raw !== undefined && def.name !== 'config') set(def, raw, { kind: 'flag', name: def.name })
  }

  return { config: finish(values), warnings }
}

type Values = Map<string, { value: unknown; source: ValueSource }>
type SourceOf = (name: string) => ValueSource

/** Derived defaults and rules that involve more than one option. */
function finish(values: Values): ContowerConfig {
  const config = assemble(values)
  const source: SourceOf = (name) => values.get(name)?.source ?? { kind: 'default' }
  checkPeersAndFleet(config, source)
  checkQuicPort(config, source)
  checkNetwork(config, values, source)
  return config
}

/** The config from the parsed values, with the defaults derived from other options. */
function assemble(values: Values): ContowerConfig {
  const get = <T>(name: string): T | undefined => values.get(name)?.value as T | undefined
  const port = get<number>('port')
  const targetPeers = get<number>('target-peers')
  return {
    network: get('network'),
    chainConfig: get('chain-config'),
    genesisState: get('genesis-state'),
    genesisTime: get('genesis-time'),
    genesisValidatorsRoot: get('genesis-validators-root'),
    beaconApi: get('beacon-api'),
    dataDir: get('data-dir'),
    listenAddress: get('listen-address'),
    port,
    quic: get('quic'),
    quicPort: get('quic-port') ?? (port === 0 ? 0 : port !== undefined ? port + 1 : undefined),
    discovery: get('discovery'),
    discoveryPort: get('discovery-port') ?? port,
    enrAddress: get('enr-address'),
    enrTcpPort: get('enr-tcp-port'),
    enrUdpPort: get('enr-udp-port'),
    bootnodes: get('bootnodes'),
    staticPeers: get('static-peers'),
    targetPeers,
    maxPeers: get('max-peers') ?? (targetPeers !== undefined ? targetPeers + Math.ceil(targetPeers / 10) : undefined),
    attnets: get('attnets'),
    syncnets: get('syncnets'),
    custodyGroupCount: get('custody-group-count'),
    subscribe: get('subscribe'),
    cacheMaxBytes: get('cache-max-bytes'),
    rateLimits: get('rate-limits'),
    fleetRedis: get('fleet-redis'),
    fleetRedisPasswordFile: get('fleet-redis-password-file'),
    metrics: get('metrics'),
    metricsAddress: get('metrics-address'),
    metricsPort: get('metrics-port'),
    fleet: get('fleet'),
    statusInterval: get('status-interval'),
    servingPeers: get('serving-peers'),
    syncingPeers: get('syncing-peers'),
    slotSeconds: get('slot-seconds'),
    historySlots: get('history-slots'),
    blockBytes: get('block-bytes'),
    duration: get('duration'),
    logLevel: get('log-level'),
    logFormat: get('log-format'),
  } as ContowerConfig
}

function checkPeersAndFleet(config: ContowerConfig, source: SourceOf): void {
  const targetPeers = config.targetPeers
  if (config.maxPeers !== undefined && targetPeers !== undefined && config.maxPeers < targetPeers) {
    throw ConfigError.invalidValue(
      'max-peers',
      config.maxPeers,
      source('max-peers'),
      `at least target-peers (${targetPeers})`,
    )
  }
  if (config.fleet !== undefined && config.fleet > 1 && !config.fleetRedis) {
    throw ConfigError.invalidValue('fleet', config.fleet, source('fleet'), `1 unless 'fleet-redis' is set`)
  }
  if (config.fleetRedisPasswordFile && !config.fleetRedis) {
    throw new ConfigError(`'fleet-redis-password-file' is only used with 'fleet-redis'`, 'fleet-redis-password-file')
  }
}

function checkQuicPort(config: ContowerConfig, source: SourceOf): void {
  if (config.quic && config.quicPort !== undefined) {
    if (config.quicPort > 65535) {
      throw ConfigError.invalidValue(
        'quic-port',
        config.quicPort,
        source('port'),
        'at most 65535: set quic-port, or no-quic',
      )
    }
    if (config.quicPort !== 0 && config.quicPort === config.discoveryPort) {
      throw ConfigError.invalidValue(
        'quic-port',
        config.quicPort,
        source('quic-port'),
        `a UDP port other than discovery-port (${config.discoveryPort})`,
      )
    }
  }
}

/** The genesis options belong to --network custom, which needs a chain config and a genesis. */
function checkNetwork(config: ContowerConfig, values: Values, source: SourceOf): void {
  const customOnly = ['chain-config', 'genesis-state', 'genesis-time', 'genesis-validators-root']
  if (config.network !== undefined && config.network !== 'custom') {
    for (const name of customOnly) {
      if (values.has(name)) {
        throw new ConfigError(
          `'${name}' from ${describeSource(source(name))} is only used with --network custom (network is ${config.network})`,
          name,
        )
      }
    }
  }
  if (config.network === 'custom') {
    if (!config.chainConfig && !config.beaconApi) {
      throw new ConfigError(
        `--network custom needs 'chain-config' (a config.yaml file) or 'beacon-api'`,
        'chain-config',
      )
    }
    const hasPair = config.genesisTime !== undefined && config.genesisValidatorsRoot !== undefined
    if (!config.genesisState && !hasPair && !config.beaconApi) {
      throw new ConfigError(
        `--network custom needs 'genesis-state', both 'genesis-time' and 'genesis-validators-root', or 'beacon-api'`,
        'genesis-state',
      )
    }
    if (config.genesisState && (config.genesisTime !== undefined || config.genesisValidatorsRoot !== undefined)) {
      throw new ConfigError(
        `give either 'genesis-state' or 'genesis-time' + 'genesis-validators-root', not both`,
        'genesis-state',
      )
    }
  }
}

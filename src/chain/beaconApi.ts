import { ContowerError } from '../errors.js'
import { stringify as toYaml } from 'yaml'
import type { Logger } from '../logger.js'
import { type ChainConfig, parseChainConfig } from './chainConfig.js'
import type { GenesisData } from './genesis.js'

// A trusted beacon node's standard REST API (ethereum/beacon-APIs), used to seed what Contower cannot know by
// itself: the finalized checkpoint and head before any peer has answered, and a custom network's spec and genesis.

export const BEACON_API_DEFAULTS = {
  /** Each call; a beacon node answers these from memory. */
  timeoutMs: 10_000,
  /** Responses are small JSON documents (the spec is ~20 KB); anything larger is not a beacon node. */
  maxResponseBytes: 1 << 20,
  /** Finality moves once per epoch (6.4 min on mainnet); the head every slot. */
  refreshMs: 60_000,
}

export class BeaconApiError extends ContowerError<'BEACON_API_FAILED'> {
  constructor(
    message: string,
    readonly url: string,
  ) {
    super('BEACON_API_FAILED', `beacon API ${url}: ${message}`)
  }
}

/** The trusted node's view: our Status follows it while peers disagree or are absent. */
export interface ChainSeed {
  finalizedEpoch: number
  finalizedRoot: Uint8Array
  headSlot: number
  headRoot: Uint8Array
}

async function getData(base: string, path: string, opts = BEACON_API_DEFAULTS): Promise<unknown> {
  const url = new URL(path, base).toString()
  let response: Response
  try {
    response = await fetch(url, {
      signal: AbortSignal.timeout(opts.timeoutMs),
      headers: { accept: 'application/json' },
    })
  } catch (e) {
    throw new BeaconApiError((e as Error).message, url)
  }
  if (!response.ok) throw new BeaconApiError(`HTTP ${response.status}`, url)
  const declared = Number(response.headers.get('content-length') ?? 0)
  if (declared > opts.maxResponseBytes) throw new BeaconApiError(`response of ${declared} bytes is too large`, url)
  const text = await response.text()
  if (text.length > opts.maxResponseBytes)
    throw new BeaconApiError(`response of ${text.length} bytes is too large`, url)
  try {
    const body = JSON.parse(text) as { data?: unknown }
    if (body.data === undefined) throw new Error('no "data" field')
    return body.data
  } catch (e) {
    throw new BeaconApiError(`unexpected response: ${(e as Error).message}`, url)
  }
}

function field(obj: unknown, path: string[], url: string): string {
  let value: unknown = obj
  for (const key of path) value = (value as Record<string, unknown> | undefined)?.[key]
  if (typeof value !== 'string') throw new BeaconApiError(`missing ${path.join('.')}`, url)
  return value
}

function root(hex: string, url: string, name: string): Uint8Array {
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) throw new BeaconApiError(`${name} is not a 32-byte hex root: ${hex}`, url)
  return Buffer.from(hex.slice(2), 'hex')
}

function uint(text: string, url: string, name: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw new BeaconApiError(`${name} is not a number: ${text}`, url)
  return Number(text)
}

export async function fetchGenesis(base: string): Promise<GenesisData> {
  const data = await getData(base, '/eth/v1/beacon/genesis')
  return {
    genesisTime: uint(field(data, ['genesis_time'], base), base, 'genesis_time'),
    genesisValidatorsRoot: root(field(data, ['genesis_validators_root'], base), base, 'genesis_validators_root'),
  }
}

/** The node's spec (config values as strings) through the same parser as a config.yaml file. */
export async function fetchChainConfig(base: string): Promise<ChainConfig> {
  const data = await getData(base, '/eth/v1/config/spec')
  return parseChainConfig(toYaml(data), new URL('/eth/v1/config/spec', base).toString())
}

export async function fetchChainSeed(base: string): Promise<ChainSeed> {
  const [finality, header] = await Promise.all([
    getData(base, '/eth/v1/beacon/states/head/finality_checkpoints'),
    getData(base, '/eth/v1/beacon/headers/head'),
  ])
  return {
    finalizedEpoch: uint(field(finality, ['finalized', 'epoch'], base), base, 'finalized.epoch'),
    finalizedRoot: root(field(finality, ['finalized', 'root'], base), base, 'finalized.root'),
    headSlot: uint(field(header, ['header', 'message', 'slot'], base), base, 'header.message.slot'),
    headRoot: root(field(header, ['root'], base), base, 'root'),
  }
}

/** Keeps a fresh ChainSeed from the trusted node; a failed refresh keeps the last one and logs. */
export class BeaconApiSeeder {
  private current: ChainSeed | null = null
  private timer: NodeJS.Timeout | null = null

  constructor(
    private readonly modules: { logger: Logger },
    private readonly opts: { url: string; refreshMs?: number },
  ) {}

  get seed(): ChainSeed | null {
    return this.current
  }

  /** Fetches once (errors logged, not thrown: peers can still tell us the chain), then refreshes. */
  async start(): Promise<void> {
    await this.refresh()
    this.timer = setInterval(() => void this.refresh(), this.opts.refreshMs ?? BEACON_API_DEFAULTS.refreshMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  private async refresh(): Promise<void> {
    try {
      this.current = await fetchChainSeed(this.opts.url)
      this.modules.logger.debug(
        { finalizedEpoch: this.current.finalizedEpoch, headSlot: this.current.headSlot },
        'chain seeded from beacon API',
      )
    } catch (e) {
      this.modules.logger.warn({ err: (e as Error).message }, 'beacon API seed failed')
    }
  }
}

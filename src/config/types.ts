import type { LogFormat, LogLevel } from '../logOptions.js'
import type { NETWORKS } from './options.js'

export type NetworkName = (typeof NETWORKS)[number]

/**
 * The validated, merged configuration. Options that belong to another command are undefined
 * (e.g. `identity` has no ports); see options.ts for meanings and defaults.
 */
export interface ContowerConfig {
  network: NetworkName
  chainConfig?: string
  genesisState?: string
  genesisTime?: number
  genesisValidatorsRoot?: string
  beaconApi?: string
  dataDir: string
  listenAddress: string
  port: number
  /** QUIC beside TCP (start/identity). */
  quic: boolean
  /** UDP port of the QUIC listener (--port + 1 unless given). */
  quicPort: number
  /** discv5 on (start only; undefined for other commands). */
  discovery: boolean
  discoveryPort: number
  enrAddress?: string
  enrTcpPort?: number
  enrUdpPort?: number
  bootnodes?: string[]
  staticPeers: string[]
  targetPeers: number
  maxPeers: number
  attnets: number[]
  syncnets: number[]
  /** A fixed count, or auto: what the connected peers cover together (node.ts). */
  custodyGroupCount: number | 'auto'
  /** --subscribe items as given (parsed once the SSZ preset is set: see node.ts). */
  subscribe: string[]
  cacheMaxBytes: number
  /** protocol:tokens/seconds overrides of the inbound quotas (`global:` for the all-peers bucket). */
  rateLimits: string[]
  /** Redis URL of the fleet (shared cache, bans, upstream load); unset: this instance works alone. */
  fleetRedis?: string
  fleetRedisPasswordFile?: string
  metrics: boolean
  metricsAddress: string
  metricsPort: number
  /** start only: seconds between status lines, 0 for none. */
  statusInterval: number
  /** devnet only */
  fleet: number
  servingPeers: number
  syncingPeers: number
  slotSeconds: number
  historySlots: number
  blockBytes: number
  duration: number
  logLevel: LogLevel
  logFormat: LogFormat
}

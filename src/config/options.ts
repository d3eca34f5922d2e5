import { LOG_FORMATS, LOG_LEVELS } from '../logOptions.js'
// Every configuration option, as data: the CLI, the environment reader, the config-file loader, the
// validator and the README's configuration table are all generated from this one list.

export type OptionType =
  | 'string'
  | 'integer'
  | 'boolean'
  | 'enum'
  | 'list'
  | 'hex32'
  | 'ipv4'
  | 'ip'
  | 'multiaddrs'
  | 'subnets'
  | 'url'
  | 'redis-url'
  | 'quotas'
  | 'enrs'

export type CommandName = 'start' | 'identity' | 'devnet'

export interface OptionDef {
  /** kebab-case name: the CLI flag and the config-file key. The env name is derived from it. */
  name: string
  type: OptionType
  description: string
  /** Absent means "no default": the option is unset unless given. */
  default?: string | number | boolean | readonly string[]
  /** Why the default is what it is (one line; shown in the README). */
  defaultReason?: string
  /** enum: the values; integer: words accepted besides a number (e.g. auto). */
  choices?: readonly string[]
  min?: number
  max?: number
  commands: readonly CommandName[]
}

const ALL: readonly CommandName[] = ['start', 'identity', 'devnet']
const START: readonly CommandName[] = ['start']
/** A node of one's own: the devnet runs on 127.0.0.1 with a throwaway identity. */
const NODE: readonly CommandName[] = ['start', 'identity']
/** Options of the relay itself, which the devnet's Contower takes too. */
const RELAY: readonly CommandName[] = ['start', 'devnet']
const DEVNET: readonly CommandName[] = ['devnet']
const PORT = { min: 0, max: 65535 } as const

export const NETWORKS = ['mainnet', 'sepolia', 'hoodi', 'custom'] as const

export const OPTIONS: readonly OptionDef[] = [
  {
    name: 'config',
    type: 'string',
    description: 'YAML or JSON file with any of these options (kebab-case keys)',
    commands: ALL,
  },
  {
    name: 'network',
    type: 'enum',
    choices: NETWORKS,
    default: 'mainnet',
    defaultReason: 'the network most operators relay for',
    description: 'Beacon network to join; custom needs --chain-config and genesis information',
    commands: NODE,
  },
  {
    name: 'chain-config',
    type: 'string',
    description: 'consensus-specs config.yaml of a custom network (with --network custom)',
    commands: NODE,
  },
  {
    name: 'genesis-state',
    type: 'string',
    description: 'genesis.ssz of a custom network: genesis time and validators root are read from it',
    commands: NODE,
  },
  {
    name: 'genesis-time',
    type: 'integer',
    min: 0,
    description: 'Genesis time (unix seconds) of a custom network, instead of --genesis-state',
    commands: NODE,
  },
  {
    name: 'genesis-validators-root',
    type: 'hex32',
    description: 'Genesis validators root (0x + 64 hex) of a custom network, instead of --genesis-state',
    commands: NODE,
  },
  {
    name: 'beacon-api',
    type: 'url',
    description:
      'REST API of a trusted beacon node: seeds our Status before peers answer, and for custom networks gives the spec and genesis when files are not given',
    commands: NODE,
  },
  {
    name: 'data-dir',
    type: 'string',
    default: '.contower',
    defaultReason: 'relative to the working directory; Docker sets /data',
    description:
      'Directory for the node identity key and enr.json (our ENR’s seq): the only state kept across restarts',
    commands: NODE,
  },
  {
    name: 'listen-address',
    type: 'ip',
    default: '0.0.0.0',
    defaultReason: 'a public relay must be reachable by peers',
    description:
      'IPv4 or IPv6 address the libp2p TCP and QUIC listeners bind to (discv5 binds it too, in its own family)',
    commands: NODE,
  },
  {
    name: 'port',
    type: 'integer',
    ...PORT,
    default: 9000,
    defaultReason: 'the consensus clients’ conventional p2p port',
    description: 'libp2p TCP port (0 picks a free port)',
    commands: ALL,
  },
  {
    name: 'quic',
    type: 'boolean',
    default: true,
    defaultReason: 'Lighthouse and Lodestar serve QUIC; its encryption and multiplexing run in native code',
    description: 'Listen on and dial QUIC (UDP) beside TCP (--no-quic: TCP only)',
    commands: NODE,
  },
  {
    name: 'quic-port',
    type: 'integer',
    ...PORT,
    description: 'libp2p QUIC UDP port [default: --port + 1, as Lighthouse; 0 with --port 0]',
    commands: NODE,
  },
  {
    name: 'discovery',
    type: 'boolean',
    default: true,
    defaultReason: 'a relay must find its own peers',
    description:
      'Find peers with discv5 from the network’s bootnodes (--no-discovery: nothing is sent to any bootnode; use --static-peers)',
    commands: START,
  },
  {
    name: 'discovery-port',
    type: 'integer',
    ...PORT,
    description: 'discv5 UDP port [default: same as --port]',
    commands: NODE,
  },
  {
    name: 'enr-address',
    type: 'ipv4',
    description: 'IPv4 address advertised in our ENR (when the listen address is not the public one)',
    commands: NODE,
  },
  {
    name: 'enr-tcp-port',
    type: 'integer',
    ...PORT,
    description: 'TCP port advertised in our ENR [default: --port]',
    commands: NODE,
  },
  {
    name: 'enr-udp-port',
    type: 'integer',
    ...PORT,
    description: 'UDP port advertised in our ENR [default: --discovery-port]',
    commands: NODE,
  },
  {
    name: 'bootnodes',
    type: 'enrs',
    description: 'Comma-separated ENRs to bootstrap discovery from (replaces the network’s list)',
    commands: START,
  },
  {
    name: 'static-peers',
    type: 'multiaddrs',
    default: [],
    description:
      'Comma-separated multiaddrs (with /p2p/<peer id>) that are always dialled and kept; asked first as upstreams, and while scored low (even banned) last',
    commands: START,
  },
  {
    name: 'target-peers',
    type: 'integer',
    min: 1,
    max: 10_000,
    default: 50,
    defaultReason: 'enough upstream choice for relaying without crowding a small VPS',
    description: 'Number of connected peers the node aims for',
    commands: START,
  },
  {
    name: 'max-peers',
    type: 'integer',
    min: 1,
    max: 10_000,
    description: 'Hard limit on connections [default: target-peers + 10%]',
    commands: START,
  },
  {
    name: 'attnets',
    type: 'subnets',
    max: 64,
    default: [],
    defaultReason: 'advertise only subnets that are actually served',
    description: 'Attestation subnets advertised in MetaData and the ENR: comma-separated ids 0-63, or all',
    commands: NODE,
  },
  {
    name: 'syncnets',
    type: 'subnets',
    max: 4,
    default: [],
    description: 'Sync committee subnets advertised in MetaData and the ENR: comma-separated ids 0-3, or all',
    commands: NODE,
  },
  {
    name: 'custody-group-count',
    type: 'integer',
    min: 4,
    max: 128,
    choices: ['auto'],
    default: 4,
    defaultReason: 'CUSTODY_REQUIREMENT, the least a Fulu node may custody',
    description:
      'Custody group count advertised in MetaData v3 and the ENR (cgc); auto: the largest custody the connected peers cover together (4 to 128), followed as peers come and go',
    commands: NODE,
  },
  {
    name: 'subscribe',
    type: 'list',
    default: ['default'],
    defaultReason:
      'default = beacon_block, beacon_aggregate_and_proof, voluntary_exit, proposer_slashing, attester_slashing, bls_to_execution_change, sync_committee_contribution_and_proof, the light-client updates and, from Gloas, execution_payload, payload_attestation_message, execution_payload_bid and proposer_preferences',
    description:
      'Gossip topics to relay, comma-separated: topic names, beacon_attestation_5, beacon_attestation_0-15, data_column_sidecar_all, default, none; --attnets/--syncnets subnets are added',
    commands: RELAY,
  },
  {
    name: 'cache-max-bytes',
    type: 'integer',
    min: 1_048_576,
    max: 68_719_476_736,
    default: 268_435_456,
    defaultReason: '256 MiB: a few thousand blocks, small next to a VPS’s memory',
    description: 'Byte budget of the relay’s response cache',
    commands: RELAY,
  },
  {
    name: 'fleet-redis',
    type: 'redis-url',
    description:
      'Redis (or Valkey) server shared by a fleet of Contowers: a second cache tier, shared bans and upstream load (redis:// or rediss://, password in the URL or --fleet-redis-password-file)',
    commands: RELAY,
  },
  {
    name: 'fleet-redis-password-file',
    type: 'string',
    description: 'File whose first line is the fleet Redis password (keeps it out of the URL and the environment)',
    commands: RELAY,
  },
  {
    name: 'rate-limits',
    type: 'quotas',
    default: [],
    defaultReason:
      'the quotas Lodestar enforces per peer, except blocks by range at Lighthouse’s 1024/10 so that a node can sync through Contower',
    description:
      'Per-peer inbound quotas replacing the defaults, as protocol:tokens/seconds (e.g. beacon_blocks_by_range:256/10); global:tokens/seconds adds one bucket over all peers',
    commands: RELAY,
  },
  {
    name: 'metrics',
    type: 'boolean',
    default: true,
    defaultReason: 'operators scrape it; it binds to loopback only',
    description: 'Serve Prometheus /metrics and /health (--no-metrics to turn off)',
    commands: RELAY,
  },
  {
    name: 'metrics-address',
    type: 'ipv4',
    default: '127.0.0.1',
    defaultReason: 'nothing is exposed beyond the host unless asked',
    description: 'Address of the metrics and health HTTP server',
    commands: RELAY,
  },
  {
    name: 'metrics-port',
    type: 'integer',
    ...PORT,
    default: 8008,
    defaultReason: 'the port Lodestar and Lighthouse use for metrics',
    description: 'Port of the metrics and health HTTP server',
    commands: RELAY,
  },
  {
    name: 'fleet',
    type: 'integer',
    min: 1,
    max: 8,
    default: 1,
    defaultReason: 'one Contower; more form a fleet and need --fleet-redis',
    description: 'Contowers in the devnet, sharing --fleet-redis; syncing peers are spread over them',
    commands: DEVNET,
  },
  {
    name: 'status-interval',
    type: 'integer',
    min: 0,
    max: 3600,
    default: 30,
    defaultReason: 'often enough to watch, rare enough to read; the consensus clients log about once a slot',
    description: 'Seconds between status lines in the log (0: none); the status page at / is live regardless',
    commands: START,
  },
  {
    name: 'serving-peers',
    type: 'integer',
    min: 1,
    max: 32,
    default: 3,
    defaultReason: 'enough for failover and load balancing to show',
    description: 'Simulated beacon peers that hold the whole chain and serve it',
    commands: DEVNET,
  },
  {
    name: 'syncing-peers',
    type: 'integer',
    min: 0,
    max: 32,
    default: 2,
    defaultReason: 'fewer than the serving peers, so their Status never outvotes the chain',
    description: 'Simulated peers that start at genesis, are connected only to Contower and sync through it',
    commands: DEVNET,
  },
  {
    name: 'slot-seconds',
    type: 'integer',
    min: 1,
    max: 12,
    default: 2,
    defaultReason: 'a new block every 2 s keeps the demo moving',
    description: 'Slot duration of the devnet chain',
    commands: DEVNET,
  },
  {
    name: 'history-slots',
    type: 'integer',
    min: 0,
    max: 4096,
    default: 256,
    defaultReason: 'eight epochs: syncing them under the quotas takes the first few seconds, so the relaying shows',
    description: 'Slots of chain that exist when the devnet starts (its genesis is that far in the past)',
    commands: DEVNET,
  },
  {
    name: 'block-bytes',
    type: 'integer',
    min: 0,
    max: 2_000_000,
    default: 100_000,
    defaultReason: 'the size of a typical mainnet block',
    description: 'Execution-payload transaction bytes per synthetic block',
    commands: DEVNET,
  },
  {
    name: 'duration',
    type: 'integer',
    min: 0,
    max: 86_400,
    default: 0,
    defaultReason: 'run until Ctrl-C',
    description: 'Stop the devnet by itself after this many seconds (0: run until interrupted)',
    commands: DEVNET,
  },
  {
    name: 'log-level',
    type: 'enum',
    choices: LOG_LEVELS,
    default: 'info',
    description: 'Lowest log level written',
    commands: ALL,
  },
  {
    name: 'log-format',
    type: 'enum',
    choices: LOG_FORMATS,
    default: 'auto',
    defaultReason: 'pretty for a person at a terminal, JSON for log collectors',
    description: 'Log format: json, pretty, or auto (pretty on a TTY, JSON otherwise)',
    commands: ALL,
  },
]

export function envName(optionName: string): string {
  return `CONTOWER_${optionName.replaceAll('-', '_').toUpperCase()}`
}

export function camelName(optionName: string): string {
  return optionName.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
}

export function optionsFor(command: CommandName): OptionDef[] {
  return OPTIONS.filter((o) => o.commands.includes(command))
}

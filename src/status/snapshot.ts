import type { Registry } from 'prom-client'

/** One connected peer as the status page lists it (the page is the operator's, so a short peer id is fine). */
export interface PeerRow {
  peer: string
  client: string
  direction: 'inbound' | 'outbound'
  /** Its open connections' transports: `tcp`, `quic`, or `tcp+quic` when it holds one of each. */
  transport: string
  handshaken: boolean
  score: number
  pingMs: number | null
  headSlot: number | null
}

/** What the status line and the status page show: one shape for both, served as /status.json. */
export interface StatusSnapshot {
  version: string
  network: string
  uptimeSeconds: number
  slot: number
  headSlot: number
  peers: { connected: number; inbound: number; outbound: number; handshaken: number; target: number }
  peersByClient: Record<string, number>
  /** Connected peers by their transports (`tcp`, `quic`, `tcp+quic`): each peer counted once. */
  peersByTransport: Record<string, number>
  /** Rates over the last window (windowMs); null without metrics (--no-metrics). */
  relay: { requestsPerSec: number; errorsPerSec: number; cacheHitRatio: number | null } | null
  gossip: { acceptedPerSec: number; rejectedPerSec: number } | null
  /** Subscribed topics at the current fork digest, and how many of them have a mesh peer. */
  mesh: { topics: number; covered: number }
  custody: { groups: number; attnets: number; syncnets: number }
  /** Upstream candidates, best score first. */
  upstreams: PeerRow[]
  /** Why there are no peers, once that has lasted zeroPeerWarningMs; null otherwise. */
  warning: string | null
}

export interface StatusSources {
  registry: Registry | null
  version: string
  network: string
  startedAtMs: number
  slot: () => number
  headSlot: () => number
  peers: () => Iterable<Omit<PeerRow, 'score'>>
  score: (peer: string) => number
  targetPeers: number
  mesh: () => { topics: number; covered: number }
  custody: { groups: number; attnets: number; syncnets: number }
  /** null when discovery is off. */
  discovery: () => { running: boolean; tableSize: number } | null
  staticPeers: number
  discoveryPort: number
  now?: () => number
}

export const STATUS_DEFAULTS = {
  /** Rates are taken over this much history, sampled every sampleMs. */
  windowMs: 30_000,
  sampleMs: 5_000,
  /** How long zero peers may last before the status says why. */
  zeroPeerWarningMs: 60_000,
}
const UPSTREAM_ROWS = 50

/** Request results that answered the requester; every other result is an error of some kind. */
const RELAY_ANSWERED = new Set(['success', 'cache_hit', 'coalesced'])

interface Totals {
  atMs: number
  requests: number
  errors: number
  cacheHits: number
  cacheMisses: number
  accepted: number
  rejected: number
}

/**
 * Samples the counters the status shows and turns them into rates, and tracks how long the node has had no peer.
 * The counters are read from the metrics registry, so the status says exactly what /metrics says.
 */
export class StatusService {
  private readonly samples: Totals[] = []
  private timer: NodeJS.Timeout | null = null
  private zeroPeersSinceMs: number | null
  private readonly opts: typeof STATUS_DEFAULTS

  constructor(
    private readonly sources: StatusSources,
    opts: Partial<typeof STATUS_DEFAULTS> = {},
  ) {
    this.opts = { ...STATUS_DEFAULTS, ...opts }
    this.zeroPeersSinceMs = this.now()
  }

  private now(): number {
    return this.sources.now?.() ?? Date.now()
  }

  start(): void {
    void this.sample()
    this.timer = setInterval(() => void this.sample(), this.opts.sampleMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  async snapshot(): Promise<StatusSnapshot> {
    const s = this.sources
    const now = this.now()
    const rows: PeerRow[] = []
    const peersByClient: Record<string, number> = {}
    const peersByTransport: Record<string, number> = {}
    let inbound = 0
    let handshaken = 0
    for (const p of s.peers()) {
      rows.push({ ...p, score: Math.round(s.score(p.peer) * 100) / 100 })
      peersByClient[p.client] = (peersByClient[p.client] ?? 0) + 1
      peersByTransport[p.transport] = (peersByTransport[p.transport] ?? 0) + 1
      if (p.direction === 'inbound') inbound++
      if (p.handshaken) handshaken++
    }
    const connected = rows.length
    if (connected > 0) this.zeroPeersSinceMs = null
    else this.zeroPeersSinceMs ??= now
    rows.sort((a, b) => Number(b.handshaken) - Number(a.handshaken) || b.score - a.score)

    const totals = await this.totals(now)
    const base = this.samples.find((x) => now - x.atMs <= this.opts.windowMs) ?? this.samples[0]
    const perSec = (pick: (t: Totals) => number) =>
      totals && base && now > base.atMs ? round((pick(totals) - pick(base)) / ((now - base.atMs) / 1000)) : 0
    const lookups = totals && base ? totals.cacheHits - base.cacheHits + (totals.cacheMisses - base.cacheMisses) : 0

    return {
      version: s.version,
      network: s.network,
      uptimeSeconds: Math.round((now - s.startedAtMs) / 1000),
      slot: s.slot(),
      headSlot: s.headSlot(),
      peers: { connected, inbound, outbound: connected - inbound, handshaken, target: s.targetPeers },
      peersByClient,
      peersByTransport,
      relay: totals && {
        requestsPerSec: perSec((t) => t.requests),
        errorsPerSec: perSec((t) => t.errors),
        cacheHitRatio: lookups > 0 ? round((totals.cacheHits - base!.cacheHits) / lookups) : null,
      },
      gossip: totals && { acceptedPerSec: perSec((t) => t.accepted), rejectedPerSec: perSec((t) => t.rejected) },
      mesh: s.mesh(),
      custody: s.custody,
      upstreams: rows.slice(0, UPSTREAM_ROWS),
      warning:
        this.zeroPeersSinceMs !== null && now - this.zeroPeersSinceMs >= this.opts.zeroPeerWarningMs
          ? await this.zeroPeerReason(now - this.zeroPeersSinceMs)
          : null,
    }
  }

  /** Records the counters now (every sampleMs once started; tests call it directly). */
  async sample(): Promise<void> {
    const totals = await this.totals(this.now())
    if (!totals) return
    this.samples.push(totals)
    // Keep one sample older than the window, so a rate always spans a whole window once there is one.
    while (this.samples.length > 2 && totals.atMs - this.samples[1]!.atMs >= this.opts.windowMs) this.samples.shift()
  }

  private async totals(atMs: number): Promise<Totals | null> {
    if (!this.sources.registry) return null
    const sum = (name: string, where?: (labels: Record<string, string | number>) => boolean) =>
      counterSum(this.sources.registry!, name, where)
    const [requests, errors, cacheHits, cacheMisses, accepted, rejected] = await Promise.all([
      sum('contower_relay_requests_total'),
      sum('contower_relay_requests_total', (l) => !RELAY_ANSWERED.has(String(l.result))),
      sum('contower_relay_cache_hits_total'),
      sum('contower_relay_cache_misses_total'),
      sum('contower_gossip_accepted_total'),
      sum('contower_gossip_rejected_total'),
    ])
    return { atMs, requests, errors, cacheHits, cacheMisses, accepted, rejected }
  }

  /** The most likely reason for having no peer, from what discovery and the peer manager counted. */
  private async zeroPeerReason(forMs: number): Promise<string> {
    const s = this.sources
    const since = `no peers for ${Math.round(forMs / 1000)} s`
    const discovery = s.discovery()
    if (!discovery && s.staticPeers === 0) return `${since}: discovery is off and no --static-peers are given`
    if (discovery && !discovery.running) return `${since}: discovery is not running`
    if (discovery && discovery.tableSize === 0) {
      return `${since}: no bootnode answered (the discv5 table is empty): check that UDP ${s.discoveryPort} can reach the internet and the --bootnodes`
    }
    if (!s.registry) return `${since}: run with metrics on for the dial counts`
    const sum = (name: string, where?: (labels: Record<string, string | number>) => boolean) =>
      counterSum(s.registry!, name, where)
    const [offered, queued, waiting, dials, dialled] = await Promise.all([
      sum('contower_peer_candidates_total'),
      sum('contower_peer_candidates_total', (l) => l.verdict === 'queued'),
      sum('contower_peer_candidates_total', (l) =>
        ['cooling_down', 'dial_backoff', 'banned', 'bad_score'].includes(String(l.verdict)),
      ),
      sum('contower_peer_dials_total'),
      sum('contower_peer_dials_total', (l) => l.outcome === 'success'),
    ])
    if (offered === 0) {
      return `${since}: nothing dialable: discovery knows ${discovery?.tableSize ?? 0} nodes but none on this fork with a TCP address`
    }
    if (queued === 0 && waiting > 0) {
      return `${since}: all ${offered} candidates are cooling down, banned or backing off after failed dials`
    }
    if (dials > 0 && dialled === 0) {
      return `${since}: ${dials} dials, none answered: check that outbound TCP is allowed`
    }
    return `${since}: ${dialled} dials succeeded but no peer stayed (see contower_handshakes_total and contower_goodbyes_total)`
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100
}

/** A counter's value summed over the series whose labels pass `where`; 0 when the metric is not registered. */
async function counterSum(
  registry: Registry,
  name: string,
  where?: (labels: Record<string, string | number>) => boolean,
): Promise<number> {
  const metric = registry.getSingleMetric(name)
  if (!metric) return 0
  const { values } = await metric.get()
  let total = 0
  for (const v of values) if (!where || where(v.labels as Record<string, string | number>)) total += v.value
  return total
}

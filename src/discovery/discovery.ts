import type { ENR } from '@chainsafe/enr'
import type { PrivateKey } from '@libp2p/interface'
import { isIPv6 } from 'node:net'
import { LRUCache } from 'lru-cache'
import type { Registry } from 'prom-client'
import type { Clock } from '../chain/clock.js'
import type { ForkSchedule } from '../chain/forkSchedule.js'
import type { Logger } from '../logger.js'
import { Discv5Node, probeUdpPort } from './discv5.js'
import { ENR_KEY, eth2Kvs, forkFields, localEnrKvs, type LocalEnrFields } from './enr.js'
import { EnrStore, signLocalEnr } from './enrStore.js'
import { acceptedDigests, classifyEnr, type DiscoveredPeer } from './filter.js'
import { createDiscoveryMetrics, type DiscoveryMetrics } from './metrics.js'

export const DISCOVERY_DEFAULTS = {
  /** A random lookup this often keeps the table fresh and finds new peers even when nobody asks. */
  lookupIntervalMs: 30_000,
  /** requestMorePeers() comes from heartbeats and dial failures: calls closer than this share one lookup. */
  minLookupGapMs: 2_000,
  /** discv5's default is 60 s; a lookup still running after this has found what it will. */
  lookupTimeoutMs: 30_000,
  /**
   * Log2 distances a lookup asks each node for (discv5's default, 3: the random target's distance and its two
   * neighbours). Enough where many nodes hold records. Where one bootnode holds them all (a devnet, a private
   * network), a record k levels below the farthest is returned by about one lookup in 2^k: more distances reach it.
   */
  lookupDistances: 3,
  /** discv5's default per UDP request. */
  requestTimeoutMs: 1_000,
  /** discv5's default: peers that must agree on our external address before our ENR takes it. */
  addrVotesToUpdateEnr: 10,
  /**
   * One lookup returns the same record from several peers: a record (node id + seq) seen within this is skipped.
   * Kept short, so a peer found again is offered again and the peer manager's dial backoff (5 s, doubling) alone
   * decides when a peer whose dial failed is tried next.
   */
  seenTtlMs: 5_000,
  seenMaxEntries: 10_000,
  /** Accepted peers kept for knownPeers(): enough to refill a 200-peer target a few times. */
  candidateMaxEntries: 1_000,
  candidateTtlMs: 30 * 60_000,
  /** Records in the DHT update lazily after a fork: keep accepting the previous digest this long (~51 min). */
  previousDigestGraceEpochs: 8,
  /** Accept the next digest one epoch before its fork (clock skew, early updates). */
  nextDigestLeadEpochs: 1,
}

export interface DiscoveryModules {
  /** The identity key (secp256k1): signs our ENR, keys discv5 sessions. */
  privateKey: PrivateKey
  forkSchedule: ForkSchedule
  clock: Clock
  logger: Logger
  registry: Registry | null
}

export interface DiscoveryOpts {
  /** Where `enr.json` (our ENR's seq and signed fields) lives. */
  dataDir: string
  /** Address the UDP socket binds to (the libp2p listen address, IPv4 or IPv6). */
  listenAddress: string
  /** UDP port to bind; 0 picks a free one (then advertised unless enrUdpPort is set). */
  discoveryPort: number
  /** The libp2p TCP port actually listening (pass the bound port when --port is 0); 0 = none to advertise. */
  tcpPort: number
  /** The libp2p QUIC port actually listening; 0 = none to advertise (--no-quic). */
  quicPort: number
  enrAddress?: string
  enrTcpPort?: number
  enrUdpPort?: number
  /** ENRs to start from (resolveBootnodes). */
  bootnodes: readonly string[]
  attnets: readonly number[]
  syncnets: readonly number[]
  custodyGroupCount: number
  tuning?: Partial<typeof DISCOVERY_DEFAULTS>
}

export type DiscoveredListener = (peer: DiscoveredPeer) => void

export type EnrAddressing = Pick<LocalEnrFields, 'ip' | 'tcp' | 'udp' | 'quic' | 'ip6' | 'tcp6' | 'udp6' | 'quic6'>

/**
 * The addresses our ENR advertises: `--enr-*` first, else the listen address and ports when specific. QUIC is
 * advertised on the port it listens on (as Lighthouse and Lodestar do without an override). An IPv6 listen address
 * fills `ip6`/`tcp6`/`udp6`/`quic6` instead; `--enr-address` (IPv4) still sets `ip` beside them, as a `::` listener
 * takes IPv4 too.
 */
export function enrAddressing(opts: {
  listenAddress: string
  tcpPort: number
  udpPort: number
  quicPort: number
  enrAddress?: string
  enrTcpPort?: number
  enrUdpPort?: number
}): EnrAddressing {
  const v6 = isIPv6(opts.listenAddress)
  const specific = opts.listenAddress !== '0.0.0.0' && opts.listenAddress !== '::'
  const ip = opts.enrAddress ?? (specific && !v6 ? opts.listenAddress : undefined)
  const ip6 = specific && v6 ? opts.listenAddress : undefined
  const tcp = opts.enrTcpPort ?? (opts.tcpPort !== 0 ? opts.tcpPort : undefined)
  const udp = opts.enrUdpPort ?? (opts.udpPort !== 0 ? opts.udpPort : undefined)
  const quic = opts.quicPort !== 0 ? opts.quicPort : undefined
  const out: EnrAddressing = {}
  if (!v6 || opts.enrAddress !== undefined) Object.assign(out, { ip, tcp, udp, quic })
  if (v6) Object.assign(out, { ip6, tcp6: tcp, udp6: udp, quic6: quic })
  for (const key of Object.keys(out) as (keyof EnrAddressing)[]) if (out[key] === undefined) delete out[key]
  return out
}

/**
 * discv5 on `--discovery-port`: publishes our ENR, starts from the bootnodes, runs random lookups (one at a
 * time, on an interval and on request), and passes on records of dialable beacon peers on our fork.
 */
export class Discovery {
  private readonly tuning: typeof DISCOVERY_DEFAULTS
  private readonly store: EnrStore
  private readonly metrics: DiscoveryMetrics | null
  private readonly listeners = new Set<DiscoveredListener>()
  private readonly seen: LRUCache<string, bigint>
  private readonly candidates: LRUCache<string, DiscoveredPeer>
  private node: Discv5Node | null = null
  private running = false
  private stopping: Promise<void> | null = null
  private timer: NodeJS.Timeout | null = null
  private timerDueMs = 0
  private lookupInFlight = false
  private lookupWanted = false
  private lastLookupEndMs = 0
  private forkEpoch = -1
  private unsubscribeEpoch: (() => void) | null = null
  private subnets: { attnets: readonly number[]; syncnets: readonly number[]; custodyGroupCount: number }

  constructor(
    private readonly modules: DiscoveryModules,
    private readonly opts: DiscoveryOpts,
  ) {
    this.tuning = { ...DISCOVERY_DEFAULTS, ...opts.tuning }
    this.store = new EnrStore(opts.dataDir)
    this.subnets = { attnets: opts.attnets, syncnets: opts.syncnets, custodyGroupCount: opts.custodyGroupCount }
    this.seen = new LRUCache({ max: this.tuning.seenMaxEntries, ttl: this.tuning.seenTtlMs })
    this.candidates = new LRUCache({ max: this.tuning.candidateMaxEntries, ttl: this.tuning.candidateTtlMs })
    this.metrics = modules.registry
      ? createDiscoveryMetrics(modules.registry, {
          tableSize: () => this.tableSize,
          enrSeq: () => Number(this.node?.enr.seq ?? 0),
        })
      : null
  }

  /** Our ENR as text (`enr:-…`). */
  get enr(): string {
    return this.started.enr.encodeTxt()
  }

  get enrSeq(): bigint {
    return this.started.enr.seq
  }

  get nodeId(): string {
    return this.started.enr.nodeId
  }

  /** The UDP port discv5 listens on. */
  get udpPort(): number {
    return this.started.udpPort
  }

  get isRunning(): boolean {
    return this.running
  }

  get tableSize(): number {
    return this.node?.tableSize ?? 0
  }

  /** Calls `listener` for each accepted peer as it is discovered; returns an unsubscribe function. */
  onDiscovered(listener: DiscoveredListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Accepted peers seen recently (newest first) whose fork digest is still accepted. */
  knownPeers(): DiscoveredPeer[] {
    const digests = this.digests()
    return [...this.candidates.values()].filter((p) => digests.has(p.forkDigest))
  }

  /** Starts a lookup soon (coalesced: one runs at a time, at least minLookupGapMs apart). */
  requestMorePeers(): void {
    if (!this.running) return
    if (this.lookupInFlight) {
      this.lookupWanted = true
      return
    }
    this.schedule(Math.max(0, this.lastLookupEndMs + this.tuning.minLookupGapMs - Date.now()))
  }

  /** Publishes changed subnets or custody group count (bumps and persists seq when a value changes). */
  updateLocalFields(fields: { attnets?: number[]; syncnets?: number[]; custodyGroupCount?: number }): void {
    this.subnets = { ...this.subnets, ...fields }
    this.applyKvs(eth2Kvs(this.subnets))
  }

  async start(): Promise<void> {
    if (this.running || this.stopping) return
    const { modules, opts, tuning } = this
    // Resolve --discovery-port 0 first, so the record is signed once with the port actually used.
    const udpPort = await probeUdpPort(opts.listenAddress, opts.discoveryPort)
    const addressing = enrAddressing({ ...opts, udpPort })
    const epoch = modules.clock.currentEpoch
    const kvs = localEnrKvs(modules.privateKey, {
      ...addressing,
      ...forkFields(modules.forkSchedule, epoch),
      ...this.subnets,
    })
    const { enr, changed } = signLocalEnr(modules.privateKey, kvs, this.store, { persist: true })
    this.forkEpoch = epoch
    this.node = await Discv5Node.start(
      {
        privateKey: modules.privateKey,
        enr,
        bindAddress: opts.listenAddress,
        port: udpPort,
        // Lodestar's rule: learn our address from peers' votes only when we were not told it.
        enrUpdate: addressing.ip === undefined && addressing.ip6 === undefined,
        addrVotesToUpdateEnr: tuning.addrVotesToUpdateEnr,
        requestTimeoutMs: tuning.requestTimeoutMs,
        lookupTimeoutMs: tuning.lookupTimeoutMs,
        lookupDistances: tuning.lookupDistances,
      },
      {
        discovered: (record) => this.onRecord(record),
        enrAdded: (record) => this.onRecord(record),
        addressUpdated: (addr) => {
          modules.logger.info({ ...addr, seq: this.node?.enr.seq.toString() }, 'ENR address updated from peer votes')
          this.persist()
        },
        socketError: (err) => modules.logger.warn({ err: err.message }, 'discv5 socket error'),
      },
    )
    this.running = true
    for (const bootnode of opts.bootnodes) this.node.addEnr(bootnode)
    this.unsubscribeEpoch = modules.clock.onEpoch((e) => this.refreshForkFields(e))
    modules.logger.info(
      {
        enr: this.enr,
        seq: this.enrSeq.toString(),
        seqBumped: changed,
        udp: `${opts.listenAddress}:${this.node.udpPort}`,
        bootnodes: opts.bootnodes.length,
      },
      'discv5 started',
    )
    if (opts.bootnodes.length === 0) {
      modules.logger.warn('discovery has no bootnodes: only peers that find us will be discovered')
    }
    this.schedule(0)
  }

  /** Stops lookups and the socket; idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.stopNode()
    return this.stopping
  }

  private async stopNode(): Promise<void> {
    this.running = false
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.unsubscribeEpoch?.()
    this.unsubscribeEpoch = null
    await this.node?.stop()
  }

  private get started(): Discv5Node {
    if (!this.node) throw new Error('discovery not started')
    return this.node
  }

  private digests(): Set<string> {
    return acceptedDigests(this.modules.forkSchedule, this.modules.clock.currentEpoch, this.tuning)
  }

  private onRecord(record: ENR): void {
    if (!this.running) return
    const nodeId = record.nodeId
    if (this.seen.get(nodeId) === record.seq) return
    this.seen.set(nodeId, record.seq)
    const verdict = classifyEnr(record, { selfNodeId: this.started.enr.nodeId, digests: this.digests() })
    this.metrics?.enrs.inc({ outcome: verdict.outcome })
    if (verdict.outcome !== 'accepted') return
    this.candidates.set(nodeId, verdict.peer)
    for (const listener of this.listeners) {
      try {
        listener(verdict.peer)
      } catch (err) {
        this.modules.logger.warn({ err: (err as Error).message }, 'discovered-peer listener failed')
      }
    }
  }

  /** Clock.onEpoch, and before each lookup (the clock may not be running): eth2/nfd change at fork boundaries. */
  private refreshForkFields(epoch: number): void {
    if (!this.node || epoch === this.forkEpoch) return
    this.forkEpoch = epoch
    const { eth2, nfd } = forkFields(this.modules.forkSchedule, epoch)
    this.applyKvs(
      new Map([
        [ENR_KEY.eth2, eth2],
        [ENR_KEY.nfd, nfd],
      ]),
    )
  }

  /** Sets the values that differ (each set bumps seq) and persists the new record. */
  private applyKvs(kvs: ReadonlyMap<string, Uint8Array>): void {
    const node = this.node
    if (!node) return
    let changed = false
    for (const [key, value] of kvs) {
      const current = node.enr.kvs.get(key)
      if (current && Buffer.compare(current, value) === 0) continue
      node.enr.set(key, value)
      changed = true
    }
    if (!changed) return
    this.persist()
    this.modules.logger.info({ enr: node.enr.encodeTxt(), seq: node.enr.seq.toString() }, 'ENR updated')
  }

  private persist(): void {
    const enr = this.node?.enr
    if (!enr) return
    try {
      this.store.save({ seq: enr.seq, kvs: enr.kvs })
    } catch (err) {
      // Running on with an unsaved seq only risks a lower seq after a restart: log, do not stop.
      this.modules.logger.error({ err: (err as Error).message }, 'cannot persist ENR seq')
    }
  }

  private schedule(delayMs: number): void {
    if (!this.running) return
    const due = Date.now() + delayMs
    if (this.timer) {
      if (this.timerDueMs <= due) return
      clearTimeout(this.timer)
    }
    this.timerDueMs = due
    this.timer = setTimeout(() => {
      this.timer = null
      void this.lookup()
    }, delayMs)
  }

  private async lookup(): Promise<void> {
    if (!this.running || this.lookupInFlight) return
    this.refreshForkFields(this.modules.clock.currentEpoch)
    this.lookupInFlight = true
    this.lookupWanted = false
    try {
      const found = await this.started.findRandomNode()
      this.metrics?.lookups.inc({ result: 'ok' })
      this.modules.logger.debug({ found: found.length, table: this.tableSize }, 'discv5 lookup done')
    } catch (err) {
      this.metrics?.lookups.inc({ result: 'error' })
      this.modules.logger.debug({ err: (err as Error).message }, 'discv5 lookup failed')
    } finally {
      this.lookupInFlight = false
      this.lastLookupEndMs = Date.now()
    }
    this.schedule(this.lookupWanted ? this.tuning.minLookupGapMs : this.tuning.lookupIntervalMs)
  }
}

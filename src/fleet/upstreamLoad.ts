import type { FleetMetrics } from './metrics.js'
import type { RedisLink } from './redisLink.js'

export const UPSTREAM_LOAD_DEFAULTS = {
  /** How often each instance tells the fleet which upstreams it is using. */
  announceIntervalMs: 2_000,
  /** A report older than three announcements is from an instance that left or lost Redis. */
  staleAfterMs: 6_000,
  /** Bounds what one report may make us hold. */
  maxPeersPerReport: 256,
  maxInstances: 64,
}

interface Report {
  atMs: number
  load: Map<string, number>
}

/**
 * Coordinated upstream load, best effort: every instance announces how many requests it has open at each upstream;
 * the others count those in their choice (see UpstreamSelector's rank), so two instances that would both pick the
 * same best peer spread over distinct ones instead. Announcements are pub/sub: nothing is stored.
 */
export class UpstreamLoad {
  private readonly opts: typeof UPSTREAM_LOAD_DEFAULTS
  private readonly channel: string
  private readonly reports = new Map<string, Report>()
  private timer: NodeJS.Timeout | null = null

  constructor(
    private readonly modules: {
      link: RedisLink
      /** Our open upstream requests, by upstream peer id. */
      ownLoad: () => ReadonlyMap<string, number>
      metrics: FleetMetrics | null
      now?: () => number
    },
    namespace: string,
    private readonly instanceId: string,
    opts: Partial<typeof UPSTREAM_LOAD_DEFAULTS> = {},
  ) {
    this.opts = { ...UPSTREAM_LOAD_DEFAULTS, ...opts }
    this.channel = `${namespace}:load`
  }

  start(): void {
    this.modules.link.subscriber.on('messageBuffer', this.onMessage)
    void this.modules.link.subscriber.subscribe(this.channel).catch(() => {})
    this.timer = setInterval(() => this.announce(), this.opts.announceIntervalMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    this.modules.link.subscriber.off('messageBuffer', this.onMessage)
  }

  /** Requests the other instances have open at `peer`, from their fresh reports. */
  elsewhere(peer: string): number {
    const now = this.now()
    let sum = 0
    for (const [id, report] of this.reports) {
      if (now - report.atMs > this.opts.staleAfterMs) this.reports.delete(id)
      else sum += report.load.get(peer) ?? 0
    }
    return sum
  }

  announce(): void {
    if (this.modules.link.state !== 'up') return
    const upstreams = [...this.modules.ownLoad()].filter(([, n]) => n > 0).slice(0, this.opts.maxPeersPerReport)
    const message = JSON.stringify({ v: 1, from: this.instanceId, upstreams })
    this.modules.link.commands.publish(this.channel, message).catch(() => {})
  }

  private now(): number {
    return this.modules.now?.() ?? Date.now()
  }

  private readonly onMessage = (channel: Buffer, message: Buffer): void => {
    if (channel.toString() !== this.channel) return
    const report = parseReport(message, this.opts.maxPeersPerReport)
    if (!report) {
      this.modules.metrics?.invalidData.inc({ source: 'load', reason: 'format' })
      return
    }
    if (report.from === this.instanceId) return
    if (!this.reports.has(report.from) && this.reports.size >= this.opts.maxInstances) return
    this.reports.set(report.from, { atMs: this.now(), load: report.load })
  }
}

function parseReport(message: Buffer, maxPeers: number): { from: string; load: Map<string, number> } | null {
  if (message.byteLength > 64 * 1_024) return null
  let e: { v?: unknown; from?: unknown; upstreams?: unknown }
  try {
    e = JSON.parse(message.toString('utf8'))
  } catch {
    return null
  }
  if (e?.v !== 1 || typeof e.from !== 'string' || !Array.isArray(e.upstreams) || e.upstreams.length > maxPeers) {
    return null
  }
  const load = new Map<string, number>()
  for (const item of e.upstreams) {
    if (!Array.isArray(item) || typeof item[0] !== 'string' || !Number.isSafeInteger(item[1]) || item[1] < 0) {
      return null
    }
    load.set(item[0], item[1])
  }
  return { from: e.from, load }
}

import type { Logger } from '../logger.js'
import type { StatusService, StatusSnapshot } from './snapshot.js'

export const STATUS_LINE_DEFAULTS = {
  /** As often as operators read it; the consensus clients log once a slot or so. */
  intervalMs: 30_000,
  firstLineMs: 10_000,
}

/** The snapshot as one human line; the same numbers go into the log line's fields. */
export function formatStatus(s: StatusSnapshot): string {
  const byTransport = (t: string) => s.peersByTransport[t] ?? 0
  const parts = [
    `slot ${s.slot} head ${s.headSlot}`,
    `peers ${s.peers.connected}/${s.peers.target} (${s.peers.inbound} in, ${s.peers.outbound} out, ${s.peers.handshaken} handshaken)`,
    `tcp ${byTransport('tcp')} quic ${byTransport('quic')} both ${byTransport('tcp+quic')}`,
  ]
  if (s.relay) {
    const hit = s.relay.cacheHitRatio === null ? '-' : `${Math.round(s.relay.cacheHitRatio * 100)}%`
    parts.push(`relay ${s.relay.requestsPerSec} req/s ${s.relay.errorsPerSec} err/s cache ${hit}`)
  }
  if (s.gossip) parts.push(`gossip ${s.gossip.acceptedPerSec} accepted/s ${s.gossip.rejectedPerSec} rejected/s`)
  parts.push(
    `mesh ${s.mesh.covered}/${s.mesh.topics} topics`,
    `custody ${s.custody.groups} groups, ${s.custody.attnets} attnets, ${s.custody.syncnets} syncnets`,
  )
  return parts.join(' | ')
}

/** Logs the status every intervalMs, and a warning saying why while there are no peers. */
export class StatusLine {
  private timer: NodeJS.Timeout | null = null
  private readonly opts: typeof STATUS_LINE_DEFAULTS

  constructor(
    private readonly modules: { status: StatusService; logger: Logger },
    opts: Partial<typeof STATUS_LINE_DEFAULTS> = {},
  ) {
    this.opts = { ...STATUS_LINE_DEFAULTS, ...opts }
  }

  /** The first line comes within firstLineMs (an operator watching the start should not wait a whole interval). */
  start(): void {
    this.timer = setTimeout(
      () => {
        void this.log()
        this.timer = setInterval(() => void this.log(), this.opts.intervalMs)
        this.timer.unref()
      },
      Math.min(this.opts.intervalMs, this.opts.firstLineMs),
    )
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer) // clears an interval too
    this.timer = null
  }

  private async log(): Promise<void> {
    const { logger } = this.modules
    try {
      const s = await this.modules.status.snapshot()
      logger.info(
        {
          slot: s.slot,
          headSlot: s.headSlot,
          peers: s.peers,
          peersByTransport: s.peersByTransport,
          relay: s.relay,
          gossip: s.gossip,
          mesh: s.mesh,
          custody: s.custody,
        },
        `status: ${formatStatus(s)}`,
      )
      if (s.warning) logger.warn(s.warning)
    } catch (err) {
      logger.error({ err }, 'status line failed')
    }
  }
}

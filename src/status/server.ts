import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Registry } from 'prom-client'
import type { Logger } from '../logger.js'
import type { StatusSnapshot } from './snapshot.js'
import { STATUS_PAGE_HTML } from './page.js'
import type { ReadinessReport } from './readiness.js'

export interface HealthReport {
  status: 'ok'
  version: string
  peers: number
  uptimeSeconds: number
  /** With --fleet-redis: 'degraded' while Redis is unreachable and this instance serves alone. */
  fleet?: 'ok' | 'degraded'
}

export interface MetricsServerModules {
  registry: Registry
  health: () => HealthReport
  /**
   * Readiness for /ready and /health (see readiness.ts). Without it the node counts as ready as soon as it
   * serves: node.ts should always supply it.
   */
  ready?: () => ReadinessReport
  /** The status page (/) and its data (/status.json); both 404 without it. */
  status?: () => Promise<StatusSnapshot>
  logger: Logger
}

export interface MetricsServerOptions {
  address: string
  port: number
}

/** A scrape or health probe that takes longer than this is a bug or an attack; drop it. */
const REQUEST_TIMEOUT_MS = 10_000

/**
 * Serves /metrics (Prometheus text format), /health (JSON liveness: always 200, with the readiness checks),
 * /ready (200 when ready, 503 until), and the status page (/, its data at /status.json) on a loopback address by
 * default.
 */
export class MetricsServer {
  private server: Server | null = null

  constructor(
    private readonly modules: MetricsServerModules,
    private readonly opts: MetricsServerOptions,
  ) {}

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((e) => {
        this.modules.logger.error({ err: e, path: req.url }, 'metrics request failed')
        if (!res.headersSent) res.writeHead(500).end()
        else res.destroy()
      })
    })
    server.requestTimeout = REQUEST_TIMEOUT_MS
    server.headersTimeout = REQUEST_TIMEOUT_MS
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.opts.port, this.opts.address, () => {
        server.off('error', reject)
        resolve()
      })
    })
    this.server = server
  }

  /** The bound address (port resolved when 0 was asked for). */
  get address(): AddressInfo | null {
    return (this.server?.address() as AddressInfo | null) ?? null
  }

  async stop(): Promise<void> {
    const server = this.server
    if (!server) return
    this.server = null
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end()
      return
    }
    if (path === '/metrics') {
      const body = await this.modules.registry.metrics()
      res.writeHead(200, { 'content-type': this.modules.registry.contentType }).end(body)
    } else if (path === '/health') {
      const body = { ...this.modules.health(), ...this.readiness() }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    } else if (path === '/ready') {
      const report = this.readiness()
      res.writeHead(report.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(report))
    } else if (path === '/' && this.modules.status) {
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
        .end(STATUS_PAGE_HTML)
    } else if (path === '/status.json' && this.modules.status) {
      const body = JSON.stringify(await this.modules.status())
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body)
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /, /metrics, /health or /ready\n')
    }
  }

  private readiness(): ReadinessReport {
    return this.modules.ready?.() ?? { ready: true, checks: {} }
  }
}

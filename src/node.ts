import type { Multiaddr } from '@multiformats/multiaddr'
import type { Registry } from 'prom-client'
import type { ContowerConfig } from './config/types.js'
import type { Identity } from './identity/identity.js'
import type { Logger } from './logger.js'
import { createRegistry, registerNodeMetrics } from './metrics/registry.js'
import { type HealthReport, MetricsServer } from './metrics/server.js'
import { type ContowerHost, createHost } from './network/host.js'
import { AGENT_VERSION, COMMIT, VERSION } from './version.js'

/** A start-up failure worth one clear line (port in use, bad key…): the CLI prints it and exits 1. */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StartupError'
  }
}

export interface NodeModules {
  identity: Identity
  logger: Logger
}

/** Assembles Contower's parts and owns their lifecycle: started in order, stopped in reverse. */
export class ContowerNode {
  readonly registry: Registry | null
  private host: ContowerHost | null = null
  private metricsServer: MetricsServer | null = null
  private startedAtMs = 0
  private stopping: Promise<void> | null = null

  constructor(
    private readonly modules: NodeModules,
    private readonly config: ContowerConfig,
  ) {
    this.registry = config.metrics ? createRegistry() : null
  }

  get libp2p(): ContowerHost {
    if (!this.host) throw new Error('node not started')
    return this.host
  }

  get listenAddresses(): Multiaddr[] {
    return this.host?.getMultiaddrs() ?? []
  }

  get metricsAddress(): { address: string; port: number } | null {
    return this.metricsServer?.address ?? null
  }

  async start(): Promise<void> {
    const { logger, identity } = this.modules
    const { config } = this
    this.startedAtMs = Date.now()

    this.host = await createHost(
      { privateKey: identity.privateKey, registry: this.registry },
      {
        listenAddress: config.listenAddress,
        port: config.port,
        maxPeers: config.maxPeers,
        agentVersion: AGENT_VERSION,
      },
    )
    try {
      await this.host.start()
    } catch (e) {
      throw new StartupError(
        `cannot listen on ${config.listenAddress}:${config.port} (TCP): ${describeListenError(e)}`,
        { cause: e },
      )
    }
    logger.info({ peerId: identity.peerId.toString(), addrs: this.listenAddresses.map(String) }, 'libp2p host started')

    if (this.registry) {
      registerNodeMetrics(this.registry, {
        version: VERSION,
        commit: COMMIT,
        peerCount: () => this.host?.getPeers().length ?? 0,
      })
      this.metricsServer = new MetricsServer(
        { registry: this.registry, health: () => this.health(), logger: logger.child({ module: 'metrics' }) },
        { address: config.metricsAddress, port: config.metricsPort },
      )
      try {
        await this.metricsServer.start()
      } catch (e) {
        this.metricsServer = null
        throw new StartupError(
          `cannot serve metrics on ${config.metricsAddress}:${config.metricsPort}: ${describeListenError(e)}`,
          { cause: e },
        )
      }
      const addr = this.metricsServer.address
      logger.info({ address: addr?.address, port: addr?.port }, 'metrics and health served')
    }
  }

  health(): HealthReport {
    return {
      status: 'ok',
      version: VERSION,
      peers: this.host?.getPeers().length ?? 0,
      uptimeSeconds: Math.round((Date.now() - this.startedAtMs) / 1000),
    }
  }

  /** Stops everything in reverse start order; safe to call twice and after a failed start. */
  stop(): Promise<void> {
    this.stopping ??= this.stopParts()
    return this.stopping
  }

  private async stopParts(): Promise<void> {
    await this.metricsServer?.stop()
    await this.host?.stop()
    this.modules.logger.info('stopped')
  }
}

function describeListenError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code
  if (code === 'EADDRINUSE') return 'address already in use'
  if (code === 'EADDRNOTAVAIL') return 'address not available on this machine'
  if (code === 'EACCES') return 'permission denied'
  return (e as Error).message
}

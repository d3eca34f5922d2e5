import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Network } from '../chain/resolveNetwork.js'
import type { LoadedConfig } from '../config/load.js'
import type { ContowerConfig } from '../config/types.js'
import { createLogger, type Logger } from '../logger.js'
import type { NodeOverrides } from '../node.js'
import { waitForShutdown } from './lifecycle.js'

/** How often the live summary line is printed. */
const SUMMARY_INTERVAL_MS = 4_000

/**
 * `contower devnet`: a local beacon network around one Contower (serving peers, syncing peers that reach the
 * chain only through it), all on 127.0.0.1, with a summary line every few seconds. Ends on Ctrl-C/SIGTERM or
 * after --duration seconds.
 */
export async function runDevnet({ config, warnings }: LoadedConfig): Promise<number> {
  const logger = createLogger({ level: config.logLevel, format: config.logFormat })
  for (const warning of warnings) logger.warn(warning)
  // Loaded here, not at the top: they load the SSZ types, which `start` must be able to load with another preset.
  const { Devnet, DEVNET_DEFAULTS, formatSummary } = await import('../devnet/devnet.js')
  const { startLocalNode } = await import('../devnet/localNode.js')
  const { StartupError } = await import('../node.js')
  const dataDir = mkdtempSync(join(tmpdir(), 'contower-devnet-'))

  // The devnet's Contowers: the relay options as given, a throwaway key each, the devnet's bootnode only. With a
  // fleet, the second and later take the next ports.
  const startRelay = (network: Network, bootnode: string, overrides: NodeOverrides, index: number) =>
    startLocalNode(
      { network, logger: logger.child({ module: 'contower', ...(config.fleet > 1 ? { relay: index } : {}) }) },
      {
        dataDir: index === 0 ? dataDir : mkdtempSync(join(dataDir, `relay-${index}-`)),
        overrides,
        flags: {
          port: String(config.port === 0 ? 0 : config.port + index),
          discovery: true,
          bootnodes: bootnode,
          subscribe: config.subscribe.join(','),
          'cache-max-bytes': String(config.cacheMaxBytes),
          'rate-limits': config.rateLimits.join(','),
          metrics: config.metrics,
          'metrics-address': config.metricsAddress,
          'metrics-port': String(config.metricsPort === 0 ? 0 : config.metricsPort + index),
          ...(config.fleetRedis ? { 'fleet-redis': config.fleetRedis } : {}),
          ...(config.fleetRedisPasswordFile ? { 'fleet-redis-password-file': config.fleetRedisPasswordFile } : {}),
          'log-level': config.logLevel,
          'log-format': config.logFormat,
        },
      },
    )
  const devnet = new Devnet(
    { logger, startRelay },
    {
      ...DEVNET_DEFAULTS,
      relays: config.fleet,
      servingPeers: config.servingPeers,
      syncingPeers: config.syncingPeers,
      slotSeconds: config.slotSeconds,
      historySlots: config.historySlots,
      blockBytes: config.blockBytes,
    },
  )
  const summary: { timer?: NodeJS.Timeout } = {}
  const stoppable = {
    stop: async () => {
      clearInterval(summary.timer)
      await devnet.stop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
  const shutdown = waitForShutdown(stoppable, logger)
  try {
    await devnet.start()
  } catch (e) {
    await stoppable.stop().catch(() => {})
    if (e instanceof StartupError) {
      logger.fatal(e.message)
      return 1
    }
    throw e
  }
  printIntro(config, devnet.node.metricsAddress, logger)
  summary.timer = setInterval(() => {
    void devnet.summary().then((s) => process.stdout.write(`${formatSummary(s)}\n`))
  }, SUMMARY_INTERVAL_MS)
  if (config.duration === 0) return shutdown
  const timeUp = new Promise<number>((resolve) =>
    setTimeout(() => {
      logger.info({ seconds: config.duration }, 'devnet duration reached')
      void stoppable.stop().then(
        () => resolve(0),
        () => resolve(1),
      )
    }, config.duration * 1000).unref(),
  )
  return Promise.race([shutdown, timeUp])
}

function printIntro(config: ContowerConfig, metrics: { address: string; port: number } | null, logger: Logger): void {
  logger.info(
    {
      metrics: metrics ? `http://${metrics.address}:${metrics.port}/metrics` : 'off',
      summaryEverySeconds: SUMMARY_INTERVAL_MS / 1000,
      stop: config.duration > 0 ? `after ${config.duration} s` : 'Ctrl-C',
    },
    'devnet running: syncing peers reach the chain only through Contower',
  )
}

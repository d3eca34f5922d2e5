import { type PresetName, setActivePreset } from '@lodestar/params/setPreset'
import { resolveNetwork } from '../chain/resolveNetwork.js'
import type { LoadedConfig } from '../config/load.js'
import { loadOrCreateIdentity } from '../identity/identity.js'
import { createLogger } from '../logger.js'
import { StatusLine } from '../status/statusLine.js'
import { VERSION } from '../version.js'
import { waitForShutdown } from './lifecycle.js'

/** `contower start`: run the node until SIGINT/SIGTERM. */
export async function runStart({ config, warnings }: LoadedConfig): Promise<number> {
  const logger = createLogger({ level: config.logLevel, format: config.logFormat })
  for (const warning of warnings) logger.warn(warning)
  logger.info({ version: VERSION, network: config.network }, 'contower starting')

  const network = await resolveNetwork(config)
  const identity = await loadOrCreateIdentity(config.dataDir)
  if (identity.created) logger.info({ file: identity.file }, 'created a new node identity')
  if (identity.insecureMode !== undefined) {
    logger.warn({ file: identity.file, mode: identity.insecureMode.toString(8) }, 'identity key is readable by others')
  }

  // SSZ types are built when @lodestar/types loads, with the active preset: choose it before loading the node.
  setActivePreset(network.config.presetBase as PresetName)
  const { ContowerNode, StartupError } = await import('../node.js')
  let node: InstanceType<typeof ContowerNode> | null = null
  try {
    node = new ContowerNode({ identity, logger, network }, config)
    const shutdown = waitForShutdown(node, logger)
    await node.start()
    const statusLine = new StatusLine({ status: node.status, logger }, { intervalMs: config.statusInterval * 1000 })
    if (config.statusInterval > 0) statusLine.start()
    const code = await shutdown
    statusLine.stop()
    return code
  } catch (e) {
    // The reason first: what stopping logs after it is consequence.
    if (e instanceof StartupError) logger.fatal(e.message)
    await node?.stop().catch(() => {})
    if (e instanceof StartupError) return 1
    throw e
  }
}

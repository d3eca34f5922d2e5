import type { Logger } from '../logger.js'

/** SIGTERM/SIGINT must end the process within this, as orchestrators expect (Docker waits 10 s). */
export const SHUTDOWN_DEADLINE_MS = 5_000

export interface Stoppable {
  stop(): Promise<void>
}

/**
 * Resolves with the exit code once the first SIGINT/SIGTERM has stopped `target`: 0 on a clean stop, 1 if
 * stopping failed or overran its deadline. A second signal exits at once.
 */
export function waitForShutdown(target: Stoppable, logger: Logger): Promise<number> {
  return new Promise((resolve) => {
    let signalled = false
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) {
        logger.warn({ signal }, 'second signal: exiting now')
        process.exit(1)
      }
      signalled = true
      logger.info({ signal }, 'shutting down')
      const deadline = setTimeout(() => {
        logger.error({ deadlineMs: SHUTDOWN_DEADLINE_MS }, 'shutdown overran its deadline')
        resolve(1)
      }, SHUTDOWN_DEADLINE_MS)
      deadline.unref()
      target.stop().then(
        () => {
          clearTimeout(deadline)
          resolve(0)
        },
        (err) => {
          clearTimeout(deadline)
          logger.error({ err }, 'shutdown failed')
          resolve(1)
        },
      )
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}

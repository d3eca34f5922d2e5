import { createRequire } from 'node:module'
import { type DestinationStream, type Logger, pino } from 'pino'
import type PinoPretty from 'pino-pretty'
import type { LogFormat, LogLevel } from './logOptions.js'

// pino-pretty (and its colour and date libraries) loads only when a terminal or --log-format pretty asks for it.

const require = createRequire(import.meta.url)

export type { Logger }

export interface LoggerOptions {
  level: LogLevel
  format: LogFormat
  /** Defaults to stdout; tests pass a stream to read what was logged. */
  destination?: DestinationStream
}

/**
 * One root logger; each area takes a child (`logger.child({ module: 'reqresp' })`) and adds structured
 * fields (peer, protocol, durationMs) rather than formatting them into the message.
 */
export function createLogger(opts: LoggerOptions): Logger {
  const usePretty = opts.format === 'pretty' || (opts.format === 'auto' && process.stdout.isTTY === true)
  // pino-pretty as an in-process stream, not a transport: no worker thread to outlive shutdown.
  const destination =
    opts.destination ??
    (usePretty
      ? (require('pino-pretty') as typeof PinoPretty)({
          colorize: process.stdout.isTTY === true,
          ignore: 'pid,hostname',
        })
      : pino.destination({ dest: 1, sync: true }))
  return pino({ level: opts.level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, destination)
}

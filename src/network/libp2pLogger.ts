import type { ComponentLogger, Logger } from '@libp2p/interface'

/**
 * libp2p's component logger for a host: libp2p's own (the `debug` module's) when `DEBUG` is set, as libp2p documents;
 * otherwise one shared logger that does nothing. libp2p builds three debug loggers for every stream it opens or
 * accepts (the muxer's, multistream-select's, the connection's), each asking whether stderr is a terminal: with
 * logging off, 8-16 % of a short request's CPU (npm run bench:streams, docs/benchmarks.md).
 */
export function libp2pLogger(env: NodeJS.ProcessEnv = process.env): ComponentLogger | undefined {
  return env.DEBUG ? undefined : { forComponent: () => SILENT }
}

const silent = (): Logger['error'] & { enabled: boolean } => Object.assign(() => {}, { enabled: false })

const SILENT: Logger = Object.assign(silent(), { error: silent(), trace: silent(), newScope: () => SILENT })

// Contower as the daemon runs, for benchmarks: `node <DAEMON_NODE_OPTIONS> bin/contower.js start …` (the build's
// bundle) in a process of its own on 127.0.0.1, and the helpers to start, reach and stop such processes.
import { type ChildProcess, spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { devnetChainConfigYaml, DEVNET_GENESIS_VALIDATORS_ROOT } from '../../src/devnet/devnetNetwork.js'
import { DAEMON_NODE_OPTIONS } from '../../src/gcTuning.js'

export const CONTOWER = join(fileURLToPath(new URL('../..', import.meta.url)), 'bin/contower.js')
/** Every wait is bounded: a loaded machine is slow, a hung process is a failure. */
const LISTEN_TIMEOUT_MS = 180_000

/** Processes started here, killed when this process exits however it ends. */
const spawned = new Set<ChildProcess>()
process.on('exit', () => {
  for (const c of spawned) c.kill('SIGKILL')
})

export interface Running {
  child: ChildProcess
  listenMs: number
  port: number
  /** The end of what it wrote to stderr. */
  stderr: () => string
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** Spawns `node args`, resolves once its TCP `port` accepts a connection (with the time that took). */
export async function startListening(args: string[], port: number): Promise<Running> {
  const t0 = performance.now()
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  spawned.add(child)
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)))
  while (!(await canConnect(port))) {
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited ${child.exitCode}: ${stderr}`)
    if (performance.now() - t0 > LISTEN_TIMEOUT_MS) throw new Error(`${args.join(' ')} not listening: ${stderr}`)
    await sleep(5)
  }
  return { child, listenMs: performance.now() - t0, port, stderr: () => stderr }
}

/** SIGTERM (the daemon's graceful stop), SIGKILL if it has not exited 15 s later. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill('SIGTERM')
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    await exited
    clearTimeout(killer)
  }
  spawned.delete(child)
}

/** Stops every process started here that is still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...spawned].map((c) => stopProcess(c)))
}

/**
 * `node` arguments that start Contower on a devnet chain (`--network custom`, its config written to `dir`), with
 * discovery off, TCP only, quiet logs and metrics on `metricsPort`; `flags` are added as `--key value`.
 */
export function devnetDaemonArgs(o: {
  dir: string
  dataDir: string
  port: number
  metricsPort: number
  genesisTime: number
  slotSeconds: number
  flags?: Record<string, string>
  /** Node's options for the daemon; the daemon's own by default. */
  nodeOptions?: readonly string[]
}): string[] {
  const chainConfig = join(o.dir, 'devnet.yaml')
  writeFileSync(chainConfig, devnetChainConfigYaml({ slotSeconds: o.slotSeconds }))
  return [
    ...(o.nodeOptions ?? DAEMON_NODE_OPTIONS),
    CONTOWER,
    'start',
    ...['--network', 'custom', '--chain-config', chainConfig, '--genesis-time', String(o.genesisTime)],
    ...['--genesis-validators-root', `0x${Buffer.from(DEVNET_GENESIS_VALIDATORS_ROOT).toString('hex')}`],
    ...['--no-discovery', '--no-quic', '--listen-address', '127.0.0.1', '--port', String(o.port)],
    ...['--data-dir', o.dataDir, '--metrics-address', '127.0.0.1', '--metrics-port', String(o.metricsPort)],
    ...['--log-level', 'warn'],
    ...Object.entries(o.flags ?? {}).flatMap(([k, v]) => [`--${k}`, v]),
  ]
}

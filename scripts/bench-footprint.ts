// Benchmark: Contower's start-up time and memory, each beside the same figure for a bare libp2p host with our
// transports (scripts/lib/bareHost.mjs) measured in the same run.
//
//   npm run build && npx tsx scripts/bench-footprint.ts [--runs 5] [--idle-seconds 20] [--peers 50,200]
//
// Spawn to listening: from spawn() until a TCP connect to the libp2p port succeeds (min and median of --runs,
// the two programs alternating), `contower start --network mainnet --no-discovery` as a new user runs it.
// --version: spawn to exit, beside `node -e 0`. Idle RSS: VmRSS --idle-seconds after listening. With peers:
// simulated beacon peers (a child process; real hosts answering Status/Ping/MetaData) dial the host, Contower runs
// on the devnet chain they serve (--network custom), RSS is read once they have stayed connected past Contower's
// 15 s inbound Status wait. Everything on 127.0.0.1. Both programs run with the node options `contower` runs with
// (DAEMON_NODE_OPTIONS: its shebang, the image, npm start), so the ratio compares code, not V8 settings.
import { type ChildProcess, fork, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { devnetChainConfigYaml, DEVNET_GENESIS_VALIDATORS_ROOT } from '../src/devnet/devnetNetwork.js'
import { DAEMON_NODE_OPTIONS } from '../src/gcTuning.js'
import { loadOrCreateIdentity } from '../src/identity/identity.js'
import { CONTOWER, freePort, type Running, sleep, startListening, stopAll, stopProcess } from './lib/daemon.js'
import type { FromFootprintPeers, ToFootprintPeers } from './lib/footprintPeers.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BARE = join(ROOT, 'scripts/lib/bareHost.mjs')
const SLOT_SECONDS = 12

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1]! : fallback
}
const RUNS = Number(option('runs', '5'))
const IDLE_SECONDS = Number(option('idle-seconds', '20'))
const PEER_COUNTS = option('peers', '50,200').split(',').map(Number)
if (!(RUNS >= 1 && IDLE_SECONDS >= 0 && PEER_COUNTS.every((n) => Number.isSafeInteger(n) && n > 0))) {
  console.error('bench-footprint: --runs ≥ 1, --idle-seconds ≥ 0, --peers a comma-separated list of counts')
  process.exit(2)
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
const tmp = mkdtempSync(join(tmpdir(), 'contower-footprint-'))
const children = new Set<ChildProcess>()
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL')
  rmSync(tmp, { recursive: true, force: true })
})

function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
  return Number(kb) / 1024
}

function rssOf(running: Running): number {
  if (running.child.exitCode !== null) throw new Error(`exited ${running.child.exitCode}: ${running.stderr()}`)
  return rssMb(running.child.pid!)
}

async function timeToExit(args: string[]): Promise<number> {
  const t0 = performance.now()
  const child = spawn(process.execPath, args, { stdio: 'ignore' })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`node ${args.join(' ')} exited ${code}`)
  return performance.now() - t0
}

type Program = 'contower' | 'bare'
const PROGRAMS: Program[] = ['contower', 'bare']

async function argsFor(program: Program, chain: 'mainnet' | 'devnet', port: number): Promise<string[]> {
  const dataDir = join(tmp, `${program}-${chain}`)
  if (program === 'bare') return [...DAEMON_NODE_OPTIONS, BARE, String(port), dataDir]
  const common = ['--no-discovery', '--listen-address', '127.0.0.1', '--port', String(port), '--data-dir', dataDir]
  const quiet = ['--metrics-address', '127.0.0.1', '--metrics-port', String(await freePort()), '--log-level', 'warn']
  if (chain === 'mainnet')
    return [...DAEMON_NODE_OPTIONS, CONTOWER, 'start', '--network', 'mainnet', ...common, ...quiet]
  const chainConfig = join(tmp, 'devnet.yaml')
  writeFileSync(chainConfig, devnetChainConfigYaml({ slotSeconds: SLOT_SECONDS }))
  return [
    ...DAEMON_NODE_OPTIONS,
    CONTOWER,
    'start',
    '--network',
    'custom',
    '--chain-config',
    chainConfig,
    '--genesis-time',
    String(GENESIS_TIME),
    '--genesis-validators-root',
    `0x${Buffer.from(DEVNET_GENESIS_VALIDATORS_ROOT).toString('hex')}`,
    '--max-peers',
    String(Math.max(...PEER_COUNTS) + 20),
    '--target-peers',
    String(Math.max(...PEER_COUNTS) + 10),
    ...common,
    ...quiet,
  ]
}
const GENESIS_TIME = Math.floor(Date.now() / 1000) - 10 * SLOT_SECONDS

// ─── the peers' child process ──────────────────────────────────────────────────────────────────────────────────────

const peersChild = fork(join(ROOT, 'scripts/lib/footprintPeers.ts'), [], {
  execArgv: ['--import', 'tsx'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
})
children.add(peersChild)
async function askPeers(msg: ToFootprintPeers, timeoutMs = 900_000): Promise<number> {
  const answer = new Promise<FromFootprintPeers>((resolve) => peersChild.once('message', resolve))
  peersChild.send(msg)
  const reply = await Promise.race([answer, sleep(timeoutMs).then(() => null)])
  if (reply === null) throw new Error(`peers: no answer to ${msg.type} in ${timeoutMs / 1000} s`)
  if (reply.type === 'failed') throw new Error(`peers: ${reply.error}`)
  return reply.connected
}

// ─── the run ───────────────────────────────────────────────────────────────────────────────────────────────────────

const startedMs = Date.now()
const log = (m: string) => console.log(`[${((Date.now() - startedMs) / 1000).toFixed(1).padStart(5)} s] ${m}`)
let exitCode = 0
try {
  const listen: Record<Program, number[]> = { contower: [], bare: [] }
  for (let run = 0; run < RUNS; run++) {
    for (const program of run % 2 === 0 ? PROGRAMS : [...PROGRAMS].reverse()) {
      const port = await freePort()
      const running = await startListening(await argsFor(program, 'mainnet', port), port)
      listen[program].push(running.listenMs)
      await stopProcess(running.child)
    }
    log(
      `spawn to listening, run ${run + 1}: contower ${listen.contower.at(-1)!.toFixed(0)} ms, bare host ${listen.bare.at(-1)!.toFixed(0)} ms`,
    )
  }
  const version: number[] = []
  const nodeOnly: number[] = []
  for (let run = 0; run < RUNS; run++) {
    version.push(await timeToExit([...DAEMON_NODE_OPTIONS, CONTOWER, '--version']))
    nodeOnly.push(await timeToExit(['-e', '0']))
  }
  log(`--version: median ${median(version).toFixed(0)} ms; node -e 0: median ${median(nodeOnly).toFixed(0)} ms`)

  const idle: Record<Program, number> = { contower: 0, bare: 0 }
  const running: Record<Program, Running> = {} as Record<Program, Running>
  for (const program of PROGRAMS) {
    const port = await freePort()
    running[program] = await startListening(await argsFor(program, 'mainnet', port), port)
  }
  await sleep(IDLE_SECONDS * 1000)
  for (const program of PROGRAMS) {
    idle[program] = rssOf(running[program])
    await stopProcess(running[program].child)
  }
  log(`idle RSS after ${IDLE_SECONDS} s: contower ${idle.contower.toFixed(0)} MB, bare host ${idle.bare.toFixed(0)} MB`)

  await askPeers({ type: 'init', genesisTime: GENESIS_TIME, slotSeconds: SLOT_SECONDS })
  const withPeers: Record<Program, Array<{ count: number; connected: number; rss: number }>> = {
    contower: [],
    bare: [],
  }
  for (const program of PROGRAMS) {
    const port = await freePort()
    const args = await argsFor(program, 'devnet', port)
    const dataDir = program === 'bare' ? args.at(-1)! : args[args.indexOf('--data-dir') + 1]!
    const { peerId } = await loadOrCreateIdentity(dataDir)
    const addr = `/ip4/127.0.0.1/tcp/${port}/p2p/${peerId.toString()}`
    const host = await startListening(args, port)
    for (const count of PEER_COUNTS) {
      await askPeers({ type: 'dial', addr, count })
      await sleep(20_000) // past Contower's 15 s wait for an inbound peer's Status: those kept are handshaken
      const connected = await askPeers({ type: 'count', addr })
      withPeers[program].push({ count, connected, rss: rssOf(host) })
      log(
        `${program} with ${connected} of ${count} peers connected: RSS ${withPeers[program].at(-1)!.rss.toFixed(0)} MB`,
      )
    }
    await askPeers({ type: 'hangUp', addr })
    await stopProcess(host.child)
  }

  const row = (name: string, a: string, b: string, ratio: string) => console.log(`| ${name} | ${a} | ${b} | ${ratio} |`)
  const ms = (xs: number[]) => `${Math.min(...xs).toFixed(0)} / ${median(xs).toFixed(0)} ms`
  console.log('')
  console.log(
    `Node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; ${RUNS} runs; node options of both: ${DAEMON_NODE_OPTIONS.join(' ')}`,
  )
  row('figure', 'Contower', 'bare libp2p host (same transports)', 'Contower ÷ bare')
  row('---', '---', '---', '---')
  row(
    'spawn → listening, min / median',
    ms(listen.contower),
    ms(listen.bare),
    `${(median(listen.contower) / median(listen.bare)).toFixed(2)}×`,
  )
  row('`--version` (beside `node -e 0`), min / median', ms(version), `node -e 0: ${ms(nodeOnly)}`, '')
  row(
    `idle RSS after ${IDLE_SECONDS} s`,
    `${idle.contower.toFixed(0)} MB`,
    `${idle.bare.toFixed(0)} MB`,
    `${(idle.contower / idle.bare).toFixed(2)}×`,
  )
  for (let i = 0; i < PEER_COUNTS.length; i++) {
    const c = withPeers.contower[i]!
    const b = withPeers.bare[i]!
    row(
      `RSS with ${PEER_COUNTS[i]} simulated peers (connected: Contower ${c.connected}, bare ${b.connected})`,
      `${c.rss.toFixed(0)} MB`,
      `${b.rss.toFixed(0)} MB`,
      `${(c.rss / b.rss).toFixed(2)}×`,
    )
  }
} catch (e) {
  console.error('bench-footprint failed:', e)
  exitCode = 1
} finally {
  await stopAll()
  peersChild.kill('SIGTERM')
}
process.exit(exitCode)

import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { ENR } from '@chainsafe/enr'
import { afterEach, describe, expect, it } from 'vitest'
import { CliProcess, runCli } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

// Every test binds loopback only, with OS-chosen ports.
const LOOPBACK = ['--listen-address', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--no-discovery']
const running: CliProcess[] = []
afterEach(() => {
  for (const p of running.splice(0)) p.kill()
})

function dataDir(): string {
  return tempDir('contower-e2e-')
}

function start(args: string[], env: Record<string, string> = {}): CliProcess {
  const p = new CliProcess(['start', ...args], env)
  running.push(p)
  return p
}

// Each test spawns the CLI; on a loaded machine a start alone has taken over 15 s, so deadlines are generous.
describe('contower start', { timeout: 150_000 }, () => {
  it('serves /metrics and /health on loopback, logs a status line, and exits 0 within 5 s of SIGTERM', async () => {
    const p = start(['--data-dir', dataDir(), ...LOOPBACK, '--status-interval', '1'])
    const port = await p.metricsPort()
    const status = await p.waitForLog((l) => l.msg.startsWith('status: slot '))
    expect(status).toMatchObject({ slot: expect.any(Number), peers: { connected: 0, handshaken: 0, target: 50 } })
    expect(status.msg).toMatch(
      /\| peers 0\/50 \(0 in, 0 out, 0 handshaken\) \| tcp 0 quic 0 both 0 \| relay 0 req\/s 0 err\/s cache - \|/,
    )
    const health = await fetch(`http://127.0.0.1:${port}/health`)
    expect(health.status).toBe(200)
    const body = (await health.json()) as Record<string, unknown>
    expect(body).toMatchObject({ status: 'ok', peers: 0, version: expect.any(String) })
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    expect(metrics).toMatch(/^libp2p_peers 0$/m)
    expect(metrics).toMatch(/^contower_build_info\{version="[^"]+",commit="[^"]+"\} 1$/m)
    expect(metrics).toMatch(/^process_resident_memory_bytes \d+/m)
    expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404)

    const sentAt = Date.now()
    p.proc.kill('SIGTERM')
    const { code } = await p.exited
    expect(code).toBe(0)
    expect(Date.now() - sentAt).toBeLessThan(5_000)
  })

  it('applies precedence file < env < flag (seen in the metrics port it binds)', async () => {
    const [a, b, c] = await Promise.all([freePort(), freePort(), freePort()])
    const dir = dataDir()
    const config = join(dir, 'contower.yaml')
    writeFileSync(config, `metrics-port: ${a}\nlisten-address: 127.0.0.1\nport: 0\n`)
    const common = ['--config', config, '--data-dir', dir]

    const fromFile = start(common)
    expect(await fromFile.metricsPort()).toBe(a)
    fromFile.kill()
    await fromFile.exited
    const fromEnv = start(common, { CONTOWER_METRICS_PORT: String(b) })
    expect(await fromEnv.metricsPort()).toBe(b)
    fromEnv.kill()
    await fromEnv.exited
    const fromFlag = start([...common, '--metrics-port', String(c)], { CONTOWER_METRICS_PORT: String(b) })
    expect(await fromFlag.metricsPort()).toBe(c)
  })

  it('keeps its peer id across restarts, with the key file at mode 0600', async () => {
    const dir = dataDir()
    const first = start(['--data-dir', dir, ...LOOPBACK])
    const id1 = (await first.listenAddrs())[0].split('/p2p/')[1]
    first.proc.kill('SIGTERM')
    expect((await first.exited).code).toBe(0)
    expect(statSync(join(dir, 'identity.key')).mode & 0o777).toBe(0o600)

    const second = start(['--data-dir', dir, ...LOOPBACK])
    const id2 = (await second.listenAddrs())[0].split('/p2p/')[1]
    expect(id2).toBe(id1)
    const identity = await runCli(['identity', '--data-dir', dir])
    expect(identity.code).toBe(0)
    expect(identity.stdout).toContain(`peer id   ${id1}`)
  })

  it('identity prints the QUIC listen address and an ENR with quic (--port + 1), and neither with --no-quic', async () => {
    const dir = dataDir()
    const base = ['identity', '--data-dir', dir, '--listen-address', '127.0.0.1', '--port', '9400']
    const withQuic = await runCli(base)
    expect(withQuic.code).toBe(0)
    expect(withQuic.stdout).toMatch(/^listen {4}\/ip4\/127\.0\.0\.1\/udp\/9401\/quic-v1\/p2p\/16U/m)
    const enrOf = (stdout: string) => ENR.decodeTxt(stdout.match(/^enr {7}(enr:\S+)$/m)![1]!)
    expect(enrOf(withQuic.stdout)).toMatchObject({ ip: '127.0.0.1', tcp: 9400, udp: 9400, quic: 9401 })
    const withoutQuic = await runCli([...base, '--no-quic'])
    expect(withoutQuic.stdout).not.toContain('quic-v1')
    expect(enrOf(withoutQuic.stdout).quic).toBeUndefined()
    expect(enrOf(withoutQuic.stdout).tcp).toBe(9400)
  })

  it('refuses a corrupt key file, names it, and leaves it untouched', async () => {
    const dir = dataDir()
    const keyFile = join(dir, 'identity.key')
    writeFileSync(keyFile, 'not a key\n', { mode: 0o600 })
    const result = await runCli(['start', '--data-dir', dir, ...LOOPBACK])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`identity key ${keyFile} is corrupt`)
    expect(readFileSync(keyFile, 'utf8')).toBe('not a key\n')
  })

  it.each([
    ['metrics', (port: number) => ['--metrics-port', String(port)], 'cannot serve metrics on 127.0.0.1:'],
    ['libp2p', (port: number) => ['--port', String(port)], 'cannot listen on 127.0.0.1:'],
  ])('exits 1 with one line, the reason first, when its %s port is taken', async (_, flags, prefix) => {
    const server = createServer()
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const taken = (server.address() as { port: number }).port
    try {
      const result = await runCli(['start', '--data-dir', dataDir(), ...LOOPBACK, ...flags(taken)])
      expect(result.code).toBe(1)
      const lines = result.stdout.trim().split('\n')
      const fatal = lines.findIndex((l) => l.includes('"level":60'))
      expect(JSON.parse(lines[fatal]!).msg).toMatch(
        new RegExp(`^${prefix}${taken}( \\(TCP\\)( or \\d+ \\(QUIC, UDP\\))?)?: address already in use$`),
      )
      expect(lines.findIndex((l) => l.includes('"msg":"stopped"'))).toBeGreaterThan(fatal)
    } finally {
      server.close()
    }
  })

  it('exits 1 at once naming a data dir it cannot create (recursive mkdir would loop forever under /proc)', async () => {
    const result = await runCli(['start', '--data-dir', '/proc/contower-test/x', ...LOOPBACK])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/^contower: cannot create data dir \/proc\/contower-test\/x: ENOENT[^\n]*\n$/)
  })
})

describe('contower --version', { timeout: 90_000 }, () => {
  it('prints version, commit, Node version and platform on one line', async () => {
    const { code, stdout } = await runCli(['--version'])
    expect(code).toBe(0)
    const version = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version
    expect(stdout).toMatch(
      new RegExp(
        `^contower ${version} \\(commit [0-9a-f]{12}\\) node ${process.version} ${process.platform}-${process.arch}\\n$`,
      ),
    )
  })
})

describe('bad command lines and configuration exit 2 with a message naming the problem', { timeout: 90_000 }, () => {
  it.each([
    [['start', '--port', 'abc'], {}, `invalid value for 'port' from flag --port: "abc"`],
    [['start'], { CONTOWER_LOG_LEVEL: 'loud' }, `'log-level' from env CONTOWER_LOG_LEVEL: "loud" (expected one of`],
    [['start', '--no-such-flag'], {}, 'unknown option --no-such-flag'],
    [['start', '--netwrk', 'sepolia'], {}, 'unknown option --netwrk (did you mean --network?)'],
    [['launch'], {}, `unknown command 'launch'`],
    [['strat'], {}, `unknown command 'strat' (did you mean start?)`],
    [
      ['start', '--network', 'goerli'],
      {},
      `invalid value for 'network' from flag --network: "goerli" (expected one of`,
    ],
    [['start', '--port'], {}, 'Not enough arguments following: port'],
    [
      ['start'],
      { CONTOWER_NETWROK: 'sepolia' },
      'unknown environment variable CONTOWER_NETWROK (did you mean CONTOWER_NETWORK?)',
    ],
    [['start', '--network', 'custom'], {}, `--network custom needs 'chain-config'`],
    [
      ['start', '--data-dir', tempDir('contower-e2e-'), '--no-discovery', '--subscribe', 'beacon_blok'],
      {},
      `invalid value for 'subscribe': "beacon_blok"`,
    ],
    [['start', '--rate-limits', 'blocks:1'], {}, `invalid value for 'rate-limits' from flag --rate-limits`],
  ])('%j %j', async (args, env, message) => {
    const result = await runCli(args, env)
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(message)
    expect(result.stderr).toMatch(/^contower: [^\n]+\n$/) // one line, always
  })

  it('lists every option with its default and env variable in --help', async () => {
    const { code, stdout } = await runCli(['start', '--help'])
    expect(code).toBe(0)
    const flat = stdout.replace(/\s+/g, ' ')
    for (const needle of [
      '--metrics-port',
      'CONTOWER_METRICS_PORT',
      '[default: 8008]',
      '--static-peers',
      'CONTOWER_DATA_DIR',
    ]) {
      expect(flat).toContain(needle)
    }
  })
})

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

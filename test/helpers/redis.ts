import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { tempDir } from './tmp.js'

/** How long a redis-server may take to say it is ready on a loaded machine. */
const READY_TIMEOUT_MS = 20_000

/** A real redis-server of the test's own, on a free loopback port, persisting nothing; stopped by its pid. */
export class TestRedis {
  private process: ChildProcess | null = null

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async start(): Promise<TestRedis> {
    const redis = new TestRedis(await freePort(), tempDir('contower-redis-'))
    await redis.restart()
    return redis
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** (Re)starts the server on the same port, empty. */
  async restart(): Promise<void> {
    if (this.process) return
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    this.process = child
    await new Promise<void>((resolve, reject) => {
      let out = ''
      const timer = setTimeout(() => reject(new Error(`redis-server not ready: ${out}`)), READY_TIMEOUT_MS)
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString()
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer)
          resolve()
        }
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`redis-server exited with ${code}: ${out}`))
      })
    })
  }

  /** Freezes the server (SIGSTOP): connections stay open and every command hangs, as on an overloaded host. */
  pause(): void {
    this.process?.kill('SIGSTOP')
  }

  resume(): void {
    this.process?.kill('SIGCONT')
  }

  /** Kills the server at once (SIGKILL), as a crash would. */
  async kill(): Promise<void> {
    const child = this.process
    if (!child) return
    this.process = null
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGCONT') // a frozen server would not die before it runs again
    child.kill('SIGKILL')
    await exited
  }

  stop(): Promise<void> {
    return this.kill()
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

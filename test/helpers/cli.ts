import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../bin/contower.js', import.meta.url))

export interface LogLine {
  level: number
  msg: string
  [key: string]: unknown
}

/** A spawned `contower` process: its JSON log lines, stderr, and its exit. */
export class CliProcess {
  readonly proc: ChildProcess
  readonly lines: LogLine[] = []
  stderr = ''
  stdout = ''
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  private waiters: Array<() => void> = []

  constructor(args: string[], env: Record<string, string> = {}) {
    this.proc = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let partial = ''
    this.proc.stdout!.on('data', (buf: Buffer) => {
      this.stdout += buf.toString()
      partial += buf.toString()
      const parts = partial.split('\n')
      partial = parts.pop()!
      for (const p of parts) {
        try {
          this.lines.push(JSON.parse(p) as LogLine)
        } catch {
          // not a log line (e.g. `contower identity` output)
        }
      }
      for (const w of this.waiters) w()
    })
    this.proc.stderr!.on('data', (buf: Buffer) => {
      this.stderr += buf.toString()
    })
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => resolve({ code, signal })))
  }

  /** Resolves with the first log line matching, or rejects after timeoutMs or when the process exits. */
  waitForLog(predicate: (l: LogLine) => boolean, timeoutMs = 60_000): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.lines.find(predicate)
        if (found) {
          cleanup()
          resolve(found)
        }
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`log line not seen in ${timeoutMs} ms; stderr: ${this.stderr}; stdout: ${this.stdout}`))
      }, timeoutMs)
      const onExit = () => {
        cleanup()
        reject(new Error(`process exited before the log line; stderr: ${this.stderr}; stdout: ${this.stdout}`))
      }
      const cleanup = () => {
        clearTimeout(timer)
        this.waiters = this.waiters.filter((w) => w !== check)
        this.proc.off('exit', onExit)
      }
      this.waiters.push(check)
      this.proc.once('exit', onExit)
      check()
    })
  }

  /** The metrics server's bound port, from its start-up log line. */
  async metricsPort(): Promise<number> {
    return (await this.waitForLog((l) => l.msg === 'metrics and health served')).port as number
  }

  async listenAddrs(): Promise<string[]> {
    return (await this.waitForLog((l) => l.msg === 'libp2p host started')).addrs as string[]
  }

  /** Ends the process if it is still running (test cleanup); only this process, by its pid. */
  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL')
  }
}

/** Runs `contower` to completion. */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = new CliProcess(args, env)
  const timer = setTimeout(() => p.kill(), 60_000)
  const { code } = await p.exited
  clearTimeout(timer)
  return { code, stdout: p.stdout, stderr: p.stderr }
}

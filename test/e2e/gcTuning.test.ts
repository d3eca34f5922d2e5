import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { DAEMON_NODE_OPTIONS } from '../../src/gcTuning.js'

const GC_TUNING = fileURLToPath(new URL('../../dist/gcTuning.js', import.meta.url))
const CONTOWER = fileURLToPath(new URL('../../bin/contower.js', import.meta.url))

/**
 * Runs a small allocation workload (1 MiB ArrayBuffers, as a relay's socket and noise buffers, plus short-lived
 * objects) in a fresh node with --trace-gc, optionally calling tuneGc() first, and counts its major collections.
 */
function traceMajorGcs(nodeFlags: string[], tune: boolean): { majors: number; incremental: number } {
  const script = `
    ${tune ? `(await import(${JSON.stringify(GC_TUNING)})).tuneGc()` : ''}
    let keep = []
    for (let i = 0; i < 200; i++) {
      keep.push(new Uint8Array(1 << 20))
      const objects = []
      for (let j = 0; j < 20000; j++) objects.push({ j, s: 'x' + j })
      if (keep.length > 40) keep = keep.slice(20)
    }`
  const run = spawnSync(process.execPath, [...nodeFlags, '--trace-gc', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 30_000,
  })
  expect(run.status, run.stderr).toBe(0)
  const majors = run.stdout.split('\n').filter((l) => l.includes('Mark-Compact'))
  return { majors: majors.length, incremental: majors.filter((l) => l.includes('incremental marking')).length }
}

describe('tuneGc (the daemon entry point calls it first)', () => {
  it('makes major collections whole pauses: no incremental marking, which V8 uses by default', () => {
    const untuned = traceMajorGcs([], false)
    expect(untuned.incremental).toBeGreaterThan(0)
    const tuned = traceMajorGcs([], true)
    expect(tuned.majors).toBeGreaterThan(0)
    expect(tuned.incremental).toBe(0)
  })

  it("keeps the operator's choice from the node command line", () => {
    expect(traceMajorGcs(['--incremental-marking'], true).incremental).toBeGreaterThan(0)
  })
})

describe('bin/contower.js run as a program', () => {
  it("starts node with the daemon's options from its shebang (env -S), which V8 only takes at start", () => {
    const dir = mkdtempSync(join(tmpdir(), 'contower-shebang-'))
    try {
      // Loaded before the CLI through NODE_OPTIONS: reports the options node itself was started with.
      const probe = join(dir, 'probe.mjs')
      writeFileSync(probe, 'process.stderr.write(`EXEC_ARGV ${JSON.stringify(process.execArgv)}\\n`)\n')
      const run = spawnSync(CONTOWER, ['--version'], {
        encoding: 'utf8',
        timeout: 30_000,
        env: { ...process.env, NODE_OPTIONS: `--import=${probe}` },
      })
      expect(run.status, run.stderr).toBe(0)
      const line = run.stderr.split('\n').find((l) => l.startsWith('EXEC_ARGV '))
      expect(line, run.stderr).toBeDefined()
      expect(JSON.parse(line!.slice('EXEC_ARGV '.length))).toEqual([...DAEMON_NODE_OPTIONS])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

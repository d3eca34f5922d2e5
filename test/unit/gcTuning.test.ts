import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { DAEMON_GC_FLAG, DAEMON_NODE_OPTIONS, daemonGcFlag } from '../../src/gcTuning.js'

const read = (path: string) => readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8')

describe('daemonGcFlag', () => {
  it('turns incremental marking off by default', () => {
    expect(DAEMON_GC_FLAG).toBe('--no-incremental-marking')
    expect(daemonGcFlag([])).toBe(DAEMON_GC_FLAG)
    expect(daemonGcFlag(['--import', 'tsx', '--max-old-space-size=2048'])).toBe(DAEMON_GC_FLAG)
  })

  it("leaves the operator's own marking choice alone", () => {
    for (const flag of [
      '--incremental-marking',
      '--no-incremental-marking',
      '--concurrent-marking',
      '--no-concurrent-marking',
    ]) {
      expect(daemonGcFlag(['--enable-source-maps', flag])).toBeNull()
    }
  })
})

describe('DAEMON_NODE_OPTIONS', () => {
  it('is on the command lines that start the daemon: the shebang, npm start and the systemd unit (the image: docker-smoke test)', () => {
    expect(DAEMON_NODE_OPTIONS).toEqual(['--max-semi-space-size=2'])
    const flags = DAEMON_NODE_OPTIONS.join(' ')
    expect(read('bin/contower.js').split('\n')[0]).toBe(`#!/usr/bin/env -S node ${flags}`)
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts
    expect(scripts.start).toBe(`node ${flags} bin/contower.js devnet`)
    expect(read('deploy/contower.service')).toContain(
      `ExecStart=/usr/bin/node ${flags} /opt/contower/bin/contower.js start`,
    )
  })
})

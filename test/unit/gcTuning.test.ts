import { describe, expect, it } from 'vitest'
import { DAEMON_GC_FLAG, daemonGcFlag } from '../../src/gcTuning.js'

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

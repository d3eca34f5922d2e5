import { describe, expect, it } from 'vitest'
import { readiness } from '../../../src/status/readiness.js'

describe('readiness', () => {
  it('is ready with a handshaken peer and discovery off', () => {
    expect(readiness({ handshakenPeers: () => 1, seeded: () => false, discoveryRunning: null })).toEqual({
      ready: true,
      checks: { chainStatusKnown: true, handshakenPeer: true, discoveryRunning: true },
    })
  })

  it('knows the chain from the beacon API seed alone, but still waits for a peer', () => {
    expect(readiness({ handshakenPeers: () => 0, seeded: () => true, discoveryRunning: null })).toEqual({
      ready: false,
      checks: { chainStatusKnown: true, handshakenPeer: false, discoveryRunning: true },
    })
  })

  it('waits for discovery when it is enabled', () => {
    const report = readiness({ handshakenPeers: () => 3, seeded: () => true, discoveryRunning: () => false })
    expect(report.ready).toBe(false)
    expect(report.checks.discoveryRunning).toBe(false)
  })
})

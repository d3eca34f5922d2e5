import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { VerdictLog } from '../../../src/gossip/verdictLog.js'
import { ACCEPT, ignore, reject } from '../../../src/gossip/verdict.js'
import { createLogger } from '../../../src/logger.js'

/** A logger at `level` whose JSON lines are collected. */
function capture(level: 'debug' | 'info') {
  const lines: Array<Record<string, unknown>> = []
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line))
      done()
    },
  })
  return { logger: createLogger({ level, format: 'json', destination }), lines }
}

const TOPIC = '/eth2/01020304/beacon_block/ssz_snappy'

describe('VerdictLog', () => {
  it('logs each ignore and reject at debug with topic, reason and peer; nothing for an accept', () => {
    const { logger, lines } = capture('debug')
    const log = new VerdictLog({ logger })
    log.record(TOPIC, ACCEPT, 'peer-a')
    log.record(TOPIC, ignore('future_slot'), 'peer-a')
    log.record(TOPIC, reject('payload_timestamp'), 'peer-b')
    expect(lines.map(({ level, topic, reason, peer, msg }) => ({ level, topic, reason, peer, msg }))).toEqual([
      { level: 20, topic: TOPIC, reason: 'future_slot', peer: 'peer-a', msg: 'gossip message ignored' },
      { level: 20, topic: TOPIC, reason: 'payload_timestamp', peer: 'peer-b', msg: 'gossip message rejected' },
    ])
  })

  it('warns once per window when one peer’s rejections exceed the threshold; other peers and ignores do not count', () => {
    const { logger, lines } = capture('info')
    let now = 1_000_000
    const log = new VerdictLog({ logger, now: () => now }, { warnRejectionsPerWindow: 3, windowMs: 60_000 })
    for (let i = 0; i < 3; i++) log.record(TOPIC, reject('ssz_decode'), 'peer-a')
    for (let i = 0; i < 10; i++) log.record(TOPIC, ignore('future_slot'), 'peer-a')
    for (let i = 0; i < 3; i++) log.record(TOPIC, reject('ssz_decode'), 'peer-b')
    expect(lines).toEqual([])
    log.record(TOPIC, reject('payload_timestamp'), 'peer-a')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ level: 40, peer: 'peer-a', rejections: 4, reason: 'payload_timestamp' })
    for (let i = 0; i < 20; i++) log.record(TOPIC, reject('ssz_decode'), 'peer-a')
    expect(lines).toHaveLength(1)
    // A new window: counted from zero, warned again once over the threshold.
    now += 60_000
    for (let i = 0; i < 3; i++) log.record(TOPIC, reject('ssz_decode'), 'peer-a')
    expect(lines).toHaveLength(1)
    log.record(TOPIC, reject('ssz_decode'), 'peer-a')
    expect(lines).toHaveLength(2)
  })

  it('holds at most maxTrackedPeers windows, dropping the oldest', () => {
    const { logger, lines } = capture('info')
    const log = new VerdictLog({ logger }, { warnRejectionsPerWindow: 1, maxTrackedPeers: 4 })
    for (let p = 0; p < 1000; p++) log.record(TOPIC, reject('ssz_decode'), `peer-${p}`)
    expect(log.trackedPeers).toBe(4)
    // peer-0's window was dropped: its next rejection starts a new one, below the threshold.
    log.record(TOPIC, reject('ssz_decode'), 'peer-0')
    expect(lines).toEqual([])
    log.record(TOPIC, reject('ssz_decode'), 'peer-999')
    expect(lines).toHaveLength(1)
    expect(log.trackedPeers).toBe(4)
  })
})

import { describe, expect, it } from 'vitest'
import { BanList } from '../../../src/peers/banList.js'
import { COOL_DOWN_DEFAULTS, coolDownFor, GoodbyeReason } from '../../../src/peers/goodbye.js'
import { GoodbyeReason as ReExported } from '../../../src/peers/handshake.js'

const MIN = 60_000

describe('cool-down table', () => {
  it('follows Lodestar for the Goodbyes we send', () => {
    expect(coolDownFor(GoodbyeReason.IrrelevantNetwork, 'sent')).toEqual({ ms: 240 * MIN, kind: 'cool_down' })
    expect(coolDownFor(GoodbyeReason.TooManyPeers, 'sent')).toEqual({ ms: 5 * MIN, kind: 'cool_down' })
    expect(coolDownFor(GoodbyeReason.Fault, 'sent')).toEqual({ ms: 60 * MIN, kind: 'cool_down' })
    expect(coolDownFor(GoodbyeReason.ClientShutdown, 'sent')).toEqual({ ms: 60 * MIN, kind: 'cool_down' })
    // the score state and the ban at the threshold keep these out
    expect(coolDownFor(GoodbyeReason.Banned, 'sent')).toBeNull()
    expect(coolDownFor(GoodbyeReason.ScoreTooLow, 'sent')).toBeNull()
    expect(coolDownFor(GoodbyeReason.UnableToVerifyNetwork, 'sent')).toBeNull()
    expect(coolDownFor(42, 'sent')).toBeNull()
  })

  it('cools down a peer that sent us Goodbye only where redialling it is pointless', () => {
    expect(coolDownFor(GoodbyeReason.TooManyPeers, 'received')?.ms).toBe(5 * MIN)
    expect(coolDownFor(GoodbyeReason.IrrelevantNetwork, 'received')?.ms).toBe(240 * MIN)
    expect(coolDownFor(GoodbyeReason.Banned, 'received')?.ms).toBe(30 * MIN)
    expect(coolDownFor(GoodbyeReason.ScoreTooLow, 'received')?.ms).toBe(30 * MIN)
    expect(coolDownFor(GoodbyeReason.ClientShutdown, 'received')).toBeNull()
    expect(coolDownFor(GoodbyeReason.Fault, 'received')).toBeNull()
    // Teku refuses a peer it said this to for two minutes: redialling sooner only earns refusals.
    expect(coolDownFor(GoodbyeReason.RateLimited, 'received')).toEqual({ ms: 2 * MIN, kind: 'cool_down' })
    expect(coolDownFor(GoodbyeReason.RateLimited, 'sent')).toBeNull()
  })

  it('takes its durations from the table it is given (tests shorten them)', () => {
    const table = { ...COOL_DOWN_DEFAULTS, tooManyPeersMs: 50 }
    expect(coolDownFor(GoodbyeReason.TooManyPeers, 'sent', table)?.ms).toBe(50)
  })

  it('is the same enum handshake.ts exports', () => {
    expect(ReExported).toBe(GoodbyeReason)
  })
})

describe('BanList', () => {
  function list() {
    let now = 1_000_000
    return { bans: new BanList({ now: () => now }), advance: (ms: number) => (now += ms) }
  }

  it('refuses a peer until its time, by kind, then forgets it', () => {
    const { bans, advance } = list()
    expect(bans.ban('a', 5 * MIN, 'cool_down')).toBe(true)
    expect(bans.ban('b', 60 * MIN)).toBe(true)
    expect(bans.kindOf('a')).toBe('cool_down')
    expect(bans.kindOf('b')).toBe('ban')
    expect(bans.counts()).toEqual({ ban: 1, cool_down: 1 })
    advance(5 * MIN)
    expect(bans.isBanned('a')).toBe(false)
    expect(bans.kindOf('a')).toBeNull()
    expect(bans.counts()).toEqual({ ban: 1, cool_down: 0 })
    expect(bans.size).toBe(1)
  })

  it('keeps the longer refusal and its kind', () => {
    const { bans, advance } = list()
    bans.ban('a', 60 * MIN, 'ban')
    expect(bans.ban('a', 5 * MIN, 'cool_down')).toBe(false)
    expect(bans.kindOf('a')).toBe('ban')
    expect(bans.ban('a', 240 * MIN, 'cool_down')).toBe(true)
    expect(bans.kindOf('a')).toBe('cool_down')
    advance(239 * MIN)
    expect(bans.isBanned('a')).toBe(true)
  })

  it('drops expired entries on prune, so it does not grow with every peer ever refused', () => {
    const { bans, advance } = list()
    for (let i = 0; i < 100; i++) bans.ban(`p${i}`, i < 50 ? MIN : 2 * MIN, 'cool_down')
    advance(MIN)
    bans.prune()
    expect(bans.size).toBe(50)
    expect(bans.counts()).toEqual({ ban: 0, cool_down: 50 })
  })
})

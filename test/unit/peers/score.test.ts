import { describe, expect, it } from 'vitest'
import { PEER_ACTION_SCORE, PeerScores, SCORE_DEFAULTS, type ScoreState } from '../../../src/peers/score.js'
import { PeerAction } from '../../../src/reqresp/peerAction.js'

const MIN = 60_000
const HALF_LIFE = 10 * MIN

/** PeerScores on a hand-driven clock. */
function scores(): { s: PeerScores; advance: (ms: number) => void } {
  let now = 1_700_000_000_000
  return { s: new PeerScores({ now: () => now }), advance: (ms) => (now += ms) }
}

function applyTimes(s: PeerScores, peer: string, action: PeerAction, times: number): ScoreState {
  let state: ScoreState = 'healthy'
  for (let i = 0; i < times; i++) state = s.apply(peer, action, `test ${i}`)
  return state
}

describe('PeerScores', () => {
  it('documents Lodestar’s amounts and thresholds', () => {
    expect(PEER_ACTION_SCORE).toEqual({
      [PeerAction.Fatal]: -200,
      [PeerAction.LowToleranceError]: -10,
      [PeerAction.MidToleranceError]: -5,
      [PeerAction.HighToleranceError]: -1,
    })
    expect(SCORE_DEFAULTS).toMatchObject({
      minScore: -100,
      disconnectThreshold: -20,
      banThreshold: -50,
      halfLifeMs: HALF_LIFE,
    })
  })

  it('starts every peer at 0, healthy, without keeping an entry', () => {
    const { s } = scores()
    expect(s.score('a')).toBe(0)
    expect(s.state('a')).toBe('healthy')
    expect(s.size).toBe(0)
  })

  it('adds each action’s amount, per peer', () => {
    const { s } = scores()
    s.apply('a', PeerAction.LowToleranceError, 'garbage')
    expect(s.score('a')).toBe(-10)
    s.apply('a', PeerAction.MidToleranceError, 'timeout')
    expect(s.score('a')).toBe(-15)
    s.apply('a', PeerAction.HighToleranceError, 'refused')
    expect(s.score('a')).toBe(-16)
    s.apply('b', PeerAction.HighToleranceError, 'refused')
    expect(s.score('b')).toBe(-1)
    expect(s.score('a')).toBe(-16)
    expect(s.size).toBe(2)
  })

  it('halves a score every 10 minutes towards 0', () => {
    const { s, advance } = scores()
    s.apply('a', PeerAction.LowToleranceError, 'x')
    s.apply('a', PeerAction.LowToleranceError, 'x')
    advance(HALF_LIFE)
    expect(s.score('a')).toBe(-10)
    advance(HALF_LIFE)
    expect(s.score('a')).toBe(-5)
    advance(HALF_LIFE / 2)
    expect(s.score('a')).toBeCloseTo(-5 / Math.SQRT2, 10)
    // reading does not decay twice: no time passed, same value
    expect(s.score('a')).toBeCloseTo(-5 / Math.SQRT2, 10)
  })

  it('decays before adding a new penalty', () => {
    const { s, advance } = scores()
    s.apply('a', PeerAction.LowToleranceError, 'x')
    s.apply('a', PeerAction.LowToleranceError, 'x')
    s.apply('a', PeerAction.LowToleranceError, 'x') // -30: disconnect
    advance(HALF_LIFE) // -15
    expect(s.apply('a', PeerAction.MidToleranceError, 'x')).toBe('disconnect') // -20
    expect(s.score('a')).toBe(-20)
    advance(HALF_LIFE) // -10
    expect(s.state('a')).toBe('healthy')
  })

  it('disconnects at exactly -20, not at -19', () => {
    const { s } = scores()
    expect(applyTimes(s, 'a', PeerAction.HighToleranceError, 19)).toBe('healthy')
    expect(s.score('a')).toBe(-19)
    expect(s.apply('a', PeerAction.HighToleranceError, 'x')).toBe('disconnect')
    expect(s.score('a')).toBe(-20)
    expect(s.state('a')).toBe('disconnect')
  })

  it('bans at exactly -50, not at -49', () => {
    const { s } = scores()
    expect(applyTimes(s, 'a', PeerAction.LowToleranceError, 4)).toBe('disconnect') // -40
    expect(applyTimes(s, 'a', PeerAction.HighToleranceError, 9)).toBe('disconnect') // -49
    expect(s.score('a')).toBe(-49)
    expect(s.apply('a', PeerAction.HighToleranceError, 'x')).toBe('ban')
    expect(s.score('a')).toBe(-50)
    expect(s.state('a')).toBe('ban')
  })

  it('leaves ban below -50 once the score decays above it', () => {
    const { s, advance } = scores()
    applyTimes(s, 'a', PeerAction.LowToleranceError, 6) // -60
    expect(s.state('a')).toBe('ban')
    advance(HALF_LIFE) // -30
    expect(s.state('a')).toBe('disconnect')
    advance(HALF_LIFE) // -15
    expect(s.state('a')).toBe('healthy')
  })

  it('floors at -100: Fatal bans at once and further penalties change nothing', () => {
    const { s, advance } = scores()
    expect(s.apply('a', PeerAction.Fatal, 'bad block')).toBe('ban')
    expect(s.score('a')).toBe(-100)
    s.apply('a', PeerAction.Fatal, 'again')
    s.apply('a', PeerAction.LowToleranceError, 'again')
    expect(s.score('a')).toBe(-100)
    // the floor is where decay starts from, not -210
    advance(HALF_LIFE)
    expect(s.score('a')).toBe(-50)
    expect(s.state('a')).toBe('ban')
    advance(1)
    expect(s.state('a')).toBe('disconnect')
  })

  it('forgets a peer once its score decays within 0.1 of zero', () => {
    const { s, advance } = scores()
    s.apply('a', PeerAction.HighToleranceError, 'x') // -1
    s.apply('b', PeerAction.LowToleranceError, 'x') // -10
    advance(3 * HALF_LIFE) // a: -0.125, b: -1.25
    expect(s.score('a')).toBe(-0.125)
    expect(s.size).toBe(2)
    advance(HALF_LIFE) // a: -0.0625
    s.score('a')
    expect(s.size).toBe(1)
    expect(s.score('a')).toBe(0)
    expect(s.score('b')).toBe(-0.625)
    // a forgotten peer starts afresh
    s.apply('a', PeerAction.MidToleranceError, 'x')
    expect(s.score('a')).toBe(-5)
  })

  it('tells listeners the peer, action, reason and resulting state of every action', () => {
    const { s } = scores()
    const seen: Array<[string, PeerAction, string, ScoreState]> = []
    const seen2: string[] = []
    s.onAction((peer, action, reason, state) => seen.push([peer, action, reason, state]))
    s.onAction((peer) => seen2.push(peer))
    s.apply('a', PeerAction.LowToleranceError, 'undecodable request')
    s.apply('a', PeerAction.LowToleranceError, 'bad crc')
    s.apply('b', PeerAction.Fatal, 'wrong network')
    expect(seen).toEqual([
      ['a', PeerAction.LowToleranceError, 'undecodable request', 'healthy'],
      ['a', PeerAction.LowToleranceError, 'bad crc', 'disconnect'],
      ['b', PeerAction.Fatal, 'wrong network', 'ban'],
    ])
    expect(seen2).toEqual(['a', 'a', 'b'])
  })
})

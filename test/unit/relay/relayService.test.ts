import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ChainView } from '../../../src/chain/chainView.js'
import { PeerStore } from '../../../src/peers/peerStore.js'
import { PeerScores } from '../../../src/peers/score.js'
import { RELAY_SERVICE_DEFAULTS, RelayService, type RelayServiceOpts } from '../../../src/relay/relayService.js'
import { ReqRespClient } from '../../../src/reqresp/client.js'
import { ResponseError } from '../../../src/reqresp/errors.js'
import { PROTOCOLS } from '../../../src/reqresp/protocols.js'
import { RespCode } from '../../../src/wire/constants.js'
import { clock, forkSchedule, responseTypes } from '../helpers/devnetChain.js'
import { MemoryHost, newPeerId } from '../helpers/memoryHost.js'

// RelayService's own lifecycle: the limiter prune timer (on the configured interval), the disconnect listener,
// and the handlers it hands the server. The relay behind them has its own tests (relay.test.ts).

let service: RelayService | undefined

beforeEach(() => {
  // Only the interval timer is faked: streams and promises keep running on real time.
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
})
afterEach(() => {
  service?.stop()
  service = undefined
  vi.useRealTimers()
})

async function makeService(opts: Partial<RelayServiceOpts> = {}) {
  const host = new MemoryHost(await newPeerId())
  const peerStore = new PeerStore()
  service = new RelayService(
    {
      host: host.libp2p,
      client: new ReqRespClient({ host: host.libp2p, responseTypes, metrics: null }),
      peerStore,
      scores: new PeerScores(),
      forkSchedule,
      clock,
      chainView: new ChainView({ clock, forkSchedule, peerStatuses: () => [] }),
      responseTypes,
      reqrespMetrics: null,
      registry: null,
      logger: pino({ level: 'silent' }),
      isPreferred: () => false,
    },
    { cacheMaxBytes: 1024 * 1024, rateLimits: [], ...opts },
  )
  const prunes = {
    inbound: vi.spyOn(service.inboundLimiter, 'prune'),
    upstream: vi.spyOn(service.upstreamLimiter, 'prune'),
  }
  return { service, host, prunes }
}

describe('RelayService: limiter pruning', () => {
  it('prunes both limiters on the configured tuning.pruneIntervalMs', async () => {
    const { service, prunes } = await makeService({ tuning: { pruneIntervalMs: 1_000 } })
    service.start()
    vi.advanceTimersByTime(999)
    expect(prunes.inbound).not.toHaveBeenCalled()
    vi.advanceTimersByTime(1)
    expect(prunes.inbound).toHaveBeenCalledTimes(1)
    expect(prunes.upstream).toHaveBeenCalledTimes(1)
    vi.advanceTimersByTime(2_000)
    expect(prunes.inbound).toHaveBeenCalledTimes(3)
    expect(prunes.upstream).toHaveBeenCalledTimes(3)
  })

  it('prunes every 60 s by default', async () => {
    expect(RELAY_SERVICE_DEFAULTS.pruneIntervalMs).toBe(60_000)
    const { service, prunes } = await makeService()
    service.start()
    vi.advanceTimersByTime(59_999)
    expect(prunes.inbound).not.toHaveBeenCalled()
    vi.advanceTimersByTime(1)
    expect(prunes.inbound).toHaveBeenCalledTimes(1)
    expect(prunes.upstream).toHaveBeenCalledTimes(1)
  })

  it('stops pruning on stop', async () => {
    const { service, prunes } = await makeService({ tuning: { pruneIntervalMs: 1_000 } })
    service.start()
    service.stop()
    vi.advanceTimersByTime(10_000)
    expect(prunes.inbound).not.toHaveBeenCalled()
    expect(prunes.upstream).not.toHaveBeenCalled()
  })
})

describe('RelayService: peers and handlers', () => {
  it('forgets a disconnected peer’s inbound buckets while started, and not after stop', async () => {
    const { service, host } = await makeService()
    const peer = await newPeerId()
    const disconnect = () => host.dispatchEvent(new CustomEvent('peer:disconnect', { detail: peer }))
    service.start()
    service.inboundLimiter.check(peer.toString(), 'beacon_blocks_by_range', 1)
    expect(service.inboundLimiter.trackedPeers).toBe(1)
    disconnect()
    expect(service.inboundLimiter.trackedPeers).toBe(0)

    service.stop()
    service.inboundLimiter.check(peer.toString(), 'beacon_blocks_by_range', 1)
    disconnect()
    expect(service.inboundLimiter.trackedPeers).toBe(1)
  })

  it('applies rateLimits overrides to the inbound limiter', async () => {
    const { service } = await makeService({ rateLimits: ['beacon_blocks_by_range:4/10'] })
    expect(service.inboundLimiter.check('p', 'beacon_blocks_by_range', 5)).toEqual({
      ok: false,
      reason: 'cost_exceeds_quota',
    })
    expect(service.inboundLimiter.check('p', 'beacon_blocks_by_range', 4).ok).toBe(true)
  })

  it('hands out a relay handler for every data protocol and for nothing else', async () => {
    const { service } = await makeService()
    const handlers = service.handlers()
    const data = [...PROTOCOLS.values()].filter((def) => def.kind === 'data')
    expect([...handlers.keys()]).toEqual(data)
    expect(data.map((d) => d.name)).toContain('beacon_blocks_by_range')
    expect(data.map((d) => d.name)).not.toContain('status')
  })

  it('its handlers relay: with no peers, a request gets ResourceUnavailable', async () => {
    const { service } = await makeService()
    const def = [...service.handlers().keys()].find((d) => d.name === 'beacon_blocks_by_range')!
    const request = { startSlot: 1, count: 2, step: 1 }
    const handler = service.handlers().get(def)!
    const run = async () => {
      for await (const _chunk of handler({
        peerId: await newPeerId(),
        protocol: def,
        request,
        requestSsz: def.request!.serialize(request),
        signal: new AbortController().signal,
      }));
    }
    const error = await run().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ResponseError)
    expect((error as ResponseError).respCode).toBe(RespCode.ResourceUnavailable)
  })
})

import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import type { RedisLink } from '../../../src/fleet/redisLink.js'
import { UpstreamLoad } from '../../../src/fleet/upstreamLoad.js'

/** The two Redis connections as UpstreamLoad uses them: publish on one, messages from the other. */
function fakeLink() {
  const subscriber = Object.assign(new EventEmitter(), { subscribe: async () => 1 })
  const published: Array<{ channel: string; message: string }> = []
  const commands = {
    publish: async (channel: string, message: string) => {
      published.push({ channel, message })
      return 1
    },
  }
  const link = { state: 'up', subscriber, commands } as unknown as RedisLink
  const deliver = (message: unknown) =>
    subscriber.emit('messageBuffer', Buffer.from('ns:load'), Buffer.from(JSON.stringify(message)))
  return { link, published, deliver }
}

describe('fleet upstream load', () => {
  it('announces our open requests and sums the fresh reports of the other instances', () => {
    let now = 0
    const { link, published, deliver } = fakeLink()
    const own = new Map([
      ['peerA', 2],
      ['peerB', 0],
    ])
    const load = new UpstreamLoad({ link, ownLoad: () => own, metrics: null, now: () => now }, 'ns', 'me')
    load.start()
    try {
      load.announce()
      expect(JSON.parse(published[0].message)).toEqual({ v: 1, from: 'me', upstreams: [['peerA', 2]] })

      deliver({ v: 1, from: 'other1', upstreams: [['peerA', 3]] })
      deliver({
        v: 1,
        from: 'other2',
        upstreams: [
          ['peerA', 1],
          ['peerC', 4],
        ],
      })
      deliver({ v: 1, from: 'me', upstreams: [['peerA', 50]] }) // our own echo
      deliver({ v: 1, from: 'evil', upstreams: [['peerA', -5]] }) // refused whole
      expect(load.elsewhere('peerA')).toBe(4)
      expect(load.elsewhere('peerC')).toBe(4)

      now += 5_000
      deliver({ v: 1, from: 'other2', upstreams: [['peerA', 1]] }) // other2 refreshed, other1 did not
      now += 2_000
      expect(load.elsewhere('peerA')).toBe(1)
      expect(load.elsewhere('peerC')).toBe(0)
    } finally {
      load.stop()
    }
  })
})

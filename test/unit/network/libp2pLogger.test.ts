import { describe, expect, it } from 'vitest'
import { libp2pLogger } from '../../../src/network/libp2pLogger.js'

describe('libp2p logger', () => {
  it('without DEBUG, hands every component and scope one logger that does nothing', () => {
    const components = libp2pLogger({})!
    const log = components.forComponent('libp2p:mplex:stream')
    // The same object for every stream: nothing is built per stream.
    expect(components.forComponent('libp2p:multistream-select')).toBe(log)
    expect(log.newScope('inbound:1')).toBe(log)
    const calls: Array<((...args: unknown[]) => void) & { enabled?: boolean }> = [log, log.error, log.trace]
    for (const l of calls) {
      expect(l.enabled).toBe(false)
      expect(l('%s', 'ignored')).toBeUndefined()
    }
  })

  it('with DEBUG set, leaves libp2p its own debug logger', () => {
    expect(libp2pLogger({ DEBUG: 'libp2p:*' })).toBeUndefined()
  })
})

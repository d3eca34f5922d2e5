import { AbortError, ProtocolError, StreamCloseEvent, StreamResetError, TimeoutError } from '@libp2p/interface'
import { describe, expect, it } from 'vitest'
import { closeReason, dialFailureReason } from '../../../src/network/connectionMonitor.js'

const socketError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:9000`), { code })

describe('closeReason', () => {
  it('tells who closed a connection cleanly, and names what broke one that failed', () => {
    expect(closeReason(new StreamCloseEvent(false))).toBe('remote_closed')
    expect(closeReason(new StreamCloseEvent(true))).toBe('local_closed')
    expect(closeReason(new StreamCloseEvent(false, new StreamResetError()))).toBe('remote_reset')
    expect(closeReason(new StreamCloseEvent(true, new ProtocolError('Invalid frame type')))).toBe('muxer_error')
    const invalidFrame = Object.assign(new Error('Invalid frame type'), { name: 'InvalidFrameError' })
    expect(closeReason(new StreamCloseEvent(true, invalidFrame))).toBe('muxer_error')
    expect(closeReason(new StreamCloseEvent(true, new TimeoutError()))).toBe('timeout')
    expect(closeReason(new StreamCloseEvent(false, socketError('ECONNRESET')))).toBe('connection_reset')
    expect(closeReason(new StreamCloseEvent(true, new Error('Too many open streams')))).toBe('error')
  })
})

describe('dialFailureReason', () => {
  it('classifies libp2p dial errors by name and socket errors by code, looking inside an AggregateError', () => {
    expect(dialFailureReason(new TimeoutError())).toBe('timeout')
    expect(dialFailureReason(new AbortError())).toBe('aborted')
    expect(dialFailureReason(socketError('ECONNREFUSED'))).toBe('connection_refused')
    expect(dialFailureReason(new AggregateError([socketError('ECONNRESET')], 'all dials failed'))).toBe(
      'connection_reset',
    )
    expect(dialFailureReason(new Error('something else'))).toBe('error')
    expect(dialFailureReason(undefined)).toBe('error')
  })
})

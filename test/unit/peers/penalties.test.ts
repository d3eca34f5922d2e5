import { describe, expect, it } from 'vitest'
import { isRateLimitAnswer, isRequestError, penaltyForRequestError } from '../../../src/peers/penalties.js'
import { PeerAction } from '../../../src/reqresp/peerAction.js'
import { RequestError, RequestErrorCode } from '../../../src/reqresp/errors.js'
import { RespCode } from '../../../src/wire/constants.js'

const ID = '/eth2/beacon_chain/req/beacon_blocks_by_range/2/ssz_snappy'
const err = (code: RequestErrorCode, respCode?: number) =>
  new RequestError(code, ID, 'test', respCode === undefined ? {} : { respCode })

describe('penaltyForRequestError', () => {
  it.each([
    [RequestErrorCode.INVALID_RESPONSE, PeerAction.LowToleranceError],
    [RequestErrorCode.TOO_MANY_CHUNKS, PeerAction.LowToleranceError],
    [RequestErrorCode.REQUEST_TIMEOUT, PeerAction.MidToleranceError],
    [RequestErrorCode.TTFB_TIMEOUT, PeerAction.MidToleranceError],
    [RequestErrorCode.RESP_TIMEOUT, PeerAction.MidToleranceError],
    [RequestErrorCode.DIAL_FAILED, PeerAction.HighToleranceError],
    [RequestErrorCode.STREAM_FAILED, PeerAction.HighToleranceError],
    [RequestErrorCode.ABORTED, null],
  ])('%s → %s', (code, action) => {
    expect(penaltyForRequestError(err(code))).toBe(action)
  })

  it.each([
    ['InvalidRequest', RespCode.InvalidRequest, PeerAction.HighToleranceError],
    ['ServerError', RespCode.ServerError, PeerAction.HighToleranceError],
    ['ResourceUnavailable', RespCode.ResourceUnavailable, null],
    ['client-specific 128', 128, PeerAction.HighToleranceError],
    ['client-specific 255', 255, PeerAction.HighToleranceError],
  ])('ERROR_RESPONSE with %s (%i) → %s', (_name, respCode, action) => {
    expect(penaltyForRequestError(err(RequestErrorCode.ERROR_RESPONSE, respCode))).toBe(action)
  })

  it('a peer saying it limits us is not charged: Lighthouse’s 139, Prysm’s, Teku’s and Lodestar’s "rate limited"', () => {
    const answer = (respCode: number, message: string) =>
      new RequestError(RequestErrorCode.ERROR_RESPONSE, ID, `code ${respCode}: ${message}`, { respCode })
    for (const e of [
      answer(139, 'Wait 2.5s'),
      answer(RespCode.InvalidRequest, 'rate limited'),
      answer(RespCode.InvalidRequest, 'Peer has been rate limited'),
      answer(RespCode.ServerError, 'Rate-limited'),
      answer(RespCode.ServerError, 'REQUEST_ERROR_RATE_LIMITED'), // Lodestar's message: its error code
    ]) {
      expect(isRateLimitAnswer(e)).toBe(true)
      expect(penaltyForRequestError(e)).toBeNull()
    }
    expect(isRateLimitAnswer(answer(RespCode.InvalidRequest, 'count too large'))).toBe(false)
    expect(penaltyForRequestError(answer(RespCode.InvalidRequest, 'count too large'))).toBe(
      PeerAction.HighToleranceError,
    )
    expect(isRateLimitAnswer(new RequestError(RequestErrorCode.INVALID_RESPONSE, ID, 'rate limited'))).toBe(false)
  })

  it('ERROR_RESPONSE without a respCode is not mistaken for ResourceUnavailable', () => {
    expect(penaltyForRequestError(err(RequestErrorCode.ERROR_RESPONSE))).toBe(PeerAction.HighToleranceError)
  })

  it('covers every RequestErrorCode with a defined answer', () => {
    for (const code of Object.values(RequestErrorCode)) {
      expect(penaltyForRequestError(err(code, RespCode.ServerError))).not.toBeUndefined()
    }
    expect(Object.values(RequestErrorCode)).toHaveLength(9)
  })

  it('isRequestError tells RequestErrors from other errors', () => {
    expect(isRequestError(err(RequestErrorCode.DIAL_FAILED))).toBe(true)
    expect(isRequestError(new Error('x'))).toBe(false)
    expect(isRequestError(null)).toBe(false)
  })

  it('RequestError carries code, protocol and a message naming both', () => {
    const e = new RequestError(RequestErrorCode.ERROR_RESPONSE, ID, 'code 3: gone', { respCode: 3 })
    expect(e.message).toBe(`${ID}: ERROR_RESPONSE: code 3: gone`)
    expect(e.name).toBe('RequestError')
    expect(e.detail.respCode).toBe(3)
  })
})

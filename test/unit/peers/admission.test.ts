import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { Admission, ipOf, isLoopback } from '../../../src/peers/admission.js'

const inbound = (ip: string | null, exempt = false) => ({ direction: 'inbound' as const, ip, exempt })
const outbound = (ip: string | null) => ({ direction: 'outbound' as const, ip, exempt: false })

describe('Admission', () => {
  it('admits inbound peers up to maxPeers, one arrival at a time, and frees a slot on release', () => {
    const a = new Admission({ maxPeers: 3, maxInboundPerIp: 100, exemptLoopbackFromIpLimit: true })
    const verdicts = ['p1', 'p2', 'p3', 'p4', 'p5'].map((p, i) => a.admit(p, inbound(`10.0.0.${i}`)))
    expect(verdicts).toEqual(['admitted', 'admitted', 'admitted', 'max_peers', 'max_peers'])
    expect(a.size).toBe(3)
    a.release('p2')
    expect(a.admit('p4', inbound('10.0.0.3'))).toBe('admitted')
  })

  it('always admits outbound, static (exempt) and already admitted peers', () => {
    const a = new Admission({ maxPeers: 1, maxInboundPerIp: 1, exemptLoopbackFromIpLimit: false })
    expect(a.admit('p1', inbound('10.0.0.1'))).toBe('admitted')
    expect(a.admit('p1', inbound('10.0.0.1'))).toBe('admitted')
    expect(a.admit('out', outbound('10.0.0.1'))).toBe('admitted')
    expect(a.admit('static', inbound('10.0.0.1', true))).toBe('admitted')
    expect(a.size).toBe(3)
    expect(a.direction('out')).toBe('outbound')
  })

  it('limits inbound peers per IP, outbound ones not counted', () => {
    const a = new Admission({ maxPeers: 50, maxInboundPerIp: 3, exemptLoopbackFromIpLimit: true })
    a.admit('out', outbound('1.2.3.4'))
    const verdicts = ['a', 'b', 'c', 'd'].map((p) => a.admit(p, inbound('1.2.3.4')))
    expect(verdicts).toEqual(['admitted', 'admitted', 'admitted', 'ip_limit'])
    expect(a.admit('e', inbound('1.2.3.5'))).toBe('admitted')
    a.release('b')
    expect(a.admit('d', inbound('1.2.3.4'))).toBe('admitted')
  })

  it('exempts loopback from the per-IP limit by default, and not when told', () => {
    const exempt = new Admission({ maxPeers: 50, maxInboundPerIp: 1, exemptLoopbackFromIpLimit: true })
    expect(['a', 'b', 'c'].map((p) => exempt.admit(p, inbound('127.0.0.1')))).toEqual([
      'admitted',
      'admitted',
      'admitted',
    ])
    const strict = new Admission({ maxPeers: 50, maxInboundPerIp: 1, exemptLoopbackFromIpLimit: false })
    expect(['a', 'b'].map((p) => strict.admit(p, inbound('127.0.0.1')))).toEqual(['admitted', 'ip_limit'])
  })

  it('reads IPs from multiaddrs and knows loopback', () => {
    expect(ipOf(multiaddr('/ip4/127.0.0.1/tcp/9000'))).toBe('127.0.0.1')
    expect(ipOf(multiaddr('/ip6/::1/tcp/9000'))).toBe('::1')
    expect(ipOf(multiaddr('/dns4/example.com/tcp/9000'))).toBeNull()
    expect(isLoopback('127.8.9.10')).toBe(true)
    expect(isLoopback('::1')).toBe(true)
    expect(isLoopback('10.0.0.1')).toBe(false)
    expect(isLoopback('128.0.0.1')).toBe(false)
  })
})

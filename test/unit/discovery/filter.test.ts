import { describe, expect, it } from 'vitest'
import { ForkSchedule } from '../../../src/chain/forkSchedule.js'
import { loadNetworkPreset } from '../../../src/chain/networks.js'
import { forkFields } from '../../../src/discovery/enr.js'
import { acceptedDigests, classifyEnr } from '../../../src/discovery/filter.js'
import { makeEnr } from '../../helpers/enr.js'

const mainnet = loadNetworkPreset('mainnet')
const schedule = new ForkSchedule(mainnet.config, mainnet.genesisValidatorsRoot)
const sepolia = loadNetworkPreset('sepolia')
const sepoliaSchedule = new ForkSchedule(sepolia.config, sepolia.genesisValidatorsRoot)
const EPOCH = 420_000 // mainnet after BPO2 (8c9f62fe)
const window = { previousDigestGraceEpochs: 8, nextDigestLeadEpochs: 1 }
const ctx = { selfNodeId: 'ff'.repeat(32), digests: acceptedDigests(schedule, EPOCH, window) }
const ours = forkFields(schedule, EPOCH)
const dialable = { ip: '198.51.100.9', tcp: 9000, udp: 9000 }

describe('classifyEnr', () => {
  it('accepts a dialable peer on our fork, with what the peer manager needs', async () => {
    const peer = await makeEnr({ ...dialable, ...ours, attnets: [1, 2], syncnets: [3], custodyGroupCount: 8 })
    const verdict = classifyEnr(peer.enr, ctx)
    expect(verdict.outcome).toBe('accepted')
    if (verdict.outcome !== 'accepted') return
    expect(verdict.peer.peerId.equals(peer.peerId)).toBe(true)
    expect(verdict.peer.multiaddrs.map(String)).toEqual([`/ip4/198.51.100.9/tcp/9000/p2p/${peer.peerId}`])
    expect(verdict.peer).toMatchObject({
      nodeId: peer.enr.nodeId,
      enr: peer.text,
      seq: 1n,
      forkDigest: '8c9f62fe',
      attnets: [1, 2],
      syncnets: [3],
      custodyGroupCount: 8,
    })
  })

  it('puts the QUIC address first when the record has `quic`, and accepts a record with `quic` but no `tcp`', async () => {
    const both = await makeEnr({ ...dialable, quic: 9001, ...ours })
    const verdict = classifyEnr(both.enr, ctx)
    if (verdict.outcome !== 'accepted') throw new Error(verdict.outcome)
    expect(verdict.peer.multiaddrs.map(String)).toEqual([
      `/ip4/198.51.100.9/udp/9001/quic-v1/p2p/${both.peerId}`,
      `/ip4/198.51.100.9/tcp/9000/p2p/${both.peerId}`,
    ])
    const quicOnly = await makeEnr({ ip: '198.51.100.9', udp: 9000, quic: 9001, ...ours })
    const onlyVerdict = classifyEnr(quicOnly.enr, ctx)
    if (onlyVerdict.outcome !== 'accepted') throw new Error(onlyVerdict.outcome)
    expect(onlyVerdict.peer.multiaddrs.map(String)).toEqual([
      `/ip4/198.51.100.9/udp/9001/quic-v1/p2p/${quicOnly.peerId}`,
    ])
  })

  it('dials QUIC before TCP and IPv6 before IPv4 within each, taking tcp6/quic6 from tcp/quic when absent', async () => {
    const dual = await makeEnr({
      ip: '198.51.100.9',
      tcp: 9000,
      quic: 9001,
      ip6: '::1',
      tcp6: 9100,
      quic6: 9101,
      ...ours,
    })
    const verdict = classifyEnr(dual.enr, ctx)
    if (verdict.outcome !== 'accepted') throw new Error(verdict.outcome)
    expect(verdict.peer.multiaddrs.map(String)).toEqual([
      `/ip6/::1/udp/9101/quic-v1/p2p/${dual.peerId}`,
      `/ip4/198.51.100.9/udp/9001/quic-v1/p2p/${dual.peerId}`,
      `/ip6/::1/tcp/9100/p2p/${dual.peerId}`,
      `/ip4/198.51.100.9/tcp/9000/p2p/${dual.peerId}`,
    ])
    // EIP-778: an absent tcp6 is the tcp port (likewise quic6); an ip6-only record is dialable.
    const v6Only = await makeEnr({ ip6: '::1', tcp: 9000, quic: 9001, ...ours })
    const onlyVerdict = classifyEnr(v6Only.enr, ctx)
    if (onlyVerdict.outcome !== 'accepted') throw new Error(onlyVerdict.outcome)
    expect(onlyVerdict.peer.multiaddrs.map(String)).toEqual([
      `/ip6/::1/udp/9001/quic-v1/p2p/${v6Only.peerId}`,
      `/ip6/::1/tcp/9000/p2p/${v6Only.peerId}`,
    ])
  })

  it('names why a record is not passed on', async () => {
    const cases = {
      self: (await makeEnr({ ...dialable, ...ours })).enr,
      no_ip: (await makeEnr({ tcp: 9000, udp: 9000, ...ours })).enr,
      no_tcp_or_quic: (await makeEnr({ ip: '198.51.100.9', udp: 9000, ...ours })).enr,
      no_eth2: (await makeEnr({ ...dialable })).enr,
      bad_eth2: (await makeEnr({ ...dialable }, { eth2: Uint8Array.of(0x8c, 0x9f, 0x62, 0xfe) })).enr,
      wrong_fork: (await makeEnr({ ...dialable, ...forkFields(sepoliaSchedule, EPOCH) })).enr,
      old_fork: (await makeEnr({ ...dialable, ...forkFields(schedule, 400_000) })).enr,
    }
    const outcome = (enr: (typeof cases)['self'], selfNodeId = ctx.selfNodeId) =>
      classifyEnr(enr, { ...ctx, selfNodeId }).outcome
    expect(outcome(cases.self, cases.self.nodeId)).toBe('self')
    expect(outcome(cases.no_ip)).toBe('no_ip')
    expect(outcome(cases.no_tcp_or_quic)).toBe('no_tcp_or_quic')
    expect(outcome(cases.no_eth2)).toBe('no_eth2')
    expect(outcome(cases.bad_eth2)).toBe('bad_eth2')
    expect(outcome(cases.wrong_fork)).toBe('wrong_fork')
    expect(outcome(cases.old_fork)).toBe('wrong_fork') // electra: long past
  })
})

describe('acceptedDigests', () => {
  const bpo2 = 419_072
  it('is the current digest away from boundaries', () => {
    expect([...acceptedDigests(schedule, EPOCH, window)]).toEqual(['8c9f62fe'])
    expect([...acceptedDigests(schedule, 415_000, window)]).toEqual(['cb0d1acc'])
  })

  it('adds the next digest one epoch before its fork and keeps the previous one for the grace epochs', () => {
    expect([...acceptedDigests(schedule, bpo2 - 2, window)]).toEqual(['cb0d1acc'])
    expect([...acceptedDigests(schedule, bpo2 - 1, window)]).toEqual(['cb0d1acc', '8c9f62fe'])
    expect([...acceptedDigests(schedule, bpo2, window)]).toEqual(['8c9f62fe', 'cb0d1acc'])
    expect([...acceptedDigests(schedule, bpo2 + 7, window)]).toEqual(['8c9f62fe', 'cb0d1acc'])
    expect([...acceptedDigests(schedule, bpo2 + 8, window)]).toEqual(['8c9f62fe'])
    expect([...acceptedDigests(schedule, 0, window)]).toEqual(['b5303f2a'])
  })
})

import { SignableENR } from '@chainsafe/enr'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { ForkSchedule } from '../../../src/chain/forkSchedule.js'
import { loadNetworkPreset } from '../../../src/chain/networks.js'
import {
  decodeBitvector,
  decodeCgc,
  decodeEnrForkId,
  decodePeerEnr,
  encodeBitvector,
  encodeCgc,
  enrPrivateKey,
  forkFields,
  localEnrKvs,
  peerIdOfEnr,
} from '../../../src/discovery/enr.js'
import { DiscoveryError, DiscoveryErrorCode } from '../../../src/discovery/errors.js'
import { makeEnr } from '../../helpers/enr.js'

const hex = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? []).toString('hex')
const mainnet = loadNetworkPreset('mainnet')
const schedule = new ForkSchedule(mainnet.config, mainnet.genesisValidatorsRoot)

describe('ENR field encodings', () => {
  it('attnets and syncnets are SSZ bitvectors, least significant bit first', () => {
    expect(hex(encodeBitvector([], 64))).toBe('0000000000000000')
    expect(hex(encodeBitvector([0, 9, 63], 64))).toBe('0102000000000080')
    expect(hex(encodeBitvector([0, 1, 2, 3], 4))).toBe('0f')
    expect(hex(encodeBitvector([2], 4))).toBe('04')
    expect(() => encodeBitvector([64], 64)).toThrow(RangeError)
    expect(decodeBitvector(encodeBitvector([0, 9, 63], 64), 64)).toEqual([0, 9, 63])
    expect(decodeBitvector(Uint8Array.of(0x0f), 4)).toEqual([0, 1, 2, 3])
    expect(decodeBitvector(Uint8Array.of(0x10), 4)).toBeNull() // bit past the length
    expect(decodeBitvector(new Uint8Array(7), 64)).toBeNull() // wrong size
  })

  it('cgc is big-endian without leading zeros, 0 the empty string', () => {
    expect(hex(encodeCgc(0))).toBe('')
    expect(hex(encodeCgc(4))).toBe('04')
    expect(hex(encodeCgc(128))).toBe('80')
    expect(hex(encodeCgc(256))).toBe('0100')
    expect(hex(encodeCgc(0x123456))).toBe('123456')
    expect(() => encodeCgc(-1)).toThrow(RangeError)
    for (const n of [0, 4, 128, 256, 0x123456]) expect(decodeCgc(encodeCgc(n))).toBe(n)
    expect(decodeCgc(Uint8Array.of(0, 4))).toBe(4) // leading zeros are tolerated when reading
    expect(decodeCgc(new Uint8Array(9))).toBeNull()
  })

  it('eth2 is the SSZ ENRForkID of the epoch and nfd the next digest', () => {
    // Mainnet between BPO1 (412672) and BPO2 (419072): the next boundary is BPO2, still version 0x06.
    const { eth2, nfd } = forkFields(schedule, 415_000)
    expect(hex(eth2)).toBe(`cb0d1acc06000000${hex(bigU64Le(419072n))}`)
    expect(hex(nfd)).toBe('8c9f62fe')
    expect(decodeEnrForkId(eth2)).toEqual({
      forkDigest: Uint8Array.from(Buffer.from('cb0d1acc', 'hex')),
      nextForkVersion: Uint8Array.from(Buffer.from('06000000', 'hex')),
      nextForkEpoch: 419072n,
    })
    // After the last scheduled boundary: current version, FAR_FUTURE_EPOCH, zero nfd.
    const last = forkFields(schedule, 500_000)
    expect(decodeEnrForkId(last.eth2)!.nextForkEpoch).toBe(2n ** 64n - 1n)
    expect(hex(last.nfd)).toBe('00000000')
    expect(decodeEnrForkId(new Uint8Array(15))).toBeNull()
  })
})

function bigU64Le(n: bigint): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, n, true)
  return out
}

describe('our ENR key-values', () => {
  it('carries ip/tcp/udp, eth2, nfd, attnets, syncnets and cgc, signed by the identity key', async () => {
    const key = await generateKeyPair('secp256k1')
    const { eth2, nfd } = forkFields(schedule, 420_000)
    const kvs = localEnrKvs(key, {
      ip: '203.0.113.7',
      tcp: 9000,
      udp: 9001,
      eth2,
      nfd,
      attnets: [1, 63],
      syncnets: [3],
      custodyGroupCount: 8,
    })
    expect([...kvs.keys()].sort()).toEqual(
      ['attnets', 'cgc', 'eth2', 'id', 'ip', 'nfd', 'secp256k1', 'syncnets', 'tcp', 'udp'].sort(),
    )
    const signed = new SignableENR(kvs, 5n, enrPrivateKey(key))
    expect(signed.nodeId).toBe((await makeEnr({}, {}, key)).enr.nodeId) // same key: same node id
    expect(signed.ip).toBe('203.0.113.7')
    expect(signed.tcp).toBe(9000)
    expect(signed.udp).toBe(9001)
    expect(hex(kvs.get('cgc'))).toBe('08')
    expect(hex(kvs.get('eth2')!.subarray(0, 4))).toBe('8c9f62fe')
    expect(peerIdOfEnr(signed.toENR()).equals(peerIdFromPrivateKey(key))).toBe(true)
  })

  it('leaves out ip/tcp/udp and eth2/nfd when unknown', async () => {
    const kvs = localEnrKvs(await generateKeyPair('secp256k1'), { attnets: [], syncnets: [], custodyGroupCount: 4 })
    expect([...kvs.keys()].sort()).toEqual(['attnets', 'cgc', 'id', 'secp256k1', 'syncnets'])
  })

  it('refuses a key that is not secp256k1', async () => {
    const ed = await generateKeyPair('Ed25519')
    expect(() => enrPrivateKey(ed)).toThrow(DiscoveryError)
    try {
      enrPrivateKey(ed)
    } catch (e) {
      expect((e as DiscoveryError).code).toBe(DiscoveryErrorCode.UNSUPPORTED_KEY)
    }
  })
})

describe('decodePeerEnr', () => {
  it('reads a peer’s fields and its libp2p peer id', async () => {
    const { eth2, nfd } = forkFields(schedule, 420_000)
    const peer = await makeEnr({ ip: '198.51.100.1', tcp: 13000, eth2, nfd, attnets: [5], syncnets: [0, 1] })
    const fields = decodePeerEnr(peer.enr)
    expect(fields).toMatchObject({
      ip: '198.51.100.1',
      tcp: 13000,
      hasEth2: true,
      attnets: [5],
      syncnets: [0, 1],
      custodyGroupCount: 4,
    })
    expect(hex(fields.forkId!.forkDigest)).toBe('8c9f62fe')
    expect(hex(fields.nextForkDigest!)).toBe('00000000')
    expect(peerIdOfEnr(peer.enr).equals(peer.peerId)).toBe(true)
  })

  it('reports absent and malformed fields as null', async () => {
    const peer = await makeEnr({}, { attnets: null, syncnets: Uint8Array.of(1, 2), eth2: Uint8Array.of(1), cgc: null })
    expect(decodePeerEnr(peer.enr)).toMatchObject({
      ip: null,
      tcp: null,
      hasEth2: true,
      forkId: null,
      attnets: null,
      syncnets: null,
      custodyGroupCount: null,
      nextForkDigest: null,
    })
  })
})

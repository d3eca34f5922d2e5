import { readFileSync } from 'node:fs'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import {
  autoCustodyGroupCount,
  computeColumnsForCustodyGroup,
  custodyColumns,
  getCustodyGroups,
  nodeIdOf,
  updateCustody,
} from '../../../src/peers/custody.js'
import { PeerStore } from '../../../src/peers/peerStore.js'

interface Vector {
  case: string
  node_id: string
  custody_group_count: number
  result: number[]
}

const vectors = (
  parse(readFileSync(new URL('../../fixtures/fulu/get_custody_groups.yaml', import.meta.url), 'utf8')) as {
    cases: Vector[]
  }
).cases

// EIP-778's example record: this private key's node id (keccak256 of the uncompressed public key).
const EIP778_KEY = 'b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291'
const EIP778_NODE_ID = 'a448f24c6d18e575453db13171562b71999873db5b286df957af199ec94617f7'

describe('custody (fulu das-core.md)', () => {
  it.each(vectors)('get_custody_groups $case', (v) => {
    expect(getCustodyGroups(BigInt(v.node_id), v.custody_group_count)).toEqual(v.result)
  })

  it('compute_columns_for_custody_group: one column per group, the group itself', () => {
    expect(computeColumnsForCustodyGroup(0)).toEqual([0])
    expect(computeColumnsForCustodyGroup(127)).toEqual([127])
    expect(() => computeColumnsForCustodyGroup(128)).toThrow(RangeError)
    const v = vectors.find((c) => c.case === 'get_custody_groups_2')!
    expect(custodyColumns(BigInt(v.node_id), v.custody_group_count)).toEqual(v.result)
  })

  it('auto custody: the largest count whose columns the peers cover together, at least CUSTODY_REQUIREMENT', () => {
    const nodeId = BigInt(`0x${EIP778_NODE_ID}`)
    expect(autoCustodyGroupCount(nodeId, new Set(custodyColumns(nodeId, 10)))).toBe(10)
    // A column beyond the 11th group's does not raise it: the groups must be covered in the order they extend.
    const outside = Array.from({ length: 128 }, (_, i) => i).find((c) => !custodyColumns(nodeId, 11).includes(c))!
    expect(autoCustodyGroupCount(nodeId, new Set([...custodyColumns(nodeId, 10), outside]))).toBe(10)
    expect(autoCustodyGroupCount(nodeId, new Set())).toBe(4)
    expect(autoCustodyGroupCount(nodeId, new Set(Array.from({ length: 128 }, (_, i) => i)))).toBe(128)
  })

  it('refuses counts beyond NUMBER_OF_CUSTODY_GROUPS', () => {
    expect(() => getCustodyGroups(1n, 129)).toThrow(RangeError)
  })

  it('node id of a libp2p peer: keccak256 of its uncompressed secp256k1 key', () => {
    const key = privateKeyFromRaw(Buffer.from(EIP778_KEY, 'hex'))
    expect(nodeIdOf(peerIdFromPrivateKey(key))!.toString(16).padStart(64, '0')).toBe(EIP778_NODE_ID)
  })

  it('a peer custodies by its MetaData count first, its ENR cgc otherwise, recomputed when the count changes', () => {
    const key = privateKeyFromRaw(Buffer.from(EIP778_KEY, 'hex'))
    const peer = new PeerStore().add(peerIdFromPrivateKey(key), 'outbound')
    const nodeId = BigInt(`0x${EIP778_NODE_ID}`)
    expect(updateCustody(peer)).toMatchObject({ groupCount: 4, source: 'default' })
    peer.enrCustodyGroupCount = 8
    expect(updateCustody(peer)).toMatchObject({ groupCount: 8, source: 'enr' })
    expect([...peer.custody!.columns]).toEqual(custodyColumns(nodeId, 8))
    peer.metadata = { seqNumber: 1n, attnets: new Uint8Array(8), syncnets: new Uint8Array(1), custodyGroupCount: 16 }
    expect(updateCustody(peer)).toMatchObject({ groupCount: 16, source: 'metadata' })
    expect([...peer.custody!.columns]).toEqual(custodyColumns(nodeId, 16))
    // An impossible count from the wire is ignored, not trusted.
    peer.metadata = { ...peer.metadata, seqNumber: 2n, custodyGroupCount: 1000 }
    expect(updateCustody(peer)).toMatchObject({ groupCount: 8, source: 'enr' })
  })
})

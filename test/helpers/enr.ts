import { ENR, SignableENR } from '@chainsafe/enr'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { localEnrKvs, type LocalEnrFields } from '../../src/discovery/enr.js'

export interface TestEnr {
  privateKey: PrivateKey
  peerId: PeerId
  signable: SignableENR
  enr: ENR
  text: string
}

/**
 * A signed ENR of a fresh secp256k1 key (or `privateKey`) with the given fields; `extra` sets or (with
 * null) removes raw keys afterwards, for malformed records.
 */
export async function makeEnr(
  fields: Partial<LocalEnrFields> = {},
  extra: Record<string, Uint8Array | null> = {},
  privateKey?: PrivateKey,
): Promise<TestEnr> {
  const key = privateKey ?? (await generateKeyPair('secp256k1'))
  const kvs = localEnrKvs(key, { attnets: [], syncnets: [], custodyGroupCount: 4, ...fields })
  for (const [k, v] of Object.entries(extra)) {
    if (v === null) kvs.delete(k)
    else kvs.set(k, v)
  }
  const signable = new SignableENR(kvs, 1n, key.raw)
  const text = signable.encodeTxt()
  return { privateKey: key, peerId: peerIdFromPrivateKey(key), signable, enr: ENR.decodeTxt(text), text }
}

export { LONE_BOOTNODE_DISCOVERY, startLocalBootnode } from '../../src/discovery/localBootnode.js'

import { isIPv6 } from 'node:net'
import { SignableENR } from '@chainsafe/enr'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { Discv5Node, probeUdpPort } from './discv5.js'
import { localEnrKvs, type LocalEnrFields } from './enr.js'

/**
 * discv5 tuning for a node whose only source of records is a local bootnode: a lookup every 200 ms, and 16
 * distances asked per lookup, so that every record the bootnode holds comes back with nearly every lookup (with
 * discv5's 3, a record a few levels deep in its table could take a minute).
 */
export const LONE_BOOTNODE_DISCOVERY = {
  lookupIntervalMs: 200,
  minLookupGapMs: 50,
  lookupTimeoutMs: 3_000,
  requestTimeoutMs: 500,
  lookupDistances: 16,
}

/**
 * A plain discv5 node with a fresh key on `address` (a free UDP port), as a network's bootnode is: the devnet's
 * bootnode and the tests'. Peers advertise themselves with `addEnr`; the caller stops it.
 */
export async function startLocalBootnode(address = '127.0.0.1'): Promise<Discv5Node> {
  const privateKey = await generateKeyPair('secp256k1')
  const port = await probeUdpPort(address, 0)
  const where = isIPv6(address) ? { ip6: address, udp6: port } : { ip: address, udp: port }
  const kvs = localEnrKvs(privateKey, { ...where, attnets: [], syncnets: [], custodyGroupCount: 0 })
  return Discv5Node.start({
    privateKey,
    enr: new SignableENR(kvs, 1n, privateKey.raw),
    bindAddress: address,
    port,
    enrUpdate: false,
  })
}

/** A signed ENR text for a peer that is not a discv5 node itself (a devnet peer registered with a bootnode). */
export function signedEnr(privateKey: PrivateKey, fields: LocalEnrFields): string {
  return new SignableENR(localEnrKvs(privateKey, fields), 1n, privateKey.raw).encodeTxt()
}

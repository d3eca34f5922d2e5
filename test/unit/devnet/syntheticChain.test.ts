import { ssz } from '@lodestar/types'
import { describe, expect, it } from 'vitest'
import { loadNetworkPreset } from '../../../src/chain/networks.js'
import { devnetNetwork } from '../../../src/devnet/devnetNetwork.js'
import { type ChainBlock, SyntheticChain, type SyntheticChainOpts } from '../../../src/devnet/syntheticChain.js'

const GENESIS_TIME = 1_700_000_000
const network = devnetNetwork({ genesisTime: GENESIS_TIME })
/** Small blocks keep the tests that walk epochs fast; the size tests use the default. */
const SMALL = { payloadBytes: 3000 }

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const chainOf = (opts: SyntheticChainOpts = {}) => new SyntheticChain({ network }, { ...SMALL, ...opts })
const decode = (block: ChainBlock) => ssz.fulu.SignedBeaconBlock.deserialize(block.ssz)
const slots = (blocks: ChainBlock[]) => blocks.map((b) => b.slot)

describe('SyntheticChain determinism', () => {
  it('gives the same bytes for the same seed and other bytes for another seed', () => {
    const a = chainOf({ seed: 'alpha' })
    const b = chainOf({ seed: 'alpha' })
    const c = chainOf({ seed: 'beta' })
    // b is built in another order (a later slot first): the bytes must not depend on the call order.
    b.blockAt(12)
    for (let slot = 0; slot <= 12; slot++) {
      expect(hex(b.blockAt(slot)!.ssz)).toBe(hex(a.blockAt(slot)!.ssz))
      expect(hex(c.blockAt(slot)!.root)).not.toBe(hex(a.blockAt(slot)!.root))
    }
  })

  it('is stable across releases: a change to the generator shows here', () => {
    // Default seed and payload, genesis time 1_700_000_000, 2 s slots.
    const chain = new SyntheticChain({ network })
    expect(hex(chain.blockAt(0)!.root)).toBe('292a6dd94fad289a699194d0f9fbe78d019aab223e2b6d0cd6d0aaa30c863391')
    expect(hex(chain.blockAt(3)!.root)).toBe('de8329ea10c9e68efbfa5b3324ac262d4b38dbf91b022a39e4f40625a17eb8e3')
  })

  it('rebuilds evicted blocks byte for byte under maxCachedBlocks', () => {
    const bounded = chainOf({ maxCachedBlocks: 3 })
    const full = chainOf()
    expect(bounded.blocksInRange(0, 20, 19)).toHaveLength(20)
    expect(bounded.cachedBlockCount).toBe(3)
    for (const slot of [0, 7, 19, 1]) expect(hex(bounded.blockAt(slot)!.ssz)).toBe(hex(full.blockAt(slot)!.ssz))
    expect(bounded.cachedBlockCount).toBe(3)
    expect(full.cachedBlockCount).toBe(20)
  })
})

describe('SyntheticChain blocks', () => {
  const chain = chainOf({ skipSlotEvery: 5 })
  const built = chain.blocksInRange(0, 40, 39)

  it('are Fulu SignedBeaconBlocks whose root is hash_tree_root(message) and parent_root the previous root', () => {
    expect(slots(built)).toEqual([...Array(40).keys()].filter((s) => s === 0 || s % 5 !== 0))
    let previous: ChainBlock | null = null
    for (const block of built) {
      const signed = decode(block)
      expect(block.fork).toBe('fulu')
      expect(signed.message.slot).toBe(block.slot)
      expect(hex(block.root)).toBe(hex(ssz.fulu.BeaconBlock.hashTreeRoot(signed.message)))
      expect(hex(signed.message.parentRoot)).toBe(hex(block.parentRoot))
      expect(hex(block.parentRoot)).toBe(previous ? hex(previous.root) : '00'.repeat(32))
      expect(ssz.fulu.SignedBeaconBlock.serialize(signed)).toEqual(block.ssz)
      previous = block
    }
  })

  it('leave the genesis block unsigned and sign the others with the dummy pattern', () => {
    expect(decode(built[0]!).signature).toEqual(new Uint8Array(96))
    expect(decode(built[1]!).signature).toEqual(new Uint8Array(96).fill(0xa5))
    expect(decode(built[0]!).message.proposerIndex).toBe(0)
  })

  it('link their execution payloads: parent_hash, block_number and timestamp', () => {
    let previous: ReturnType<typeof decode> | null = null
    for (const block of built) {
      const payload = decode(block).message.body.executionPayload
      expect(payload.timestamp).toBe(GENESIS_TIME + 2 * block.slot)
      if (previous) {
        const parentPayload = previous.message.body.executionPayload
        expect(hex(payload.parentHash)).toBe(hex(parentPayload.blockHash))
        // Block numbers count blocks: a skipped slot has no execution block either.
        expect(payload.blockNumber).toBe(parentPayload.blockNumber + 1)
      } else {
        expect(payload.blockNumber).toBe(0)
        expect(hex(payload.parentHash)).toBe('00'.repeat(32))
      }
      expect(hex(payload.blockHash)).not.toBe('00'.repeat(32))
      previous = decode(block)
    }
  })

  it('carry ~payloadBytes of transactions in realistic sizes, and no blob commitments by default', () => {
    const big = new SyntheticChain({ network })
    for (const slot of [1, 2]) {
      const block = big.blockAt(slot)!
      const body = decode(block).message.body
      const txs = body.executionPayload.transactions
      expect(txs.reduce((n, tx) => n + tx.length, 0)).toBe(100_000)
      expect(block.ssz.length).toBeGreaterThan(100_000)
      expect(block.ssz.length).toBeLessThan(100_000 + 4096)
      expect(txs.length).toBeGreaterThan(100_000 / 1300)
      expect(txs.length).toBeLessThan(100_000 / 100)
      for (const tx of txs) expect(tx.length).toBeGreaterThanOrEqual(100)
      expect(new Set(txs.map((tx) => hex(tx))).size).toBe(txs.length)
      expect(body.blobKzgCommitments).toHaveLength(0)
    }
    const firstTx = (slot: number) => hex(decode(big.blockAt(slot)!).message.body.executionPayload.transactions[0]!)
    expect(firstTx(1)).not.toBe(firstTx(2))
    expect(decode(big.blockAt(0)!).message.body.executionPayload.transactions).toHaveLength(0)
    expect(decode(chainOf({ payloadBytes: 0 }).blockAt(1)!).message.body.executionPayload.transactions).toEqual([])
  })
})

describe('SyntheticChain navigation', () => {
  const chain = chainOf({ skipSlotEvery: 32 })

  it('blockAt returns null for skipped slots only', () => {
    expect(chain.blockAt(32)).toBeNull()
    expect(chain.blockAt(64)).toBeNull()
    expect(chain.blockAt(0)!.slot).toBe(0)
    expect(hex(chain.blockAt(33)!.parentRoot)).toBe(hex(chain.blockAt(31)!.root))
  })

  it('blocksInRange respects start, count and head, skipping empty slots', () => {
    expect(slots(chain.blocksInRange(30, 5, 100))).toEqual([30, 31, 33, 34])
    expect(slots(chain.blocksInRange(30, 5, 31))).toEqual([30, 31])
    expect(slots(chain.blocksInRange(30, 5, 32))).toEqual([30, 31])
    expect(chain.blocksInRange(30, 0, 100)).toEqual([])
    expect(chain.blocksInRange(40, 5, 39)).toEqual([])
    expect(slots(chain.blocksInRange(0, 3, 100))).toEqual([0, 1, 2])
    expect(chain.blocksInRange(70, 128, 80)).toHaveLength(11)
  })

  it('blockByRoot finds built blocks, and only up to headSlot when given', () => {
    for (const slot of [0, 1, 31, 33, 63]) {
      const block = chain.blockAt(slot)!
      expect(chain.blockByRoot(block.root)).toBe(block)
      expect(chain.blockByRoot(Uint8Array.from(block.root))!.slot).toBe(slot)
    }
    expect(chain.blockByRoot(new Uint8Array(32))).toBeNull()
    const root50 = chain.blockAt(50)!.root
    expect(chain.blockByRoot(root50, 49)).toBeNull()
    expect(chain.blockByRoot(root50, 50)!.slot).toBe(50)
    // A fresh chain has built nothing: the root is unknown until a head at or after it is named.
    const fresh = chainOf({ skipSlotEvery: 32 })
    expect(fresh.blockByRoot(root50)).toBeNull()
    expect(fresh.blockByRoot(root50, 60)!.slot).toBe(50)
  })

  it('headAt returns the latest block at or before the slot', () => {
    expect(chain.headAt(0).slot).toBe(0)
    expect(chain.headAt(31).slot).toBe(31)
    expect(chain.headAt(32).slot).toBe(31)
    expect(chain.headAt(33).slot).toBe(33)
  })

  it('checkpoint(epoch) is the root of the latest block at or before the epoch start', () => {
    expect(chain.checkpoint(0)).toEqual({ epoch: 0, root: chain.blockAt(0)!.root })
    // Slot 32 and 64 are skipped: the checkpoint root is the block before.
    expect(hex(chain.checkpoint(1).root)).toBe(hex(chain.blockAt(31)!.root))
    expect(hex(chain.checkpoint(2).root)).toBe(hex(chain.blockAt(63)!.root))
    const dense = chainOf()
    expect(hex(dense.checkpoint(1).root)).toBe(hex(dense.blockAt(32)!.root))
    expect(dense.checkpoint(1).epoch).toBe(1)
  })

  it('prebuild builds ahead without blocking, giving the same blocks', async () => {
    const ahead = chainOf({ skipSlotEvery: 32 })
    await ahead.prebuild(40)
    expect(ahead.cachedBlockCount).toBe(40)
    expect(hex(ahead.blockAt(40)!.ssz)).toBe(hex(chain.blockAt(40)!.ssz))
  })

  it('rejects bad slots and options', () => {
    expect(() => chain.blockAt(-1)).toThrow(RangeError)
    expect(() => chain.blocksInRange(0.5, 1, 10)).toThrow(RangeError)
    expect(() => chainOf({ payloadBytes: -1 })).toThrow(RangeError)
    expect(() => chainOf({ blobsPerBlock: 10 })).toThrow(/9 blobs/)
    const mainnet = loadNetworkPreset('mainnet')
    expect(() => new SyntheticChain({ network: mainnet })).toThrow(/starts in phase0/)
  })
})

describe('SyntheticChain across forks', () => {
  const forkEpochs = { ALTAIR: 0, BELLATRIX: 1, CAPELLA: 2, DENEB: 3, ELECTRA: 4, FULU: 5 }
  const multi = devnetNetwork({ genesisTime: GENESIS_TIME, forkEpochs })
  const chain = new SyntheticChain({ network: multi }, { ...SMALL, mergeEpoch: 3, blobsPerBlock: 2 })
  const E = chain.slotsPerEpoch

  it('builds each block as its epoch’s fork, linked across every boundary', () => {
    const forks = ['altair', 'bellatrix', 'capella', 'deneb', 'electra', 'fulu'] as const
    let previous: ChainBlock | null = null
    for (const block of chain.blocksInRange(0, 6 * E, 6 * E)) {
      const fork = forks[Math.floor(block.slot / E)]!
      expect(block.fork).toBe(fork)
      const signed = ssz[fork].SignedBeaconBlock.deserialize(block.ssz)
      expect(hex(ssz[fork].BeaconBlock.hashTreeRoot(signed.message as never))).toBe(hex(block.root))
      if (previous) expect(hex(block.parentRoot)).toBe(hex(previous.root))
      previous = block
    }
  })

  it('carries the default payload before the merge epoch, a payload with the slot’s time and blobs after it', () => {
    const capella = ssz.capella.SignedBeaconBlock.deserialize(chain.blockAt(3 * E - 1)!.ssz).message.body
    expect(
      ssz.capella.ExecutionPayload.equals(capella.executionPayload, ssz.capella.ExecutionPayload.defaultValue()),
    ).toBe(true)
    const deneb = ssz.deneb.SignedBeaconBlock.deserialize(chain.blockAt(3 * E)!.ssz).message.body
    expect(deneb.executionPayload.timestamp).toBe(GENESIS_TIME + 3 * E * 2)
    expect(deneb.blobKzgCommitments).toHaveLength(2)
    // Columns exist from Fulu only.
    expect(chain.dataColumnSidecar(5 * E - 1, 0)).toBeNull()
    expect(chain.dataColumnSidecar(5 * E, 0)).not.toBeNull()
  })
})

describe('SyntheticChain at Gloas', () => {
  const gloasNetwork = devnetNetwork({ genesisTime: GENESIS_TIME, forkEpochs: { GLOAS: 1 } })
  const chain = new SyntheticChain({ network: gloasNetwork }, { ...SMALL, blobsPerBlock: 2, skipSlotEvery: 7 })
  const E = chain.slotsPerEpoch

  it('builds Gloas blocks with a bid, linked to the Fulu blocks before them', () => {
    const last = chain.blockAt(E - 1)!
    const first = chain.blockAt(E)!
    expect([last.fork, first.fork]).toEqual(['fulu', 'gloas'])
    expect(hex(first.parentRoot)).toBe(hex(last.root))
    const signed = ssz.gloas.SignedBeaconBlock.deserialize(first.ssz)
    expect(hex(ssz.gloas.BeaconBlock.hashTreeRoot(signed.message))).toBe(hex(first.root))
    const bid = signed.message.body.signedExecutionPayloadBid.message
    expect([bid.slot, bid.blobKzgCommitments.length]).toEqual([E, 2])
    expect(hex(bid.parentBlockRoot)).toBe(hex(last.root))
    // The bid builds on the payload of the Fulu block before it.
    const fuluPayload = ssz.fulu.SignedBeaconBlock.deserialize(last.ssz).message.body.executionPayload
    expect(hex(bid.parentBlockHash)).toBe(hex(fuluPayload.blockHash))
  })

  it('gives each Gloas block an envelope with the payload its bid committed to, and none before Gloas or on a skip', () => {
    expect(chain.envelopeAt(E - 1)).toBeNull()
    expect(chain.envelopeAt(14)).toBeNull() // skipped
    for (const slot of [E, E + 1]) {
      const block = ssz.gloas.SignedBeaconBlock.deserialize(chain.blockAt(slot)!.ssz).message
      const bid = block.body.signedExecutionPayloadBid.message
      const envelope = ssz.gloas.SignedExecutionPayloadEnvelope.deserialize(chain.envelopeAt(slot)!).message
      expect(hex(envelope.beaconBlockRoot)).toBe(hex(chain.blockAt(slot)!.root))
      expect(hex(envelope.parentBeaconBlockRoot)).toBe(hex(block.parentRoot))
      expect(envelope.payload.slotNumber).toBe(slot)
      expect(hex(envelope.payload.blockHash)).toBe(hex(bid.blockHash))
      expect(hex(envelope.payload.prevRandao)).toBe(hex(bid.prevRandao))
      expect([envelope.builderIndex, BigInt(envelope.payload.gasLimit)]).toEqual([bid.builderIndex, bid.gasLimit])
      expect(hex(ssz.gloas.ExecutionRequests.hashTreeRoot(envelope.executionRequests))).toBe(
        hex(bid.executionRequestsRoot),
      )
      expect(envelope.payload.transactions.length).toBeGreaterThan(0)
    }
  })
})

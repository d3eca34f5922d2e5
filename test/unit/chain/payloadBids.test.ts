import { ForkName } from '@lodestar/params'
import { ssz } from '@lodestar/types'
import { describe, expect, it } from 'vitest'
import { devnetNetwork } from '../../../src/devnet/devnetNetwork.js'
import { SyntheticChain } from '../../../src/devnet/syntheticChain.js'
import { PayloadBids } from '../../../src/chain/payloadBids.js'

// Fulu until slot 32, Gloas from it: real blocks of both forks from the devnet's chain.
const network = devnetNetwork({ genesisTime: 1_700_000_000, forkEpochs: { GLOAS: 1 } })
const chain = new SyntheticChain({ network }, { payloadBytes: 1_000 })
const messageOf = (slot: number) => chain.blockAt(slot)!.ssz.subarray(100)

describe('PayloadBids', () => {
  it('keeps what a Gloas block’s bid commits its envelope to, by the block’s root', () => {
    const bids = new PayloadBids()
    const block = chain.blockAt(33)!
    bids.noteBlock(ForkName.gloas, messageOf(33), block.root)
    const bid = ssz.gloas.SignedBeaconBlock.deserialize(block.ssz).message.body.signedExecutionPayloadBid.message
    expect(bids.get(block.root)).toEqual({
      slot: 33,
      parentRoot: block.parentRoot,
      builderIndex: bid.builderIndex,
      prevRandao: bid.prevRandao,
      gasLimit: bid.gasLimit,
      blockHash: bid.blockHash,
      executionRequestsRoot: bid.executionRequestsRoot,
    })
    expect(bids.get(chain.blockAt(34)!.root)).toBeUndefined()
  })

  it('notes nothing for a block before Gloas, and keeps only the newest maxBids', () => {
    const bids = new PayloadBids({ maxBids: 2 })
    bids.noteBlock(ForkName.fulu, messageOf(31), chain.blockAt(31)!.root)
    expect(bids.size).toBe(0)
    for (const slot of [32, 33, 34]) bids.noteBlock(ForkName.gloas, messageOf(slot), chain.blockAt(slot)!.root)
    expect(bids.size).toBe(2)
    expect(bids.get(chain.blockAt(32)!.root)).toBeUndefined()
    expect(bids.get(chain.blockAt(34)!.root)?.slot).toBe(34)
  })
})

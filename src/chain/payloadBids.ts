/**
 * What a Gloas block's bid commits its payload envelope to, by block root: the fields gloas fork-choice.md
 * verify_execution_payload_envelope compares with the block (its slot and parent, the bid's builder, randao, gas
 * limit, execution block hash and execution requests root). A root names one block, whatever brought it (a verified
 * range, a gossip block whose signature nobody checked): the envelope of that root must match that block's bid.
 */
import { type ForkName, ForkSeq } from '@lodestar/params'
import { sszTypesFor } from '@lodestar/types'

export interface PayloadBid {
  slot: number
  parentRoot: Uint8Array
  builderIndex: number
  prevRandao: Uint8Array
  gasLimit: bigint
  blockHash: Uint8Array
  executionRequestsRoot: Uint8Array
}

export const PAYLOAD_BIDS_DEFAULTS = {
  /** Bids kept: a few epochs of blocks, what envelopes are asked for while the blocks are fresh (~100 B each). */
  maxBids: 512,
}

interface GloasBlockLike {
  slot: number
  parentRoot: Uint8Array
  body: {
    signedExecutionPayloadBid: {
      message: Omit<PayloadBid, 'slot' | 'parentRoot'>
    }
  }
}

export class PayloadBids {
  private readonly opts: typeof PAYLOAD_BIDS_DEFAULTS
  /** Insertion order is age: the oldest is dropped first. */
  private readonly bids = new Map<string, PayloadBid>()

  constructor(opts: Partial<typeof PAYLOAD_BIDS_DEFAULTS> = {}) {
    this.opts = { ...PAYLOAD_BIDS_DEFAULTS, ...opts }
  }

  /** Notes the bid of a BeaconBlock (its SSZ, the signed block's message) whose root is `root`; earlier forks: none. */
  noteBlock(fork: ForkName, message: Uint8Array, root: Uint8Array): void {
    if (!(ForkSeq[fork] >= ForkSeq.gloas)) return
    const key = Buffer.from(root).toString('hex')
    if (this.bids.has(key)) return
    let block: GloasBlockLike
    try {
      block = sszTypesFor(fork).BeaconBlock.deserialize(message) as unknown as GloasBlockLike
    } catch {
      return // its root was computed from these bytes, so they decode; a fork that moved the bid is not read here
    }
    const bid = block.body.signedExecutionPayloadBid.message
    this.bids.set(key, {
      slot: block.slot,
      parentRoot: block.parentRoot,
      builderIndex: bid.builderIndex,
      prevRandao: bid.prevRandao,
      gasLimit: bid.gasLimit,
      blockHash: bid.blockHash,
      executionRequestsRoot: bid.executionRequestsRoot,
    })
    if (this.bids.size > this.opts.maxBids) this.bids.delete(this.bids.keys().next().value!)
  }

  /** The bid of the block with this root, if one was noted. */
  get(root: Uint8Array): PayloadBid | undefined {
    return this.bids.get(Buffer.from(root).toString('hex'))
  }

  get size(): number {
    return this.bids.size
  }
}

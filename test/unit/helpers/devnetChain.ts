// One small deterministic devnet for the req/resp and relay unit tests: every fork at genesis (one digest, Fulu),
// a clock frozen at HEAD_SLOT, and real blocks from the synthetic chain (each one's parent_root is the previous
// block's root), so the relay's checks see the same bytes a devnet peer would send.
import { Clock } from '../../../src/chain/clock.js'
import { ForkSchedule } from '../../../src/chain/forkSchedule.js'
import { devnetNetwork } from '../../../src/devnet/devnetNetwork.js'
import { SyntheticChain } from '../../../src/devnet/syntheticChain.js'
import { ResponseTypes } from '../../../src/reqresp/responseTypes.js'
import { encodeResponseChunk } from '../../../src/wire/chunks.js'
import { RespCode } from '../../../src/wire/constants.js'

export const GENESIS_TIME = 1_700_000_000
export const network = devnetNetwork({ genesisTime: GENESIS_TIME })
export const forkSchedule = new ForkSchedule(network.config, network.genesisValidatorsRoot)
/** The wall clock the tests pretend it is: well past every block they ask for. */
export const HEAD_SLOT = 200
export const NOW_MS = (GENESIS_TIME + HEAD_SLOT * network.config.secondsPerSlot) * 1000 + 100
export const clock = Clock.fromChainConfig(network.config, GENESIS_TIME, { now: () => NOW_MS })
export const responseTypes = new ResponseTypes({ forkSchedule, clock })
export const DIGEST = forkSchedule.digestAtEpoch(0)

/** Small payloads keep hashing cheap; no skipped slots, so range k..k+n holds n blocks. */
export const chain = new SyntheticChain({ network }, { payloadBytes: 500 })

export const blockSsz = (slot: number): Uint8Array => chain.blockAt(slot)!.ssz
/** A success chunk of the block at `slot`, as a sound upstream writes it. */
export const blockChunk = (slot: number): Uint8Array => encodeResponseChunk(RespCode.Success, blockSsz(slot), DIGEST)

export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

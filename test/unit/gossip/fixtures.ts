// Shared fixtures of the gossip unit tests: devnet-style chains with chosen fork epochs, a validator on a settable
// clock, and a one-call "validate these SSZ bytes on this topic".
import { createHash } from 'node:crypto'
import { Clock } from '../../../src/chain/clock.js'
import { ForkSchedule } from '../../../src/chain/forkSchedule.js'
import { parseChainConfig } from '../../../src/chain/chainConfig.js'
import type { Network } from '../../../src/chain/resolveNetwork.js'
import {
  DEVNET_GENESIS_VALIDATORS_ROOT,
  devnetChainConfigYaml,
  devnetNetwork,
} from '../../../src/devnet/devnetNetwork.js'
import { GossipCodec } from '../../../src/gossip/gossipCodec.js'
import { decodeGossipPayload } from '../../../src/gossip/messageId.js'
import { formatTopic, type TopicKind } from '../../../src/gossip/topics.js'
import { GossipValidator } from '../../../src/gossip/validation.js'
import type { Verdict } from '../../../src/gossip/verdict.js'
import { compressBlock } from '../../../src/wire/snappyBlock.js'

export const GENESIS_TIME = 1_700_000_000
export const SLOT_MS = 2000
export const SLOTS_PER_EPOCH = 32

const EXTRA_FORK_VERSIONS: Record<string, string> = { HEZE: '0x08c0ffee' }

/** The devnet (every fork through Fulu at genesis), or with later epochs for some forks, e.g. { FULU: 2 }. */
export function testNetwork(forkEpochs: Record<string, number | null> = {}): Network {
  let yaml = devnetChainConfigYaml({ slotSeconds: SLOT_MS / 1000 })
  for (const [fork, epoch] of Object.entries(forkEpochs)) {
    const value = epoch === null ? '18446744073709551615' : String(epoch)
    const line = new RegExp(`^${fork}_FORK_EPOCH: .*$`, 'm')
    // A fork the devnet does not list (Heze, after Gloas) is appended with a version of the devnet's pattern.
    if (!line.test(yaml) && fork in EXTRA_FORK_VERSIONS) {
      yaml += `\n${fork}_FORK_VERSION: ${EXTRA_FORK_VERSIONS[fork]}\n${fork}_FORK_EPOCH: ${value}\n`
    }
    yaml = yaml.replace(line, `${fork}_FORK_EPOCH: ${value}`)
  }
  if (Object.keys(forkEpochs).length === 0)
    return devnetNetwork({ genesisTime: GENESIS_TIME, slotSeconds: SLOT_MS / 1000 })
  return {
    name: 'gossip-test',
    config: parseChainConfig(yaml, 'gossip-test'),
    genesisTime: GENESIS_TIME,
    genesisValidatorsRoot: DEVNET_GENESIS_VALIDATORS_ROOT.slice(),
  }
}

/** Unix ms `offsetMs` into `slot`. */
export function msAt(slot: number, offsetMs = 100): number {
  return GENESIS_TIME * 1000 + slot * SLOT_MS + offsetMs
}

export class Harness {
  readonly forkSchedule: ForkSchedule
  readonly clock: Clock
  readonly codec: GossipCodec
  readonly validator: GossipValidator
  nowMs = msAt(0)

  constructor(readonly network: Network = testNetwork()) {
    this.forkSchedule = new ForkSchedule(network.config, network.genesisValidatorsRoot)
    this.clock = Clock.fromChainConfig(network.config, network.genesisTime, { now: () => this.nowMs })
    this.codec = new GossipCodec({ forkSchedule: this.forkSchedule })
    this.validator = new GossipValidator({ clock: this.clock, forkSchedule: this.forkSchedule, now: () => this.nowMs })
  }

  /** The topic of `kind` (and subnet) at the digest in force at `epoch` (default: the current one). */
  topic(kind: TopicKind, subnet: number | null = null, epoch = this.clock.currentEpoch): string {
    return formatTopic(this.forkSchedule.digestHexAtEpoch(epoch), { kind, subnet })
  }

  /** Validate raw (already compressed, or deliberately broken) gossip data. */
  validateRaw(topic: string, data: Uint8Array): Verdict {
    const info = this.codec.topicInfo(topic)
    return this.validator.validate(info, data, decodeGossipPayload(data, info?.maxBytes ?? 0))
  }

  /** Validate SSZ bytes as they would arrive: snappy-compressed on `topic`. */
  validate(topic: string, ssz: Uint8Array): Verdict {
    return this.validateRaw(topic, compressBlock(ssz))
  }
}

/**
 * A selection proof that is_sync_committee_aggregator takes (or refuses) under the mainnet preset: the first
 * u32-numbered proof whose sha256 starts with a little-endian uint64 ≡ 0 (mod 8), or one that is not.
 */
export function syncSelectionProof(aggregator: boolean): Uint8Array {
  for (let i = 0; ; i++) {
    const proof = new Uint8Array(96)
    new DataView(proof.buffer).setUint32(0, i, true)
    const selects = createHash('sha256').update(proof).digest().readBigUInt64LE(0) % 8n === 0n
    if (selects === aggregator) return proof
  }
}

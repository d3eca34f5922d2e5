// Contower carries a chain across six fork boundaries (issue 14): minimal preset, 500 ms slots, Altair at genesis,
// then Bellatrix, Capella, Deneb, Electra, Fulu and Gloas at epochs 1 … 6, with the default (pre-merge) execution
// payload until Deneb and a builder's bid instead of a payload from Gloas. Two simulated beacon peers hold the chain and publish each slot's block; Contower is the only peer of a
// watcher built apart from its relay code (test/helpers/forkWatcher.ts), which follows the gossip on every fork's
// topic and asks for block ranges that span each boundary.
import '../helpers/minimalPreset.js'
import { ForkName } from '@lodestar/params'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { devnetChainConfigYaml, devnetNetwork, DEVNET_GENESIS_VALIDATORS_ROOT } from '../../src/devnet/devnetNetwork.js'
import { SimulatedPeer, SIMULATED_PEER_DEFAULTS } from '../../src/devnet/simulatedPeer.js'
import { SyntheticChain } from '../../src/devnet/syntheticChain.js'
import { createLogger } from '../../src/logger.js'
import type { ContowerNode } from '../../src/node.js'
import { ForkWatcher } from '../helpers/forkWatcher.js'
import { metricValue } from '../helpers/devnet.js'
import { startTestNode } from '../helpers/node.js'

const SLOT_MS = 500
/** The build's block root worker (`npm test` builds first), as the daemon runs it. */
const BUILT_WORKER = new URL('../../dist/bundle/blockRootWorker.js', import.meta.url)
const SLOTS_PER_EPOCH = 8
const FORK_EPOCHS = { ALTAIR: 0, BELLATRIX: 1, CAPELLA: 2, DENEB: 3, ELECTRA: 4, FULU: 5, GLOAS: 6 }
const BOUNDARIES = [
  { epoch: 1, before: ForkName.altair, after: ForkName.bellatrix },
  { epoch: 2, before: ForkName.bellatrix, after: ForkName.capella },
  { epoch: 3, before: ForkName.capella, after: ForkName.deneb },
  { epoch: 4, before: ForkName.deneb, after: ForkName.electra },
  { epoch: 5, before: ForkName.electra, after: ForkName.fulu },
  { epoch: 6, before: ForkName.fulu, after: ForkName.gloas },
]
/** Payloads are the default ExecutionPayload() before this epoch: the merge happens at the Deneb boundary. */
const MERGE_EPOCH = 3
/** Blocks are built up to this slot, an epoch past the last boundary. */
const LAST_SLOT = 7 * SLOTS_PER_EPOCH + 2

/** Genesis this far ahead of the setup: every host is up and meshed before the first block (a loaded machine). */
const GENESIS_DELAY_S = 10

const logger = createLogger({ level: 'silent', format: 'json' })
const chainOpts = { slotDurationMs: SLOT_MS, presetBase: 'minimal' as const, forkEpochs: FORK_EPOCHS }
const serving: SimulatedPeer[] = []
let genesisTime: number
let node: ContowerNode
let watcher: ForkWatcher
let stopPublishing: (() => void) | null = null

beforeAll(async () => {
  genesisTime = Math.floor(Date.now() / 1000) + GENESIS_DELAY_S
  const network = devnetNetwork({ genesisTime, ...chainOpts })
  const chain = new SyntheticChain({ network }, { payloadBytes: 2_000, mergeEpoch: MERGE_EPOCH })
  await chain.prebuild(LAST_SLOT + SLOTS_PER_EPOCH)
  for (let i = 0; i < 2; i++) {
    const peer = new SimulatedPeer({ network, chain, logger }, SIMULATED_PEER_DEFAULTS)
    await peer.start()
    serving.push(peer)
  }
  // Each slot one serving peer (in turn) publishes the slot's block on its fork's beacon_block topic.
  const clock = serving[0]!.clock
  stopPublishing = clock.onSlot((slot) => void serving[slot % serving.length]!.publishBlock(slot))
  clock.start()
  node = await startTestNode({ 'static-peers': serving.map((p) => p.multiaddr.toString()).join(',') }, network, {
    gossipsub: { ipColocationWhitelist: ['127.0.0.1'] },
    // Block roots on the build's worker, as the daemon hashes them: the worker must use this file's minimal preset.
    blockRoots: { workerFile: BUILT_WORKER },
  })
  watcher = await ForkWatcher.start({
    chainConfigYaml: devnetChainConfigYaml(chainOpts),
    genesisValidatorsRoot: DEVNET_GENESIS_VALIDATORS_ROOT,
    genesisTime,
    slotDurationMs: SLOT_MS,
  })
  watcher.subscribeAllBlockTopics()
  await watcher.host.dial(node.listenAddresses[0]!)
  await watcher.status(node.libp2p.peerId)
  if (watcher.currentSlot() >= 0) throw new Error(`setup took past genesis (slot ${watcher.currentSlot()})`)
}, 30_000)

afterAll(async () => {
  stopPublishing?.()
  serving[0]?.clock.stop()
  await watcher?.stop()
  await node?.stop()
  await Promise.all(serving.map((p) => p.stop()))
})

describe('a chain crossing Altair → Bellatrix → Capella → Deneb → Electra → Fulu → Gloas at consecutive epochs', () => {
  it('relays gossip on both sides of every boundary, each block on its own fork’s topic', async () => {
    const wanted = BOUNDARIES.flatMap((b) => [b.epoch * SLOTS_PER_EPOCH - 1, b.epoch * SLOTS_PER_EPOCH])
    await expect
      .poll(() => wanted.filter((slot) => !watcher.gossip.has(slot)), { timeout: 40_000, interval: 200 })
      .toEqual([])
    for (const b of BOUNDARIES) {
      expect(watcher.gossip.get(b.epoch * SLOTS_PER_EPOCH - 1)!.fork).toBe(b.before)
      expect(watcher.gossip.get(b.epoch * SLOTS_PER_EPOCH)!.fork).toBe(b.after)
    }
    expect(watcher.gossipErrors).toEqual([])
    // Pre-merge blocks (Bellatrix, Capella) were accepted and forwarded, not rejected: nothing was.
    const metrics = await node.registry!.metrics()
    expect(metrics).not.toMatch(/^contower_gossip_rejected_total/m)
    const forwarded = /^contower_gossip_accepted_total\{kind="beacon_block"\} (\d+)/m.exec(metrics)
    expect(Number(forwarded?.[1])).toBeGreaterThanOrEqual(wanted.length)
  }, 45_000)

  it('relays BlocksByRange spanning each boundary: context bytes of each block’s fork, linked parents', async () => {
    for (const b of BOUNDARIES) {
      const start = b.epoch * SLOTS_PER_EPOCH - 2
      // The range's last slot must have come (gossip may have brought only the boundary's first block so far).
      await expect.poll(() => serving[0]!.clock.currentSlot, { timeout: 10_000 }).toBeGreaterThanOrEqual(start + 3)
      const blocks = await watcher.blocksByRange(node.libp2p.peerId, start, 4)
      expect(blocks.map((x) => x.slot)).toEqual([start, start + 1, start + 2, start + 3])
      expect(blocks.map((x) => x.fork)).toEqual([b.before, b.before, b.after, b.after])
      // What came by range is what came by gossip.
      for (const x of blocks) if (watcher.gossip.has(x.slot)) expect(watcher.gossip.get(x.slot)!.root).toBe(x.root)
    }
    // Every root was hashed on the worker, with this chain's (minimal) preset.
    expect(await metricValue(node, 'contower_relay_block_roots_total', { thread: 'worker' })).toBeGreaterThan(0)
    expect(await metricValue(node, 'contower_relay_block_roots_total', { thread: 'event_loop' })).toBe(0)
  })

  it('relays the whole chain from genesis in one range: pre-merge payloads until Deneb, the slot’s time to Fulu, a bid from Gloas', async () => {
    // Up to the newest block gossip brought: past the Gloas boundary.
    const head = Math.max(...watcher.gossip.keys())
    expect(head).toBeGreaterThanOrEqual(FORK_EPOCHS.GLOAS * SLOTS_PER_EPOCH)
    const blocks = await watcher.blocksByRange(node.libp2p.peerId, 0, head + 1)
    expect(blocks.map((x) => x.slot)).toEqual([...Array(head + 1).keys()])
    for (const x of blocks) {
      const epoch = Math.floor(x.slot / SLOTS_PER_EPOCH)
      if (epoch < FORK_EPOCHS.BELLATRIX || epoch >= FORK_EPOCHS.GLOAS) expect(x.payload).toBeNull()
      else if (epoch < MERGE_EPOCH) expect(x.payload).toEqual({ isDefault: true, timestamp: 0 })
      else
        expect(x.payload).toEqual({ isDefault: false, timestamp: genesisTime + Math.floor((x.slot * SLOT_MS) / 1000) })
    }
    expect(new Set(blocks.map((x) => x.fork))).toEqual(new Set(BOUNDARIES.flatMap((b) => [b.before, b.after])))
  })
})

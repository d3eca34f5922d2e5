// Soak: Contower on a devnet whose serving peers switch at random between healthy and seven faults, under steady
// BlocksByRange requests from three requesters (each at 80% of Lodestar's quota, what one Lodestar upstream lets a
// requester ask); every answer is checked against the synthetic chain itself.
//
//   npm run soak -- --minutes 10 [--servers 3] [--requesters 3] [--switch-seconds 4] [--heal-seconds 20]
//                   [--faults stall,corrupt_field,wrong_root,die,hang,bad_crc,slow]
//
// Faults (per serving peer, re-drawn every 1–2× switch-seconds, healthy half the time): stall (never answers),
// corrupt field (a valid block with another state_root, one of a response's first 8 blocks drawn with the fault),
// wrong root (a valid block with another parent_root), die mid-response (connection reset after 1–8 chunks, drawn
// likewise), hang mid-response (silent after 1–8 chunks, the stream left open), bad CRC (a flipped byte in the
// snappy payload), slow (a pause before every chunk). For the last heal-seconds every peer is healthy: service must
// resume.
//
// The check is independent of Contower's verdicts: a delivered block is right when hash_tree_root of its message
// (computed here with @lodestar/types) is the chain's root at its slot, and a response is correct when it is exactly
// the chain's blocks of the range. At the end every cached range response and every block in the by-root index is
// read back from Contower's cache and checked the same way. Prints counts; exits 1 if wrong data was delivered,
// a cache entry is corrupt or an upstream banned Contower.
import '../src/setup.js'
import type { PeerId } from '@libp2p/interface'
import { ssz } from '@lodestar/types'
import type { Network } from '../src/chain/resolveNetwork.js'
import { devnetNetwork } from '../src/devnet/devnetNetwork.js'
import type { Misbehaviour } from '../src/devnet/misbehaviour.js'
import { SIMULATED_PEER_DEFAULTS, SimulatedPeer } from '../src/devnet/simulatedPeer.js'
import { type ChainBlock, SyntheticChain } from '../src/devnet/syntheticChain.js'
import { LODESTAR_QUOTAS } from '../src/spec/quotas.js'
import { createLogger } from '../src/logger.js'
import { CLIENT_DEFAULTS, ReqRespClient } from '../src/reqresp/client.js'
import { RequestError, RequestErrorCode } from '../src/reqresp/errors.js'
import { getProtocol } from '../src/reqresp/protocols.js'
import { ResponseTypes } from '../src/reqresp/responseTypes.js'
import { toRelayRequest } from '../src/relay/relayRequest.js'
import type { ResponseCache } from '../src/relay/responseCache.js'
import { ByteReader } from '../src/wire/byteReader.js'
import { readResponseChunk, type WireBytes } from '../src/wire/chunks.js'
import { RespCode } from '../src/wire/constants.js'
import { startContower } from './lib/devnet.js'
import { listOption, numberOption as option } from './lib/intOption.js'

const BY_RANGE = getProtocol('beacon_blocks_by_range', 2)
const SLOT_SECONDS = 2
const HISTORY_SLOTS = 256
const BLOCK_BYTES = 20_000
const MAX_COUNT = 32
/** Requests stay this far behind the head: blocks being built and gossiped are not what the soak is about. */
const HEAD_MARGIN = 4
/** Each requester keeps to this share of Lodestar's BlocksByRange quota (what one Lodestar upstream lets a requester ask). */
const QUOTA_SHARE = 0.8

type Fault = 'none' | 'stall' | 'corrupt_field' | 'wrong_root' | 'die' | 'hang' | 'bad_crc' | 'slow'
const FAULTS: Fault[] = ['stall', 'corrupt_field', 'wrong_root', 'die', 'hang', 'bad_crc', 'slow']
/** Each soak fault as the simulated peer's handlers commit it (devnet/misbehaviour.ts). */
const HANDLER_FAULT: Record<Fault, Misbehaviour> = {
  none: 'none',
  stall: 'stall',
  corrupt_field: 'alter_block',
  wrong_root: 'wrong_parent',
  die: 'disconnect',
  hang: 'hang',
  bad_crc: 'corrupt',
  slow: 'slow',
}

interface Counts {
  requests: number
  correct: number
  specErrors: Map<string, number>
  /** Responses with at least one block that is not the chain's. */
  wrongResponses: number
  wrongBlocks: number
  /** Success, every block right, but fewer than the chain has in the range. */
  incomplete: number
  /** The first few of those, as the slots expected and got, for a look at where they come from. */
  incompleteSamples: string[]
  /** Ended without a spec answer (timeouts, resets). */
  noAnswer: Map<string, number>
}

const newCounts = (): Counts => ({
  requests: 0,
  correct: 0,
  specErrors: new Map(),
  wrongResponses: 0,
  wrongBlocks: 0,
  incomplete: 0,
  incompleteSamples: [],
  noAnswer: new Map(),
})

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1)

/** hash_tree_root(message) of a serialized SignedBeaconBlock of the chain's fork; null if it does not decode. */
function rootOf(signedBlock: Uint8Array): { slot: number; root: Uint8Array } | null {
  try {
    const block = ssz.fulu.SignedBeaconBlock.deserialize(signedBlock).message
    return { slot: block.slot, root: ssz.fulu.BeaconBlock.hashTreeRoot(block) }
  } catch {
    return null
  }
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b))

/** Whether a delivered block is the chain's block at its slot. */
function isChainBlock(chain: SyntheticChain, signedBlock: Uint8Array): boolean {
  const got = rootOf(signedBlock)
  const real = got && chain.blockAt(got.slot)
  return !!real && sameBytes(real.root, got.root)
}

async function main(): Promise<void> {
  const minutes = option('minutes', 10, 0.1, 24 * 60)
  const serverCount = option('servers', 3, 1, 16)
  const requesterCount = option('requesters', 3, 1, 16)
  const switchSeconds = option('switch-seconds', 4, 0.5, 600)
  const healSeconds = option('heal-seconds', 20, 0, 600)
  const faults = listOption('faults', FAULTS)
  const logger = createLogger({ level: 'silent', format: 'json' })
  const network: Network = devnetNetwork({
    genesisTime: Math.floor(Date.now() / 1000) - HISTORY_SLOTS * SLOT_SECONDS,
    slotSeconds: SLOT_SECONDS,
  })
  const chain = new SyntheticChain({ network }, { payloadBytes: BLOCK_BYTES, maxCachedBlocks: 4096 })
  const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`)
  const stops: Array<() => Promise<unknown>> = []
  let maxRss = process.memoryUsage().rss
  const rssTimer = setInterval(() => (maxRss = Math.max(maxRss, process.memoryUsage().rss)), 1000)
  let exitCode = 0
  try {
    const servers: SimulatedPeer[] = []
    /** The fault each server commits now, for the progress line. */
    const faultsNow: Fault[] = []
    for (let i = 0; i < serverCount; i++) {
      const peer = new SimulatedPeer({ network, chain, logger }, SIMULATED_PEER_DEFAULTS)
      if (i === 0) await chain.prebuild(Math.max(0, peer.clock.currentSlot))
      await peer.start()
      stops.push(() => peer.stop())
      servers.push(peer)
    }
    const clock = servers[0].clock
    const stopSlots = clock.onSlot((slot) => void chain.prebuild(slot))
    clock.start()
    stops.push(async () => {
      stopSlots()
      clock.stop()
    })
    const contower = await startContower(network, logger, {
      'static-peers': servers.map((s) => s.multiaddr.toString()).join(','),
    })
    stops.push(() => contower.stop())
    const node = contower.node
    await until(() => servers.every((s) => node.peerStore.get(s.peerId)?.handshaken), 60_000, 'upstream handshakes')
    const requesters: SimulatedPeer[] = []
    for (let i = 0; i < requesterCount; i++) {
      const peer = new SimulatedPeer({ network, chain, logger }, { ...SIMULATED_PEER_DEFAULTS, serveBlocks: false })
      await peer.start()
      stops.push(() => peer.stop())
      await peer.libp2p.dial(node.listenAddresses[0])
      requesters.push(peer)
    }
    log(
      `${serverCount} serving peers, ${requesterCount} requesters, Contower ${node.listenAddresses[0].toString()}; ` +
        `soaking ${minutes} min (faults until the last ${healSeconds} s)`,
    )

    const startedMs = Date.now()
    const endMs = startedMs + minutes * 60_000
    const healMs = Math.max(startedMs, endMs - healSeconds * 1000)
    const faultCounts = new Map<Fault, number>()
    let switching = true
    const switchTimers = servers.map((server, i) => {
      const next = () => {
        if (!switching) return
        const fault: Fault =
          Date.now() >= healMs || Math.random() < 0.5 ? 'none' : faults[Math.floor(Math.random() * faults.length)]
        server.misbehaviour = HANDLER_FAULT[fault]
        server.faultAtChunk = Math.floor(Math.random() * 8) // a changed block or a reset mid-response, not only first
        faultsNow[i] = fault
        bump(faultCounts as Map<string, number>, fault)
        timer = setTimeout(next, switchSeconds * 1000 * (1 + Math.random()))
      }
      let timer: NodeJS.Timeout = setTimeout(next, 0)
      return () => clearTimeout(timer)
    })
    const all = newCounts()
    const healed = newCounts()
    const asked = new Map<string, Uint8Array>() // cache key → request ssz, for the cache check
    const progress = setInterval(() => {
      log(
        `${all.requests} requests, ${all.correct} correct, ${sum(all.specErrors)} spec errors, ` +
          `${all.wrongResponses} wrong, ${sum(all.noAnswer)} no answer; faults now: ` +
          servers.map((_, i) => faultsNow[i] ?? 'none').join(' '),
      )
    }, 30_000)
    await Promise.all(
      requesters.map(async (requester) => {
        const client = new ReqRespClient(
          {
            host: requester.libp2p,
            responseTypes: new ResponseTypes({ forkSchedule: requester.forkSchedule, clock: requester.clock }),
            metrics: null,
          },
          CLIENT_DEFAULTS,
        )
        while (Date.now() < endMs) {
          const head = clock.currentSlot - HEAD_MARGIN
          const count = 1 + Math.floor(Math.random() * MAX_COUNT)
          const startSlot = 1 + Math.floor(Math.random() * Math.max(1, head - count))
          const request = BY_RANGE.request!.serialize({ startSlot, count, step: 1 })
          asked.set(toRelayRequest(BY_RANGE, BY_RANGE.request!.deserialize(request)).key, request)
          const counts = Date.now() >= healMs + 5_000 ? [all, healed] : [all]
          const sentMs = Date.now()
          const outcome = await ask(client, node.libp2p.peerId, request, count)
          const expected = chain.blocksInRange(startSlot, count, head + HEAD_MARGIN)
          for (const c of counts) record(c, chain, outcome, expected)
          // Paced like a well-behaved node: over a request's cost in time, at QUOTA_SHARE of the quota's rate.
          const quota = LODESTAR_QUOTAS[BY_RANGE.name]
          await sleep(
            Math.max(100, (count * quota.seconds * 1000) / (quota.tokens * QUOTA_SHARE) - (Date.now() - sentMs)),
          )
        }
      }),
    )
    switching = false
    for (const stop of switchTimers) stop()
    clearInterval(progress)

    const responseTypes = new ResponseTypes({ forkSchedule: servers[0].forkSchedule, clock })
    const checked = await checkCache(node.relayCache, chain, asked, responseTypes, clock.currentSlot)
    const bans = servers.filter((s) => s.bans.isBanned(node.libp2p.peerId.toString())).length
    const quotaExceeded = servers.reduce((n, s) => n + s.stats.quotaExceeded, 0)
    const scores = servers.map((s) => node.scores.score(s.peerId.toString()).toFixed(1)).join(' ')
    const connected = servers.filter((s) => node.libp2p.getConnections(s.peerId).length > 0).length

    console.log(`\nsoak: ${minutes} min, ${serverCount} serving peers, ${requesterCount} requesters`)
    console.log(
      `fault switches: ${[...faultCounts].map(([f, n]) => `${f} ${n}`).join(', ')} (last ${healSeconds} s healthy)`,
    )
    printCounts('all requests', all)
    printCounts(`after healing (last ${Math.max(0, healSeconds - 5)} s)`, healed)
    console.log(
      `cache: ${checked.entries} range entries and ${checked.indexed} indexed blocks checked, ` +
        `${checked.corruptEntries} entries and ${checked.corruptIndexed} indexed blocks corrupt`,
    )
    console.log(`upstream bans of Contower: ${bans} (quota violations seen by upstreams: ${quotaExceeded})`)
    console.log(`upstreams connected at the end: ${connected} of ${serverCount}; scores: ${scores}`)
    /** A counter of Contower's summed by one label, as `a 1, b 2`. */
    const byLabel = async (name: string, label: string) => {
      const sums = new Map<string, number>()
      for (const v of (await node.registry?.getSingleMetric(name)?.get())?.values ?? [])
        sums.set(String(v.labels[label]), (sums.get(String(v.labels[label])) ?? 0) + v.value)
      return [...sums].map(([k, v]) => `${k} ${v}`).join(', ') || 'none'
    }
    console.log(`Contower's results: ${await byLabel('contower_relay_requests_total', 'result')}`)
    console.log(`upstream errors: ${await byLabel('contower_relay_upstream_errors_total', 'reason')}`)
    console.log(
      `answers gone on from another upstream after one failed mid-response: ` +
        (await byLabel('contower_relay_resumes_total', 'outcome')),
    )
    console.log(`max RSS (this process: Contower, peers and requesters): ${(maxRss / 2 ** 20).toFixed(0)} MiB`)
    if (all.wrongResponses > 0 || checked.corruptEntries + checked.corruptIndexed > 0 || bans + quotaExceeded > 0) {
      exitCode = 1
    }
  } finally {
    clearInterval(rssTimer)
    for (const stop of stops.reverse()) await stop().catch(() => {})
  }
  process.exit(exitCode)
}

type Outcome = { blocks: Uint8Array[]; error: RequestError | null }

async function ask(client: ReqRespClient, peer: PeerId, request: Uint8Array, count: number): Promise<Outcome> {
  const blocks: Uint8Array[] = []
  try {
    for await (const chunk of client.request(peer, BY_RANGE, request, { maxChunks: count })) blocks.push(chunk.ssz!)
    return { blocks, error: null }
  } catch (e) {
    if (!(e instanceof RequestError)) throw e
    return { blocks, error: e }
  }
}

function record(c: Counts, chain: SyntheticChain, outcome: Outcome, expected: ChainBlock[]): void {
  c.requests++
  const wrong = outcome.blocks.filter((b) => !isChainBlock(chain, b)).length
  if (wrong > 0) {
    c.wrongResponses++
    c.wrongBlocks += wrong
  }
  const { error } = outcome
  if (error) {
    if (error.code === RequestErrorCode.ERROR_RESPONSE) bump(c.specErrors, RespCode[error.detail.respCode as RespCode])
    else bump(c.noAnswer, error.code)
    return
  }
  if (wrong > 0) return
  const exact =
    outcome.blocks.length === expected.length &&
    outcome.blocks.every((b, i) => sameBytes(rootOf(b)!.root, expected[i].root))
  if (exact) c.correct++
  else {
    c.incomplete++
    const slots = (blocks: Array<{ slot: number }>) => blocks.map((b) => b.slot).join(' ')
    const got = outcome.blocks.map((b) => rootOf(b)!)
    if (c.incompleteSamples.length < 5) c.incompleteSamples.push(`expected ${slots(expected)}; got ${slots(got)}`)
  }
}

/** Reads back every cached range response asked during the soak, and every indexed block of those ranges. */
async function checkCache(
  cache: ResponseCache,
  chain: SyntheticChain,
  asked: Map<string, Uint8Array>,
  responseTypes: ResponseTypes,
  headSlot: number,
) {
  const out = { entries: 0, corruptEntries: 0, indexed: 0, corruptIndexed: 0 }
  const decode = async (raw: WireBytes): Promise<Uint8Array | null> => {
    try {
      const reader = new ByteReader(
        (async function* () {
          yield raw
        })(),
      )
      const chunk = await readResponseChunk(reader, {
        contextBytes: true,
        boundsFor: responseTypes.boundsFor(BY_RANGE),
      })
      return chunk?.ssz ?? null
    } catch {
      return null
    }
  }
  const roots = new Map<string, Uint8Array>()
  for (const [key, request] of asked) {
    const { startSlot, count } = BY_RANGE.request!.deserialize(request) as { startSlot: number; count: number }
    for (const b of chain.blocksInRange(startSlot, count, headSlot))
      roots.set(Buffer.from(b.root).toString('hex'), b.root)
    const entry = cache.get(key)
    if (!entry) continue
    out.entries++
    for (const raw of entry.chunks) {
      const block = await decode(raw)
      if (!block || !isChainBlock(chain, block)) {
        out.corruptEntries++
        break
      }
    }
  }
  for (const root of roots.values()) {
    const entry = cache.getBlocksByRoot([root])
    if (!entry) continue
    out.indexed++
    const block = await decode(entry.chunks[0])
    const got = block && rootOf(block)
    if (!got || !sameBytes(got.root, root)) out.corruptIndexed++
  }
  return out
}

function printCounts(label: string, c: Counts): void {
  const fmt = (m: Map<string, number>) =>
    m.size === 0 ? '0' : `${sum(m)} (${[...m].map(([k, v]) => `${k} ${v}`).join(', ')})`
  console.log(
    `${label}: requests ${c.requests}, correct ${c.correct}, spec errors ${fmt(c.specErrors)}, ` +
      `wrong data delivered ${c.wrongResponses} responses / ${c.wrongBlocks} blocks, ` +
      `short but right ${c.incomplete}, no answer ${fmt(c.noAnswer)}`,
  )
  for (const sample of c.incompleteSamples) console.log(`  short: ${sample}`)
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0)

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

async function until(ok: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

await main()

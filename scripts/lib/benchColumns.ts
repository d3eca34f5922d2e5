// The column variant of bench:relay (`npm run bench:relay -- --columns`): DataColumnSidecarsByRange for --columns-asked
// columns over --slots slots with blobs, fetched by a requester (a) directly from a supernode (cgc 128) and (b) through
// Contower, which is not connected to the supernode and splits each request over custodians of smaller custody
// (none of which holds every asked column), merging their answers; its cache is cleared before every (b) fetch.
// Everything runs in this process on 127.0.0.1 (one event loop: Contower's CPU is paid in series, as with
// --in-process); rounds alternate the order of (a) and (b); ratios are to (a) in the same run.
import { cpus, loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import type { Registry } from 'prom-client'
import { devnetNetwork } from '../../src/devnet/devnetNetwork.js'
import type { SimulatedPeer } from '../../src/devnet/simulatedPeer.js'
import { startSimulatedPeer } from '../../src/devnet/simulatedPeer.js'
import { SyntheticChain } from '../../src/devnet/syntheticChain.js'
import { createLogger } from '../../src/logger.js'
import { getProtocol } from '../../src/reqresp/protocols.js'
import { percentile } from './stats.js'
import { startContower } from './devnet.js'

const BY_RANGE = getProtocol('data_column_sidecars_by_range', 1)
const SLOT_SECONDS = 2

export interface ColumnBenchOpts {
  iterations: number
  warmup: number
  /** Custodians behind Contower, each with `custodianGroups` custody groups. */
  custodians: number
  custodianGroups: number
  columnsAsked: number
  slots: number
  blobsPerBlock: number
}

export const COLUMN_BENCH_DEFAULTS: ColumnBenchOpts = {
  iterations: 30,
  warmup: 3,
  custodians: 4,
  custodianGroups: 16,
  columnsAsked: 8,
  slots: 32,
  blobsPerBlock: 6,
}

/** Runs the column benchmark, prints its table; returns the exit code (1 when answers differed). */
export async function runColumnBench(opts: ColumnBenchOpts, log: (msg: string) => void): Promise<number> {
  const logger = createLogger({ level: 'silent', format: 'json' })
  const historySlots = opts.slots + 16
  const network = devnetNetwork({
    genesisTime: Math.floor(Date.now() / 1000) - historySlots * SLOT_SECONDS,
    slotSeconds: SLOT_SECONDS,
  })
  const chain = new SyntheticChain({ network }, { payloadBytes: 2_000, blobsPerBlock: opts.blobsPerBlock })
  const stops: Array<() => Promise<unknown>> = []
  try {
    await chain.prebuild(historySlots)
    const peer = async (custodyGroupCount: number, serveBlocks = true): Promise<SimulatedPeer> => {
      const p = await startSimulatedPeer({ network, chain, logger }, { custodyGroupCount, serveBlocks })
      stops.push(() => p.stop())
      return p
    }
    const supernode = await peer(128)
    const custodians: SimulatedPeer[] = []
    for (let i = 0; i < opts.custodians; i++) custodians.push(await peer(opts.custodianGroups))
    const columns = askedColumns(custodians, opts.columnsAsked)
    const contower = await startContower(network, logger, {
      'static-peers': custodians.map((c) => c.multiaddr.toString()).join(','),
      // The benchmark asks Contower far more than a Lodestar quota; the custodians' quotas still apply upstream.
      'rate-limits': `${BY_RANGE.name}:1000000/10`,
    })
    stops.push(() => contower.stop())
    const { node } = contower
    const deadline = Date.now() + 20_000
    while (!custodians.every((c) => node.peerStore.get(c.peerId)?.custody?.source === 'metadata')) {
      if (Date.now() > deadline) throw new Error('Contower did not learn the custodians’ custody in 20 s')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const requester = await peer(4, false)
    await requester.libp2p.dial(supernode.multiaddr)
    await requester.libp2p.dial(node.listenAddresses[0])
    const startSlot = historySlots - opts.slots
    const request = BY_RANGE.request!.serialize({ startSlot, count: opts.slots, columns })
    const maxChunks = opts.slots * columns.length
    log(
      `columns ${columns.join(',')} over slots [${startSlot}, ${startSlot + opts.slots}), ${opts.blobsPerBlock} blobs ` +
        `per block; ${opts.custodians} custodians of ${opts.custodianGroups} groups behind Contower; none holds all`,
    )

    const samples = { direct: [] as number[], relayed: [] as number[] }
    let mismatches = 0
    let bytes = 0
    const fetch = async (to: 'direct' | 'relayed') => {
      if (to === 'relayed') node.relayCache.clear()
      const started = performance.now()
      const chunks = await requester.fetch(
        to === 'direct' ? supernode.peerId : node.libp2p.peerId,
        BY_RANGE,
        request,
        maxChunks,
      )
      const ms = performance.now() - started
      return { ms, payload: Buffer.concat(chunks.map((c) => c.ssz!)) }
    }
    for (let round = 0; round < opts.warmup + opts.iterations; round++) {
      const order: Array<'direct' | 'relayed'> = round % 2 === 0 ? ['direct', 'relayed'] : ['relayed', 'direct']
      const results: Record<string, { ms: number; payload: Buffer }> = {}
      for (const to of order) results[to] = await fetch(to)
      if (!results.direct.payload.equals(results.relayed.payload)) {
        mismatches++
        log(
          `round ${round}: relayed ${results.relayed.payload.byteLength} bytes, direct ${results.direct.payload.byteLength}`,
        )
      }
      bytes = results.direct.payload.byteLength
      if (round < opts.warmup) continue
      samples.direct.push(results.direct.ms)
      samples.relayed.push(results.relayed.ms)
    }

    const subRequests = await histogramMean(node, 'contower_relay_column_subrequests')
    const counter = async (name: string) =>
      ((await node.registry?.getSingleMetric(name)?.get())?.values ?? []).reduce((n, v) => n + v.value, 0)
    const unavailable = await counter('contower_relay_columns_unavailable_total')
    const errorValues =
      (await node.registry?.getSingleMetric('contower_relay_upstream_errors_total')?.get())?.values ?? []
    const upstreamErrors = errorValues.map((v) => `${v.value} ${String(v.labels.reason)}`).join(', ') || '0'
    const failovers = await counter('contower_relay_failovers_total')
    const row = (label: string, v: number[]) => {
      const p50 = percentile(v, 0.5)
      const p99 = percentile(v, 0.99)
      const r50 = p50 / percentile(samples.direct, 0.5)
      const r99 = p99 / percentile(samples.direct, 0.99)
      return `| ${label.padEnd(40)} | ${p50.toFixed(1).padStart(7)} | ${p99.toFixed(1).padStart(7)} | ${r50.toFixed(2).padStart(9)} | ${r99.toFixed(2).padStart(9)} |`
    }
    console.log(
      `\n${opts.iterations} rounds (+${opts.warmup} warm-up), ${columns.length * opts.slots} sidecars, ` +
        `${(bytes / 1e6).toFixed(2)} MB per answer, ${subRequests.toFixed(2)} upstream calls per relayed request\n`,
    )
    console.log(`| variant                                  | p50 ms  | p99 ms  | p50 ratio | p99 ratio |`)
    console.log(`|------------------------------------------|---------|---------|-----------|-----------|`)
    console.log(row('(a) direct from a supernode', samples.direct))
    console.log(row('(b) via Contower, split over custodians', samples.relayed))
    console.log(
      `\nContower: ${upstreamErrors} upstream errors, ${failovers} failovers, ${unavailable} columns left out; ` +
        `load average ${loadavg()[0].toFixed(1)} on ${cpus().length} CPUs`,
    )
    if (mismatches > 0) {
      console.log(`INVALID RUN: ${mismatches} relayed answers differed from the supernode's`)
      return 1
    }
    return 0
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {})
  }
}

/** `count` columns taken in turn from each custodian's own columns (held by no other): none holds them all. */
function askedColumns(custodians: SimulatedPeer[], count: number): number[] {
  const out = new Set<number>()
  const own = custodians.map((c) =>
    [...c.custody].filter((col) => custodians.every((o) => o === c || !o.custody.has(col))),
  )
  for (let i = 0; out.size < count && i < 128; i++) {
    const list = own[i % own.length]
    const col = list[Math.floor(i / own.length)]
    if (col !== undefined) out.add(col)
  }
  const columns = [...out].sort((a, b) => a - b)
  if (columns.length < count || custodians.some((c) => columns.every((col) => c.custody.has(col)))) {
    throw new Error('could not pick columns that no single custodian holds (rerun: custody follows random keys)')
  }
  return columns
}

async function histogramMean(node: { registry: Registry | null }, name: string): Promise<number> {
  const metric = node.registry?.getSingleMetric(name)
  if (!metric) return NaN
  const values = (await metric.get()).values as Array<{ value: number; metricName?: string }>
  const total = (suffix: string) =>
    values.filter((v) => v.metricName === `${name}${suffix}`).reduce((n, v) => n + v.value, 0)
  return total('_count') > 0 ? total('_sum') / total('_count') : NaN
}

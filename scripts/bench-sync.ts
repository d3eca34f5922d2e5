// Benchmark: one node syncing through Contower as its only peer, as Lighthouse range sync asks (batches of 32 blocks,
// two in flight, a refused batch asked again after a second), against Contower's inbound blocks-by-range quota:
// Lodestar's (128 blocks per 10 s per requester, Contower's default) and Lighthouse's (1024 per 10 s), with 1, 3 and 8
// upstreams that each enforce Lodestar's quota. Prints, per case, the time to sync, the refusals by code, the
// requester's score at Contower (a refusal by the inbound limit costs it 5 points; Contower disconnects at -20) and
// whether it was still connected, and the ratio of the two quotas' sync times. Stops by itself.
//
//   npm run bench:sync -- [--slots 320] [--deadline-s 120]
//
// Everything runs in this process on 127.0.0.1: a devnet chain, simulated upstreams, Contower, the requester.
import '../src/setup.js'
import type { PeerId } from '@libp2p/interface'
import { devnetNetwork } from '../src/devnet/devnetNetwork.js'
import { SyntheticChain } from '../src/devnet/syntheticChain.js'
import { createLogger } from '../src/logger.js'
import { ReqRespClient } from '../src/reqresp/client.js'
import { RequestError } from '../src/reqresp/errors.js'
import { getProtocol } from '../src/reqresp/protocols.js'
import { ResponseTypes } from '../src/reqresp/responseTypes.js'
import { RespCode } from '../src/wire/constants.js'
import { sleep } from './lib/daemon.js'
import { startContower, startSimulatedPeer } from './lib/devnet.js'
import { intOption } from './lib/intOption.js'
import { formatTable } from './lib/table.js'

const BY_RANGE = getProtocol('beacon_blocks_by_range', 2)
const BATCH = 32
const slots = intOption('slots', 320, BATCH, 4096)
const deadlineMs = intOption('deadline-s', 120, 10, 3600) * 1000
const logger = createLogger({ level: 'silent', format: 'json' })

interface Case {
  upstreams: number
  quota: number
}
interface Outcome {
  seconds: number
  synced: number
  refusals: Map<string, number>
  score: number
  connected: boolean
}

const cases: Case[] = [1, 3, 8].flatMap((upstreams) => [128, 1024].map((quota) => ({ upstreams, quota })))
const results: Array<{ c: Case; o: Outcome }> = []
for (const c of cases) {
  const o = await run(c)
  results.push({ c, o })
  console.log(
    `${c.upstreams} upstreams, quota ${c.quota}/10 s: ${o.synced} of ${slots} blocks in ${o.seconds.toFixed(1)} s`,
  )
}

const codes = (m: Map<string, number>) => [...m].map(([k, v]) => `${k} ${v}`).join(', ') || 'none'
const rows = results.map(({ c, o }) => [
  `${c.upstreams} upstreams, ${c.quota}/10 s`,
  `${o.synced}/${slots}`,
  o.seconds.toFixed(1),
  codes(o.refusals),
  o.score.toFixed(0),
  o.connected ? 'yes' : 'no',
])
console.log('')
for (const line of formatTable(['case', 'blocks', 'seconds', 'refusals', 'requester score', 'connected'], rows))
  console.log(line)
console.log('')
for (const upstreams of [1, 3, 8]) {
  const [low, high] = [128, 1024].map((q) => results.find((r) => r.c.upstreams === upstreams && r.c.quota === q)!.o)
  console.log(
    `${upstreams} upstreams: sync time at 128 ÷ at 1024 = ${(low.seconds / high.seconds).toFixed(2)}×` +
      (low.synced < slots || high.synced < slots ? ' (a case did not finish: see blocks)' : ''),
  )
}
process.exit(0)

async function run({ upstreams, quota }: Case): Promise<Outcome> {
  const network = devnetNetwork({ genesisTime: Math.floor(Date.now() / 1000) - (slots + 40) * 2 })
  const chain = new SyntheticChain({ network }, { payloadBytes: 20_000 })
  const stops: Array<() => Promise<void>> = []
  try {
    const peers = await Promise.all(Array.from({ length: upstreams }, () => startSimulatedPeer(network, chain, logger)))
    for (const p of peers) stops.push(() => p.stop())
    const contower = await startContower(network, logger, {
      'static-peers': peers.map((p) => p.multiaddr.toString()).join(','),
      'rate-limits': `beacon_blocks_by_range:${quota}/10`,
    })
    stops.unshift(contower.stop)
    const { node } = contower
    await until(() => peers.every((p) => node.peerStore.get(p.peerId)?.handshaken === true), 20_000)
    const requester = await startSimulatedPeer(network, chain, logger, { serveBlocks: false })
    stops.unshift(() => requester.stop())
    await requester.libp2p.dial(node.listenAddresses[0]!)
    await until(() => node.peerStore.get(requester.peerId)?.handshaken === true, 20_000)
    const client = new ReqRespClient(
      {
        host: requester.libp2p,
        responseTypes: new ResponseTypes({ forkSchedule: requester.forkSchedule, clock: requester.clock }),
        metrics: null,
      },
      {},
    )
    return await sync(client, node.libp2p.peerId, () => ({
      score: node.scores.score(requester.peerId.toString()),
      connected: node.libp2p.getConnections(requester.peerId).length > 0,
    }))
  } finally {
    for (const stop of stops) await stop().catch(() => {})
  }
}

/** Lighthouse-like range sync of `slots` blocks from `peer`, two batches in flight; a failed batch is retried after 1 s. */
async function sync(
  client: ReqRespClient,
  peer: PeerId,
  state: () => { score: number; connected: boolean },
): Promise<Outcome> {
  const started = Date.now()
  const refusals = new Map<string, number>()
  const batches = Array.from({ length: slots / BATCH }, (_, i) => 1 + i * BATCH)
  let next = 0
  let synced = 0
  const lane = async () => {
    while (next < batches.length && Date.now() - started < deadlineMs) {
      const start = batches[next++]!
      for (;;) {
        try {
          let n = 0
          for await (const _ of client.request(
            peer,
            BY_RANGE,
            BY_RANGE.request!.serialize({ startSlot: start, count: BATCH, step: 1 }),
            {
              maxChunks: BATCH,
            },
          ))
            n++
          synced += n
          break
        } catch (e) {
          const code =
            e instanceof RequestError && e.detail.respCode !== undefined
              ? (RespCode[e.detail.respCode as RespCode] ?? String(e.detail.respCode))
              : e instanceof RequestError
                ? e.code
                : 'other'
          refusals.set(code, (refusals.get(code) ?? 0) + 1)
          if (Date.now() - started > deadlineMs) return
          await sleep(1_000)
        }
      }
    }
  }
  await Promise.all([lane(), lane()])
  return { seconds: (Date.now() - started) / 1000, synced, refusals, ...state() }
}

async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting for the handshakes')
    await sleep(50)
  }
}

// Child process of scripts/bench-relay.ts (not run by hand): hosts the simulated upstreams and the requester, times
// the requester's fetches and sends the results to the parent, which hosts Contower alone. Talks over Node's IPC
// channel (see ToPeers/FromPeers); exits when told to stop, when the channel closes (the parent is gone), or at its
// own hard deadline.
import '../../src/setup.js'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createLogger } from '../../src/logger.js'
import {
  addressOn,
  type FromPeers,
  measureRounds,
  startUpstreams,
  type ToPeers,
  type Upstreams,
} from './benchRounds.js'

if (!process.send) {
  console.error('benchPeers: run by scripts/bench-relay.ts (needs an IPC channel)')
  process.exit(2)
}
const send = (msg: FromPeers) => process.send!(msg)
// The parent gone (exited, killed): nothing left to report to.
process.on('disconnect', () => process.exit(3))

/** The next message of `type` from the parent (others with a waiter of their own are routed to it). */
const waiters = new Map<string, (msg: ToPeers) => void>()
const pending: ToPeers[] = []
process.on('message', (msg: ToPeers) => {
  const key = msg.type === 'usage' ? `usage:${msg.id}` : msg.type
  const waiter = waiters.get(key)
  if (waiter) {
    waiters.delete(key)
    waiter(msg)
  } else pending.push(msg)
})
function next<T extends ToPeers['type']>(type: T, id?: number): Promise<Extract<ToPeers, { type: T }>> {
  const key = id === undefined ? type : `${type}:${id}`
  const i = pending.findIndex((m) => (m.type === 'usage' ? `usage:${m.id}` : m.type) === key)
  if (i >= 0) return Promise.resolve(pending.splice(i, 1)[0] as Extract<ToPeers, { type: T }>)
  return new Promise((resolve) => waiters.set(key, (m) => resolve(m as Extract<ToPeers, { type: T }>)))
}

const start = await next('start')
const { opts, plan, startedMs, deadlineMs } = start
// Last resort if a stop hangs, a little before the parent's own (which kills this process).
setTimeout(
  () => {
    console.error(`benchPeers: still running ${opts.maxSeconds + 15} s after start, exiting`)
    process.exit(2)
  },
  startedMs + (opts.maxSeconds + 15) * 1000 - Date.now(),
).unref()

const logger = createLogger({ level: 'silent', format: 'json' })
const log = (msg: string) =>
  console.log(`[${((Date.now() - startedMs) / 1000).toFixed(1).padStart(5)} s] peers (pid ${process.pid}): ${msg}`)
const stops: Array<() => Promise<void>> = []
let exitCode = 0
try {
  const upstreams: Upstreams = await startUpstreams(opts, plan, logger, log, stops)
  send({
    type: 'upstreams',
    multiaddrs: upstreams.peers.map((u) => addressOn(u.libp2p.getMultiaddrs(), opts.transport).toString()),
    blockBytes: upstreams.blockBytes,
  })
  const contower = await next('contower')
  let nextId = 0
  const result = await measureRounds({
    opts,
    plan,
    upstreams,
    relay: {
      peerId: peerIdFromString(contower.peerId),
      multiaddr: multiaddr(contower.multiaddr),
      usage: async () => {
        const id = nextId++
        const reply = next('usage', id)
        send({ type: 'usage?', id })
        const { activeMs, cpuMs } = await reply
        return { activeMs, cpuMs }
      },
    },
    pipe: { peerId: peerIdFromString(contower.pipePeerId), multiaddr: multiaddr(contower.pipeMultiaddr) },
    logger,
    log,
    deadlineMs,
    stops,
  })
  send({ type: 'result', result })
  await next('stop')
} catch (e) {
  console.error('benchPeers failed:', e)
  send({ type: 'failed', error: String((e as Error)?.stack ?? e) })
  exitCode = 1
} finally {
  for (const stop of stops) await stop().catch((e) => console.error('benchPeers: stop failed:', e))
}
process.exit(exitCode)

// Shaped links for scripts/bench-relay.ts --link-mbit: two network namespaces of the benchmark's own, joined by a veth
// pair, with every path a fetch takes limited to the same rate by tbf, as between machines with NICs of that speed.
//   peers ns (the upstreams and the requester, PEERS_ADDRESS)  ──veth──  relay ns (Contower and the pipe, RELAY_ADDRESS)
// Direct fetches stay inside the peers ns (its loopback is shaped too): one link. Fetches through Contower or the pipe
// cross the veth twice, once each way, each direction shaped on its own: two links, as a relay's would be.
// The addresses are link-local and exist only inside these namespaces, which have no other interface and no route
// out. Needs Linux, root, and iproute2's ip and tc with the tbf qdisc (netem, for latency, is not in this kernel).
import { execFileSync } from 'node:child_process'

export const PEERS_ADDRESS = '169.254.233.1'
export const RELAY_ADDRESS = '169.254.233.2'
/** What a link's queue may hold before tbf drops: a socket's worth of data at any of the rates used. */
const QUEUE_LATENCY = '10ms'
/** Ethernet's MTU, so the peers' loopback carries packets like the veth does. */
const MTU = 1500

export interface BenchLinks {
  peersNs: string
  relayNs: string
  mbit: number
  /** Deletes both namespaces (the veth pair goes with them). Safe to call twice. */
  destroy(): void
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

/** tbf needs a bucket of at least one timer tick's worth of bytes at the rate (HZ may be 100), and a packet. */
function shape(ns: string, dev: string, mbit: number): void {
  const burstBytes = Math.max(64 * 1024, Math.ceil((mbit * 1e6) / 8 / 100))
  ip(
    'netns',
    'exec',
    ns,
    'tc',
    'qdisc',
    'add',
    'dev',
    dev,
    'root',
    'tbf',
    'rate',
    `${mbit}mbit`,
    'burst',
    String(burstBytes),
    'latency',
    QUEUE_LATENCY,
  )
}

/** Creates the namespaces and links (named after this process); throws, having removed what it made, on failure. */
export function createBenchLinks(mbit: number): BenchLinks {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    throw new Error('--link-mbit needs Linux and root (it creates network namespaces and shapes links with tc)')
  }
  const peersNs = `contower-bench-peers-${process.pid}`
  const relayNs = `contower-bench-relay-${process.pid}`
  let destroyed = false
  const destroy = () => {
    if (destroyed) return
    destroyed = true
    for (const ns of [peersNs, relayNs]) {
      try {
        ip('netns', 'del', ns)
      } catch {
        // not created
      }
    }
  }
  try {
    ip('netns', 'add', peersNs)
    ip('netns', 'add', relayNs)
    const [vp, vr] = [`ctwp${process.pid}`, `ctwr${process.pid}`].map((n) => n.slice(0, 15))
    ip('link', 'add', vp, 'type', 'veth', 'peer', 'name', vr)
    ip('link', 'set', vp, 'netns', peersNs)
    ip('link', 'set', vr, 'netns', relayNs)
    ip('-n', peersNs, 'addr', 'add', `${PEERS_ADDRESS}/30`, 'dev', vp)
    ip('-n', relayNs, 'addr', 'add', `${RELAY_ADDRESS}/30`, 'dev', vr)
    ip('-n', peersNs, 'link', 'set', 'lo', 'mtu', String(MTU))
    for (const [ns, dev] of [
      [peersNs, 'lo'],
      [relayNs, 'lo'],
      [peersNs, vp],
      [relayNs, vr],
    ]) {
      ip('-n', ns, 'link', 'set', dev, 'up')
    }
    shape(peersNs, vp, mbit)
    shape(relayNs, vr, mbit)
    shape(peersNs, 'lo', mbit)
  } catch (e) {
    destroy()
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim()
    throw new Error(`could not set up the benchmark's links: ${stderr || (e as Error).message}`, { cause: e })
  }
  return { peersNs, relayNs, mbit, destroy }
}

/** The argv prefix that runs a command inside `ns`. */
export function inNamespace(ns: string, command: string, args: string[]): [string, string[]] {
  return ['ip', ['netns', 'exec', ns, command, ...args]]
}

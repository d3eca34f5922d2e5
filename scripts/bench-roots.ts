// Benchmark: what it costs to hash the roots of one relayed range (64 devnet blocks of ~100 kB, ~150 transactions
// each), the check every block by range passes before it is forwarded (docs/verification.md). Interleaved rounds:
//   (a) the library: deserialize each block and take its hash_tree_root (@chainsafe/ssz, what Contower did first);
//   (b) Contower: beaconBlockRoot from the block's bytes (src/chain/blockRoot.ts);
//   (c) the floor: the same number of 64-byte SHA-256 hashes as (b) needs, in one native call on one buffer;
//   (d) the daemon: (b) on the block-root worker thread (the build's, dist/bundle/blockRootWorker.js), handed over
//       one block per event-loop turn as a response's chunks arrive, each root awaited by the next block.
// (c) is what any code computing these roots pays on this CPU; (b) ÷ (c) is what Contower's code adds to it. (d)'s
// "loop busy" is what verification leaves on the thread that moves every peer's bytes; the rest of its CPU runs on a
// second core when the machine has one free.
//
//   npm run bench:roots -- [--rounds 30] [--blocks 64]
//
// Nothing else runs in the process; wall time of each variant's pass over the blocks, and the event loop's busy time
// in it (the same as wall time for (a)-(c), which run on the loop in one go).
import '../src/setup.js'
import { existsSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { hasher } from '@chainsafe/persistent-merkle-tree'
import { sszTypesFor } from '@lodestar/types'
import { SIGNED_BLOCK_FIXED_BYTES, beaconBlockRoot } from '../src/chain/blockRoot.js'
import { BlockRootHasher } from '../src/chain/blockRootHasher.js'
import { devnetNetwork } from '../src/devnet/devnetNetwork.js'
import { SyntheticChain } from '../src/devnet/syntheticChain.js'
import { intOption as option } from './lib/intOption.js'
import { percentile } from './lib/stats.js'
import { formatTable } from './lib/table.js'

const rounds = option('rounds', 30, 3, 10_000)
const count = option('blocks', 64, 1, 1024)

const network = devnetNetwork({ genesisTime: 1_700_000_000 })
const chain = new SyntheticChain({ network })
const blocks = chain.blocksInRange(1, count, count).map((block) => ({
  fork: block.fork,
  root: block.root,
  message: block.ssz.subarray(SIGNED_BLOCK_FIXED_BYTES),
}))
const bytes = blocks.reduce((n, b) => n + b.message.length, 0)

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
for (const block of blocks) {
  if (hex(beaconBlockRoot(block.fork, block.message)) !== hex(block.root))
    throw new Error('beaconBlockRoot: wrong root')
}

/** The 64-byte hashes one pass of (b) takes, counted by wrapping the native call once (not in a timed round). */
function hashesPerPass(): number {
  const native = hasher.hashInto
  let hashes = 0
  hasher.hashInto = (input, output) => {
    hashes += input.length / 64
    native(input, output)
  }
  try {
    for (const block of blocks) beaconBlockRoot(block.fork, block.message)
  } finally {
    hasher.hashInto = native
  }
  return hashes
}
const hashes = hashesPerPass()
const floorInput = new Uint8Array(hashes * 64).map((_, i) => i & 0xff)
const floorOutput = new Uint8Array(hashes * 32)

const VARIANTS = [
  {
    name: '(a) library hash_tree_root',
    pass: () => {
      for (const b of blocks) {
        const type = sszTypesFor(b.fork).BeaconBlock
        type.hashTreeRoot(type.deserialize(b.message))
      }
    },
  },
  { name: '(b) Contower beaconBlockRoot', pass: () => blocks.forEach((b) => beaconBlockRoot(b.fork, b.message)) },
  { name: '(c) native floor, one call', pass: () => hasher.hashInto(floorInput, floorOutput) },
  { name: '(d) (b) on the worker, per chunk', pass: onWorker },
]

/** As a response's check does: one root asked per chunk (a later loop turn each), each awaited by the next block. */
async function onWorker(): Promise<void> {
  let previous: Promise<Uint8Array> | null = null
  for (const b of blocks) {
    const root = workerHasher.root(b.fork, b.message, 'response')
    if (previous) await previous
    previous = root
    await new Promise((resolve) => setImmediate(resolve))
  }
  await previous
}

const workerFile = new URL('../dist/bundle/blockRootWorker.js', import.meta.url)
if (!existsSync(workerFile)) {
  console.error(`bench-roots: ${fileURLToPath(workerFile)} is missing; run \`npm run build\` first`)
  process.exit(2)
}
const workerHasher = new BlockRootHasher({}, { workerFile })

const times = VARIANTS.map(() => [] as number[])
const busy = VARIANTS.map(() => [] as number[])
for (let round = -2; round < rounds; round++) {
  // Rotate the order each round, so that no variant always follows the same one (caches, the collector).
  for (let k = 0; k < VARIANTS.length; k++) {
    const v = (round + 2 + k) % VARIANTS.length
    const loop = performance.eventLoopUtilization()
    const start = process.hrtime.bigint()
    await VARIANTS[v].pass()
    const ms = Number(process.hrtime.bigint() - start) / 1e6
    const busyMs = performance.eventLoopUtilization(loop).active
    if (round >= 0) {
      // the first two rounds warm up
      times[v].push(ms)
      busy[v].push(Math.min(ms, busyMs)) // read after the clock: a pass that never yields may overrun by a hair
    }
  }
}
await workerHasher.stop()
if (workerHasher.stats.offThread === 0) throw new Error('bench-roots: no root was hashed on the worker')

const p50 = times.map((t) => percentile(t, 0.5))
const busyP50 = busy.map((t) => percentile(t, 0.5))
console.log(
  `${blocks.length} blocks, ${(bytes / 1e6).toFixed(2)} MB of BeaconBlock, ${hashes} hashes of 64 bytes per pass, ` +
    `${rounds} rounds (+2 warm-up); Node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()[0].toFixed(1)}`,
)
const header = [
  'variant',
  'p50 ms',
  'min ms',
  'max ms',
  'loop busy ms (p50)',
  'ns per hash (p50)',
  '÷ floor (p50)',
  '÷ library (p50)',
]
const rows = VARIANTS.map((v, i) => [
  v.name,
  p50[i].toFixed(1),
  Math.min(...times[i]).toFixed(1),
  Math.max(...times[i]).toFixed(1),
  busyP50[i].toFixed(1),
  ((p50[i] * 1e6) / hashes).toFixed(0),
  `${(p50[i] / p50[2]).toFixed(2)}×`,
  `${(p50[i] / p50[0]).toFixed(2)}×`,
])
for (const line of formatTable(header, rows)) console.log(line)
console.log(
  `loop busy = event-loop active time during the pass: for (d), what checking one response leaves on the thread that ` +
    `forwards every peer's bytes (the worker's own CPU is not in it)`,
)

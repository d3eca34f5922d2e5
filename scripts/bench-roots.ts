// Benchmark: what it costs to hash the roots of one relayed range (64 devnet blocks of ~100 kB, ~150 transactions
// each), the check every block by range passes before it is forwarded (docs/verification.md). Interleaved rounds:
//   (a) the library: deserialize each block and take its hash_tree_root (@chainsafe/ssz, what Contower did first);
//   (b) Contower: beaconBlockRoot from the block's bytes (src/chain/blockRoot.ts);
//   (c) the floor: the same number of 64-byte SHA-256 hashes as (b) needs, in one native call on one buffer.
// (c) is what any code computing these roots pays on this CPU; (b) ÷ (c) is what Contower's code adds to it.
//
//   npm run bench:roots -- [--rounds 30] [--blocks 64]
//
// One thread, nothing else running in the process; the figures are wall time of each variant's loop over the blocks.
import '../src/setup.js'
import { cpus, loadavg } from 'node:os'
import { hasher } from '@chainsafe/persistent-merkle-tree'
import { sszTypesFor } from '@lodestar/types'
import { SIGNED_BLOCK_FIXED_BYTES, beaconBlockRoot } from '../src/chain/blockRoot.js'
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
]

const times = VARIANTS.map(() => [] as number[])
for (let round = -2; round < rounds; round++) {
  // Rotate the order each round, so that no variant always follows the same one (caches, the collector).
  for (let k = 0; k < VARIANTS.length; k++) {
    const v = (round + 2 + k) % VARIANTS.length
    const start = process.hrtime.bigint()
    VARIANTS[v].pass()
    const ms = Number(process.hrtime.bigint() - start) / 1e6
    if (round >= 0) times[v].push(ms) // the first two rounds warm up
  }
}

const p50 = times.map((t) => percentile(t, 0.5))
console.log(
  `${blocks.length} blocks, ${(bytes / 1e6).toFixed(2)} MB of BeaconBlock, ${hashes} hashes of 64 bytes per pass, ` +
    `${rounds} rounds (+2 warm-up); Node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()[0].toFixed(1)}`,
)
const header = ['variant', 'p50 ms', 'min ms', 'max ms', 'ns per hash (p50)', '÷ floor (p50)', '÷ library (p50)']
const rows = VARIANTS.map((v, i) => [
  v.name,
  p50[i].toFixed(1),
  Math.min(...times[i]).toFixed(1),
  Math.max(...times[i]).toFixed(1),
  ((p50[i] * 1e6) / hashes).toFixed(0),
  `${(p50[i] / p50[2]).toFixed(2)}×`,
  `${(p50[i] / p50[0]).toFixed(2)}×`,
])
for (const line of formatTable(header, rows)) console.log(line)

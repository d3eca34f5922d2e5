import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ForkName } from '@lodestar/params'
import { afterAll, describe, expect, it } from 'vitest'
import { SIGNED_BLOCK_FIXED_BYTES } from '../../../src/chain/blockRoot.js'
import { BlockDecodeError, BlockRootHasher } from '../../../src/chain/blockRootHasher.js'
import { devnetNetwork } from '../../../src/devnet/devnetNetwork.js'
import { SyntheticChain } from '../../../src/devnet/syntheticChain.js'

// The worker the daemon runs is the build's (`npm test` builds first): the file src/chain/blockRootHasher.ts finds
// beside its chunk in dist/bundle/.
const BUILT_WORKER = new URL('../../../dist/bundle/blockRootWorker.js', import.meta.url)
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const chain = new SyntheticChain({ network: devnetNetwork({ genesisTime: 1_700_000_000 }) }, { payloadBytes: 20_000 })
const message = (slot: number) => chain.blockAt(slot)!.ssz.subarray(SIGNED_BLOCK_FIXED_BYTES)

const scratch = mkdtempSync(join(tmpdir(), 'contower-roots-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))
/** A worker file of the test's own, in plain JavaScript. */
function workerFile(name: string, source: string): URL {
  const path = join(scratch, name)
  writeFileSync(path, source)
  return pathToFileURL(path)
}

describe('BlockRootHasher', () => {
  it('hashes on the built worker: the roots of the chain, every one off the calling thread', async () => {
    expect(existsSync(BUILT_WORKER), 'dist/bundle/blockRootWorker.js: run `npm run build` first').toBe(true)
    const hasher = new BlockRootHasher({}, { workerFile: BUILT_WORKER })
    const slots = Array.from({ length: 16 }, (_, i) => i + 1)
    const roots = await Promise.all(slots.map((slot) => hasher.root(ForkName.fulu, message(slot))))
    expect(roots.map(hex)).toEqual(slots.map((slot) => hex(chain.blockAt(slot)!.root)))
    expect(hasher.stats).toEqual({ workersStarted: 1, offThread: 16, here: 0 })
    await hasher.stop()
  })

  it('rejects bytes that do not decode with BlockDecodeError, and the worker goes on serving', async () => {
    const hasher = new BlockRootHasher({}, { workerFile: BUILT_WORKER })
    await expect(hasher.root(ForkName.fulu, message(1).subarray(0, 50))).rejects.toBeInstanceOf(BlockDecodeError)
    expect(hex(await hasher.root(ForkName.fulu, message(2)))).toBe(hex(chain.blockAt(2)!.root))
    expect(hasher.stats).toEqual({ workersStarted: 1, offThread: 2, here: 0 })
    await hasher.stop()
  })

  it('without a worker file, hashes on the calling thread with the same results', async () => {
    const hasher = new BlockRootHasher({}, { workerFile: null })
    expect(hex(await hasher.root(ForkName.fulu, message(3)))).toBe(hex(chain.blockAt(3)!.root))
    await expect(hasher.root(ForkName.fulu, new Uint8Array(10))).rejects.toBeInstanceOf(BlockDecodeError)
    expect(hasher.stats).toEqual({ workersStarted: 0, offThread: 0, here: 2 })
  })

  it('answers from the worker: a worker that lies is believed (so the first test measured the real one)', async () => {
    const liar = workerFile(
      'liar.mjs',
      "import { parentPort } from 'node:worker_threads'\n" +
        'parentPort.on("message", ({ id }) => parentPort.postMessage({ id, root: new Uint8Array(32).fill(7) }))\n',
    )
    const hasher = new BlockRootHasher({}, { workerFile: liar })
    expect(hex(await hasher.root(ForkName.fulu, message(1)))).toBe('07'.repeat(32))
    await hasher.stop()
  })

  it('a worker that dies: its pending roots and all later ones are hashed here, and the failure is told once', async () => {
    const dies = workerFile(
      'dies.mjs',
      "import { parentPort } from 'node:worker_threads'\nparentPort.on('message', () => process.exit(3))\n",
    )
    const errors: Error[] = []
    const hasher = new BlockRootHasher({ onWorkerError: (e) => errors.push(e) }, { workerFile: dies })
    const pending = [1, 2, 3].map((slot) => hasher.root(ForkName.fulu, message(slot)))
    expect((await Promise.all(pending)).map(hex)).toEqual([1, 2, 3].map((slot) => hex(chain.blockAt(slot)!.root)))
    expect(hex(await hasher.root(ForkName.fulu, message(4)))).toBe(hex(chain.blockAt(4)!.root))
    expect(errors.map((e) => e.message)).toEqual(['block root worker exited with code 3'])
    expect(hasher.stats).toEqual({ workersStarted: 1, offThread: 0, here: 4 })
    expect(hasher.offThread).toBe(false)
  })

  it('a worker file that does not load: hashed here, the error told', async () => {
    const broken = workerFile('broken.mjs', 'throw new Error("no such worker")\n')
    const errors: Error[] = []
    const hasher = new BlockRootHasher({ onWorkerError: (e) => errors.push(e) }, { workerFile: broken })
    expect(hex(await hasher.root(ForkName.fulu, message(5)))).toBe(hex(chain.blockAt(5)!.root))
    expect(errors.map((e) => e.message)).toEqual(['no such worker'])
  })

  it('ends an idle worker and starts another on the next root', async () => {
    const hasher = new BlockRootHasher({}, { workerFile: BUILT_WORKER, idleMs: 20 })
    await hasher.root(ForkName.fulu, message(1))
    expect(hasher.running).toBe(true)
    await expect.poll(() => hasher.running, { timeout: 10_000 }).toBe(false)
    expect(hex(await hasher.root(ForkName.fulu, message(2)))).toBe(hex(chain.blockAt(2)!.root))
    expect(hasher.stats).toEqual({ workersStarted: 2, offThread: 2, here: 0 })
    await hasher.stop()
  })

  it('stop(): roots pending on the worker still resolve, hashed here', async () => {
    const silent = workerFile('silent.mjs', "import 'node:worker_threads'\nsetInterval(() => {}, 1000)\n")
    const hasher = new BlockRootHasher({}, { workerFile: silent })
    const pending = hasher.root(ForkName.fulu, message(6))
    await hasher.stop()
    expect(hex(await pending)).toBe(hex(chain.blockAt(6)!.root))
    expect(hasher.stats.here).toBe(1)
  })

  it("lanes take turns: a short response's root does not wait behind a long one's, and each lane keeps its order", async () => {
    const hasher = new BlockRootHasher({}, { workerFile: BUILT_WORKER, maxInWorker: 2 })
    const done: string[] = []
    const long = Array.from({ length: 40 }, (_, i) =>
      hasher.root(ForkName.fulu, message(1 + (i % 16)), 'long').then(() => done.push(`long ${i}`)),
    )
    const short = hasher.root(ForkName.fulu, message(7), 'short').then(() => done.push('short'))
    await Promise.all([...long, short])
    // Two of the long lane's were with the worker, then the lanes alternate: the short one is third or fourth, not 41st.
    expect(done.indexOf('short')).toBeLessThanOrEqual(3)
    expect(done.filter((d) => d !== 'short')).toEqual(long.map((_, i) => `long ${i}`))
    expect(hasher.stats).toEqual({ workersStarted: 1, offThread: 41, here: 0 })
    await hasher.stop()
  })

  it('stop(): roots still waiting for the worker resolve too, hashed here in order', async () => {
    const hasher = new BlockRootHasher({}, { workerFile: BUILT_WORKER, maxInWorker: 1 })
    const pending = [1, 2, 3].map((slot) => hasher.root(ForkName.fulu, message(slot), 'one'))
    await hasher.stop()
    expect((await Promise.all(pending)).map(hex)).toEqual([1, 2, 3].map((slot) => hex(chain.blockAt(slot)!.root)))
    expect(hasher.stats.here).toBe(3)
  })
})

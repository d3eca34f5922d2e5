// Worker thread entry (blockRootHasher.ts): block roots hashed off the event loop that moves the relay's bytes.
// Not imported by any module; loaded as a file by new Worker(), built as its own entry of the bundle.
import '../setup.js'
import { parentPort } from 'node:worker_threads'
import type { ForkName } from '@lodestar/params'
import { beaconBlockRoot } from './blockRoot.js'
import type { BlockRootJob, BlockRootResult } from './blockRootHasher.js'

const port = parentPort
if (!port) throw new Error('blockRootWorker runs as a worker thread')

port.on('message', ({ id, fork, bytes }: BlockRootJob) => {
  let result: BlockRootResult
  try {
    result = { id, root: beaconBlockRoot(fork as ForkName, new Uint8Array(bytes)) }
  } catch (e) {
    result = { id, error: (e as Error).message }
  }
  port.postMessage(result)
})

// Worker thread entry (blockRootHasher.ts): block roots hashed off the event loop that moves the relay's bytes.
// Not imported by any module; loaded as a file by new Worker(), built as its own entry of the bundle.
import '../setup.js'
import { parentPort, workerData } from 'node:worker_threads'
import type { ForkName } from '@lodestar/params'
import { type PresetName, setActivePreset } from '@lodestar/params/setPreset'
import type { BlockRootJob, BlockRootResult, BlockRootWorkerData } from './blockRootHasher.js'

// SSZ types are built when @lodestar/types loads, with the active preset: the relay's, set before blockRoot.js loads.
setActivePreset((workerData as BlockRootWorkerData).preset as PresetName)
const { beaconBlockRoot } = await import('./blockRoot.js')

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

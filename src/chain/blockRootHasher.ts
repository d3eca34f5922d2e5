/**
 * Block roots hashed on a worker thread. A relayed 64-block range costs ~30 ms of native hashing (docs/benchmarks.md):
 * on the event loop that is time no other peer's stream is read or written, and time the range's own bytes wait.
 * On a worker it overlaps both. The worker starts on first use and ends when idle, so an idle relay keeps no thread;
 * if it fails, or its file is not there (run from sources), hashing happens on the calling thread, with the same
 * results.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { ForkName } from '@lodestar/params'
import { ContowerError } from '../errors.js'
import { beaconBlockRoot } from './blockRoot.js'

/** To the worker: one BeaconBlock's bytes (a copy, transferred). */
export interface BlockRootJob {
  id: number
  fork: string
  bytes: ArrayBuffer
}
/** From the worker: the root, or why the bytes do not decode. */
export type BlockRootResult = { id: number; root: Uint8Array } | { id: number; error: string }

/** Bytes that do not decode as the fork's BeaconBlock: the sender's fault, never the hasher's. */
export class BlockDecodeError extends ContowerError<'BLOCK_DECODE'> {
  constructor(message: string) {
    super('BLOCK_DECODE', message)
  }
}

/** The worker's file beside this module (the build's), or null when there is none (run from sources). */
function workerBesideThis(): URL | null {
  const url = new URL('./blockRootWorker.js', import.meta.url)
  return url.protocol === 'file:' && existsSync(fileURLToPath(url)) ? url : null
}

export const BLOCK_ROOT_HASHER_DEFAULTS = {
  /** The worker's entry file; null hashes on the calling thread. */
  workerFile: workerBesideThis() as URL | null,
  /** A worker with nothing to do for this long is ended: an idle relay holds no thread and no second heap. */
  idleMs: 30_000,
}

export interface BlockRootHasherModules {
  /** Told once when the worker fails; hashing continues on the calling thread. */
  onWorkerError?: (error: Error) => void
}

interface Job {
  fork: ForkName
  bytes: Uint8Array
  resolve: (root: Uint8Array) => void
  reject: (error: Error) => void
}

export class BlockRootHasher {
  private readonly opts: typeof BLOCK_ROOT_HASHER_DEFAULTS
  private worker: Worker | null = null
  private readonly jobs = new Map<number, Job>()
  private nextId = 0
  private idleTimer: NodeJS.Timeout | null = null
  /** After stop() or a worker failure, every root is hashed on the calling thread. */
  private inlineOnly = false
  /** Workers started, and roots hashed on one or on the calling thread. */
  readonly stats = { workersStarted: 0, offThread: 0, here: 0 }

  constructor(
    private readonly modules: BlockRootHasherModules = {},
    opts: Partial<typeof BLOCK_ROOT_HASHER_DEFAULTS> = {},
  ) {
    this.opts = { ...BLOCK_ROOT_HASHER_DEFAULTS, ...opts }
  }

  /** Whether roots are hashed on a worker (started now or on the next root()). */
  get offThread(): boolean {
    return !this.inlineOnly && this.opts.workerFile !== null
  }

  /** Whether a worker is up now (it starts on the first root and ends when idle). */
  get running(): boolean {
    return this.worker !== null
  }

  /** hash_tree_root of a BeaconBlock (the message, not the signed block); BlockDecodeError when it does not decode. */
  root(fork: ForkName, message: Uint8Array): Promise<Uint8Array> {
    const worker = this.workerNow()
    if (!worker) return new Promise((resolve) => resolve(this.rootHere(fork, message)))
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.jobs.set(id, { fork, bytes: message, resolve, reject })
      const copy = message.slice()
      worker.postMessage({ id, fork, bytes: copy.buffer } satisfies BlockRootJob, [copy.buffer])
    })
  }

  /** Ends the worker; roots still pending, and any asked later, are hashed on the calling thread. */
  async stop(): Promise<void> {
    this.inlineOnly = true
    const worker = this.worker
    this.worker = null
    this.settleHere()
    await worker?.terminate()
  }

  private workerNow(): Worker | null {
    if (this.idleTimer) clearTimeout(this.idleTimer)
    this.idleTimer = null
    if (this.worker || !this.offThread) return this.worker
    const worker = new Worker(this.opts.workerFile!)
    this.stats.workersStarted++
    worker.unref() // a pending root is awaited by a request, whose stream keeps the process up
    worker.on('message', (result: BlockRootResult) => this.settle(result))
    worker.on('error', (e) => this.lost(worker, e))
    worker.on('exit', (code) => this.lost(worker, new Error(`block root worker exited with code ${code}`)))
    return (this.worker = worker)
  }

  private settle(result: BlockRootResult): void {
    const job = this.jobs.get(result.id)
    if (!job) return
    this.jobs.delete(result.id)
    this.stats.offThread++
    if ('root' in result) job.resolve(result.root)
    else job.reject(new BlockDecodeError(result.error))
    if (this.jobs.size === 0 && this.worker) {
      this.idleTimer = setTimeout(() => this.endIdle(), this.opts.idleMs)
      this.idleTimer.unref()
    }
  }

  private endIdle(): void {
    this.idleTimer = null
    const worker = this.worker
    if (!worker || this.jobs.size > 0) return
    this.worker = null
    void worker.terminate()
  }

  /** The worker failed or exited on its own: what it held is hashed here, and so is everything after. */
  private lost(worker: Worker, error: Error): void {
    if (worker !== this.worker) return // ended by us (idle or stop)
    this.worker = null
    this.inlineOnly = true
    this.settleHere()
    this.modules.onWorkerError?.(error)
  }

  private settleHere(): void {
    for (const [id, job] of this.jobs) {
      this.jobs.delete(id)
      try {
        job.resolve(this.rootHere(job.fork, job.bytes))
      } catch (e) {
        job.reject(e as Error)
      }
    }
  }

  private rootHere(fork: ForkName, message: Uint8Array): Uint8Array {
    this.stats.here++
    try {
      return beaconBlockRoot(fork, message)
    } catch (e) {
      throw new BlockDecodeError((e as Error).message)
    }
  }
}

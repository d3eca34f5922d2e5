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
import { ACTIVE_PRESET, type ForkName } from '@lodestar/params'
import { ContowerError } from '../errors.js'
import { beaconBlockRoot } from './blockRoot.js'

/** To the worker: one BeaconBlock's bytes (a copy, transferred). */
export interface BlockRootJob {
  id: number
  fork: string
  bytes: ArrayBuffer
}
/**
 * To the worker as it starts: the SSZ preset its types must be built with. A worker loads @lodestar/types afresh, with
 * the default (mainnet) preset unless told: on a minimal-preset network every block then failed to decode.
 */
export interface BlockRootWorkerData {
  preset: string
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
  /**
   * Roots handed to the worker at once; the rest wait here, in their lanes, and are handed over round-robin. Enough
   * to keep the worker busy between two turns of the event loop, few enough that a new lane's first root waits for
   * at most this many others.
   */
  maxInWorker: 8,
  /** The SSZ preset of the worker's types: this thread's, which the node checked against its network. */
  preset: ACTIVE_PRESET as string,
}

export interface BlockRootHasherModules {
  /** Told once when the worker fails; hashing continues on the calling thread. */
  onWorkerError?: (error: Error) => void
}

interface Job {
  id: number
  fork: ForkName
  bytes: Uint8Array
  resolve: (root: Uint8Array) => void
  reject: (error: Error) => void
}

export class BlockRootHasher {
  private readonly opts: typeof BLOCK_ROOT_HASHER_DEFAULTS
  private worker: Worker | null = null
  /** Roots handed to the worker, by job id. */
  private readonly jobs = new Map<number, Job>()
  /**
   * Roots waiting to be handed over, FIFO per lane, no lane empty; Map order is the round-robin (a served lane moves
   * last).
   */
  private readonly lanes = new Map<unknown, Job[]>()
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

  /**
   * hash_tree_root of a BeaconBlock (the message, not the signed block); BlockDecodeError when it does not decode.
   * Roots of one `lane` (a response, say) are hashed in order; lanes take turns, so a short response's roots do not
   * wait behind all of a long one's.
   */
  root(fork: ForkName, message: Uint8Array, lane: unknown = null): Promise<Uint8Array> {
    if (!this.workerNow()) return new Promise((resolve) => resolve(this.rootHere(fork, message)))
    return new Promise((resolve, reject) => {
      const job = { id: this.nextId++, fork, bytes: message, resolve, reject }
      const queue = this.lanes.get(lane)
      if (queue) queue.push(job)
      else this.lanes.set(lane, [job])
      this.handOver()
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

  /** Hands waiting roots to the worker, one lane's oldest at a time, up to maxInWorker. */
  private handOver(): void {
    const worker = this.worker
    if (!worker) return
    while (this.jobs.size < this.opts.maxInWorker && this.lanes.size > 0) {
      const [lane, queue] = this.lanes.entries().next().value as [unknown, Job[]]
      const job = queue.shift()!
      this.lanes.delete(lane)
      if (queue.length > 0) this.lanes.set(lane, queue)
      this.jobs.set(job.id, job)
      const copy = job.bytes.slice()
      worker.postMessage({ id: job.id, fork: job.fork, bytes: copy.buffer } satisfies BlockRootJob, [copy.buffer])
    }
  }

  private workerNow(): Worker | null {
    if (this.idleTimer) clearTimeout(this.idleTimer)
    this.idleTimer = null
    if (this.worker || !this.offThread) return this.worker
    const worker = new Worker(this.opts.workerFile!, {
      workerData: { preset: this.opts.preset } satisfies BlockRootWorkerData,
    })
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
    this.handOver()
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

  /** Everything handed over or waiting is hashed here, oldest first. */
  private settleHere(): void {
    const all = [...this.jobs.values(), ...[...this.lanes.values()].flat()].sort((a, b) => a.id - b.id)
    this.jobs.clear()
    this.lanes.clear()
    for (const job of all) {
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

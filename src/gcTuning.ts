import { setFlagsFromString } from 'node:v8'

/**
 * The node options `contower` runs with: a 2 MB young-generation semi-space instead of V8's 8-16 MB. Idle RSS falls
 * by ~14 MB (129 → 115 MB, `contower start --network mainnet --no-discovery` after 20 s) and bench:relay's Contower
 * CPU per cold fetch did not move (docs/footprint.md): a relay's large buffers live outside the heap. V8 sizes the
 * young generation when the heap is made, so setFlagsFromString cannot change it; the flag is on the command line
 * instead: bin/contower.js' shebang, the Dockerfile's ENTRYPOINT, `npm start` and
 * deploy/contower.service (tests keep them equal).
 */
export const DAEMON_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=2']

/** The V8 setting the daemon runs with (see tuneGc). */
export const DAEMON_GC_FLAG = '--no-incremental-marking'

/**
 * The flag tuneGc would set for a process started with `execArgv`, or null when the operator already chose a marking
 * mode on the node command line (e.g. `node --incremental-marking bin/contower.js start` restores V8's default).
 */
export function daemonGcFlag(execArgv: readonly string[]): string | null {
  return execArgv.some((a) => /^--(no-)?(incremental|concurrent)-marking$/.test(a)) ? null : DAEMON_GC_FLAG
}

/**
 * Turns V8's incremental marking off for this process. A relay allocates several times the bytes it forwards as
 * ArrayBuffers (socket reads, noise plaintext and ciphertext), all counted as external memory; past V8's external
 * limit every further allocation runs a marking step, and concurrent marking threads take a core from everything
 * else on the machine. Without it, old-generation collections are whole pauses instead (5-50 ms for the ~40 MB heap
 * measured under load). bench:relay measured Contower's CPU per relayed 6.5 MB response falling from ~105 to 55-60 ms
 * (README, Benchmarks). Called first by the entry point, before much is allocated; returns the flag it set, if any.
 */
export function tuneGc(execArgv: readonly string[] = process.execArgv): string | null {
  const flag = daemonGcFlag(execArgv)
  if (flag !== null) setFlagsFromString(flag)
  return flag
}

import { ContowerError } from '../errors.js'
import { mkdir, stat, unlink, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'

/** A filesystem call that has not answered in this long will not: a hung network mount, a FUSE daemon gone. */
export const DATA_DIR_TIMEOUT_MS = 10_000

export class DataDirError extends ContowerError<'DATA_DIR_UNUSABLE'> {
  constructor(
    message: string,
    readonly dir: string,
  ) {
    super('DATA_DIR_UNUSABLE', message)
  }
}

/**
 * Makes sure `dir` exists and is writable, within a deadline, so a bad --data-dir fails at start with one line
 * naming it. Directories are created one level at a time: Node's recursive mkdir loops forever under /proc.
 */
export async function prepareDataDir(dir: string, mode: number, timeoutMs = DATA_DIR_TIMEOUT_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DataDirError(`data dir ${dir} did not answer within ${timeoutMs / 1000} s`, dir)),
      timeoutMs,
    )
  })
  try {
    await Promise.race([createAndProbe(dir, mode), deadline])
  } finally {
    clearTimeout(timer)
  }
}

async function createAndProbe(dir: string, mode: number): Promise<void> {
  const missing: string[] = []
  for (let d = resolve(dir); ; d = dirname(d)) {
    const found = await stat(d).then(
      (s) => s,
      (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return null
        throw new DataDirError(`data dir ${dir} is unusable: ${e.message}`, dir)
      },
    )
    if (found) {
      if (!found.isDirectory()) throw new DataDirError(`data dir ${dir} is unusable: ${d} is not a directory`, dir)
      break
    }
    missing.unshift(d)
    if (dirname(d) === d) break
  }
  for (const d of missing) {
    await mkdir(d, { mode }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw new DataDirError(`cannot create data dir ${dir}: ${e.message}`, dir)
    })
  }
  const probe = resolve(dir, `.write-test-${process.pid}`)
  try {
    await writeFile(probe, '', { flag: 'wx' })
    await unlink(probe)
  } catch (e) {
    throw new DataDirError(`data dir ${dir} is not writable: ${(e as Error).message}`, dir)
  }
}

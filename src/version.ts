import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The package root: this file is in src/ (tsx) or dist/ (built), both one level below it. */
export const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url))

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim()
  } catch {
    return null
  }
}

export const VERSION: string = JSON.parse(readText(join(PACKAGE_ROOT, 'package.json')) ?? '{"version":"0.0.0"}').version

/** The git directory of a checkout: `.git`, or where a worktree's `.git` file points. */
function gitDir(): string | null {
  const dotGit = join(PACKAGE_ROOT, '.git')
  const pointer = readText(dotGit)
  if (pointer === null) return readText(join(dotGit, 'HEAD')) === null ? null : dotGit
  return pointer.startsWith('gitdir: ') ? resolve(PACKAGE_ROOT, pointer.slice(8)) : null
}

/** The commit this build came from: a BUILD_COMMIT file (written by the Docker build), else the git checkout. */
function findCommit(): string {
  const recorded = readText(join(PACKAGE_ROOT, 'BUILD_COMMIT'))
  if (recorded) return recorded
  const dir = gitDir()
  const head = dir === null ? null : readText(join(dir, 'HEAD'))
  if (!dir || !head) return 'unknown'
  if (!head.startsWith('ref: ')) return head
  const ref = head.slice(5)
  // A worktree keeps its HEAD apart and its branches in the shared directory named by `commondir`.
  const common = resolve(dir, readText(join(dir, 'commondir')) ?? '.')
  const loose = readText(join(dir, ref)) ?? readText(join(common, ref))
  if (loose) return loose
  const packed = readText(join(common, 'packed-refs'))
  const line = packed?.split('\n').find((l) => l.endsWith(` ${ref}`))
  return line?.split(' ')[0] ?? 'unknown'
}

export const COMMIT: string = findCommit()
export const AGENT_VERSION = `contower/${VERSION}`

/** What `--version` prints: enough to file a bug report with. */
export function versionLine(): string {
  return `contower ${VERSION} (commit ${COMMIT.slice(0, 12)}) node ${process.version} ${process.platform}-${process.arch}`
}

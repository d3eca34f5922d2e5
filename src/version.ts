import { readFileSync } from 'node:fs'
import { join } from 'node:path'
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

/** The commit this build came from: a BUILD_COMMIT file (written by the Docker build), else the git checkout. */
function findCommit(): string {
  const recorded = readText(join(PACKAGE_ROOT, 'BUILD_COMMIT'))
  if (recorded) return recorded
  const head = readText(join(PACKAGE_ROOT, '.git', 'HEAD'))
  if (!head) return 'unknown'
  if (!head.startsWith('ref: ')) return head
  const ref = head.slice(5)
  const loose = readText(join(PACKAGE_ROOT, '.git', ref))
  if (loose) return loose
  const packed = readText(join(PACKAGE_ROOT, '.git', 'packed-refs'))
  const line = packed?.split('\n').find((l) => l.endsWith(` ${ref}`))
  return line?.split(' ')[0] ?? 'unknown'
}

export const COMMIT: string = findCommit()
export const AGENT_VERSION = `contower/${VERSION}`

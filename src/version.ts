import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The package's name in its package.json: the directory holding that file is the package root. */
const PACKAGE_NAME = 'contower'

interface Manifest {
  name?: unknown
  version?: unknown
}

function manifestAt(dir: string): Manifest | null {
  try {
    return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest
  } catch {
    return null
  }
}

/** The nearest directory at or above `fromUrl`'s whose package.json is Contower's, with that manifest. */
function findPackage(fromUrl: string | URL): { root: string; manifest: Manifest } {
  const start = dirname(fileURLToPath(fromUrl))
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = manifestAt(dir)
    if (manifest?.name === PACKAGE_NAME) return { root: dir, manifest }
    if (dirname(dir) === dir) throw new Error(`contower: no package.json named ${PACKAGE_NAME} at or above ${start}`)
  }
}

/**
 * The nearest directory at or above `fromUrl`'s that holds Contower's package.json. The code runs from src/ (tsx),
 * dist/ (tsc's output) or dist/bundle/ (the bundle bin/contower.js runs, whose chunks hold code from every depth of
 * src/), so a file cannot name the root by its own depth.
 */
export function findPackageRoot(fromUrl: string | URL = import.meta.url): string {
  return findPackage(fromUrl).root
}

const PACKAGE = findPackage(import.meta.url)

/** Contower's package root: package.json, config/, BUILD_COMMIT. */
export const PACKAGE_ROOT = PACKAGE.root

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim()
  } catch {
    return null
  }
}

export const VERSION: string = typeof PACKAGE.manifest.version === 'string' ? PACKAGE.manifest.version : '0.0.0'

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

// The import graph of src/ between folders (a top-level file counts as a folder of its own), and the rule
// that keeps it one-way: every import points to a folder of a lower layer or the same folder.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'

/**
 * The layers, lowest first. A folder (or top-level file) may import only from folders of lower layers: not up,
 * and not sideways to another folder of its own layer. Mirrors the README's "Architecture".
 */
export const LAYERS: readonly (readonly string[])[] = [
  ['version', 'setup', 'gcTuning', 'spec', 'errors', 'lifecycle', 'logOptions', 'deadline', 'loopTurn'],
  ['logger'],
  ['config', 'metrics'],
  ['wire', 'identity', 'network', 'status'],
  ['chain'],
  ['limits'],
  ['reqresp'],
  ['peers'],
  ['relay', 'gossip', 'discovery', 'fleet'],
  ['node'],
  ['devnet'],
  ['cli'],
]

export interface ImportEdge {
  from: string
  to: string
  file: string
  line: number
}

const IMPORT_RE = /(?:^|\s)(?:import|export)\s[^'"`;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g

/** Every relative import between two different folders of `srcDir`. */
export function folderEdges(srcDir: string): ImportEdge[] {
  const edges: ImportEdge[] = []
  for (const file of listTs(srcDir)) {
    const text = readFileSync(file, 'utf8')
    const from = folderOf(srcDir, file)
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2]
      if (!spec.startsWith('.')) continue
      const target = resolve(dirname(file), spec)
      const to = folderOf(srcDir, target)
      if (to === from) continue
      const start = m.index + m[0].length - m[0].trimStart().length
      const line = text.slice(0, start).split('\n').length
      edges.push({ from, to, file: relative(srcDir, file), line })
    }
  }
  return edges
}

/** Folder name of a path under srcDir: its first segment, without the extension for a top-level file. */
export function folderOf(srcDir: string, path: string): string {
  const first = relative(srcDir, path).split(sep)[0]
  return first.replace(/\.(ts|js)$/, '')
}

export function layerOf(folder: string): number {
  return LAYERS.findIndex((layer) => layer.includes(folder))
}

/** Imports that point up the layer list, sideways within a layer, or to a folder no layer names. */
export function layerViolations(edges: ImportEdge[]): string[] {
  const out: string[] = []
  for (const e of edges) {
    const from = layerOf(e.from)
    const to = layerOf(e.to)
    if (from < 0 || to < 0) out.push(`${e.file}:${e.line} ${e.from} -> ${e.to}: folder not in LAYERS`)
    else if (to >= from) out.push(`${e.file}:${e.line} ${e.from} -> ${e.to}: ${to === from ? 'same layer' : 'upward'}`)
  }
  return out
}

/** Circles in the folder graph (each as folder names in order), found by depth-first search. */
export function folderCycles(edges: ImportEdge[]): string[][] {
  const next = new Map<string, Set<string>>()
  for (const e of edges) {
    if (!next.has(e.from)) next.set(e.from, new Set())
    next.get(e.from)!.add(e.to)
  }
  const cycles: string[][] = []
  const state = new Map<string, 'open' | 'done'>()
  const path: string[] = []
  const visit = (node: string): void => {
    state.set(node, 'open')
    path.push(node)
    for (const to of next.get(node) ?? []) {
      if (state.get(to) === 'open') cycles.push([...path.slice(path.indexOf(to)), to])
      else if (!state.has(to)) visit(to)
    }
    path.pop()
    state.set(node, 'done')
  }
  for (const node of [...next.keys()].sort()) if (!state.has(node)) visit(node)
  return cycles
}

function listTs(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...listTs(path))
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path)
  }
  return out
}

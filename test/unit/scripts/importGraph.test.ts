import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { folderCycles, folderEdges, layerViolations } from '../../../scripts/lib/importGraph.js'

let dir: string | undefined

/** A throwaway src/ tree: path → file text. */
function tree(files: Record<string, string>): string {
  dir = mkdtempSync(join(tmpdir(), 'contower-layers-'))
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  return dir
}

afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

describe('import graph between folders', () => {
  it('accepts imports that point down the layers, within a folder, and to packages', () => {
    const src = tree({
      'wire/a.ts': "import { x } from './b.js'\nimport { y } from 'some-package'\n",
      'wire/b.ts': 'export const x = 1\n',
      'reqresp/server.ts': "import type { x } from '../wire/b.js'\nexport * from '../wire/b.js'\n",
      'node.ts': "const lazy = await import('./reqresp/server.js')\n",
    })
    const edges = folderEdges(src)
    expect(edges.map((e) => `${e.from}->${e.to}`).sort()).toEqual(['node->reqresp', 'reqresp->wire', 'reqresp->wire'])
    expect(layerViolations(edges)).toEqual([])
    expect(folderCycles(edges)).toEqual([])
  })

  it('names an upward import, a sideways one and an unknown folder, with file and line', () => {
    const src = tree({
      'reqresp/server.ts': "// header\nimport { PeerAction } from '../peers/score.js'\n",
      'relay/relay.ts': "import { Fleet } from '../fleet/fleet.js'\n",
      'attic/old.ts': "import { x } from '../wire/b.js'\n",
    })
    expect(layerViolations(folderEdges(src)).sort()).toEqual([
      'attic/old.ts:1 attic -> wire: folder not in LAYERS',
      'relay/relay.ts:1 relay -> fleet: same layer',
      'reqresp/server.ts:2 reqresp -> peers: upward',
    ])
  })

  it('finds a circle between folders', () => {
    const src = tree({
      'chain/view.ts': "import type { S } from '../peers/store.js'\n",
      'peers/store.ts': "import { R } from '../reqresp/messages.js'\n",
      'reqresp/messages.ts': "import { V } from '../chain/view.js'\n",
    })
    expect(folderCycles(folderEdges(src))).toEqual([['chain', 'peers', 'reqresp', 'chain']])
  })

  it('holds for this repository', () => {
    const src = fileURLToPath(new URL('../../../src', import.meta.url))
    const edges = folderEdges(src)
    expect(edges.length).toBeGreaterThan(100)
    expect(folderCycles(edges)).toEqual([])
    expect(layerViolations(edges)).toEqual([])
  })
})

import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { BIN } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

/** Which packages each chunk of the bundle holds, as the build wrote it (scripts/build.ts). */
const BUNDLE_CHUNKS = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../dist/bundle/chunks.json', import.meta.url)), 'utf8'),
) as Record<string, string[]>

/**
 * The packages `contower ARGS` loads, from a module resolve hook in the spawned process (the built bin/): those in
 * the bundle's chunks it loads (chunks.json) and those it loads from node_modules (kept out of the bundle).
 */
async function packagesLoaded(args: string[]): Promise<{ code: number | null; packages: Set<string> }> {
  const dir = tempDir('contower-startup-')
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `export async function resolve(specifier, context, next) {
      const r = await next(specifier, context)
      process.stderr.write('LOADED ' + r.url + '\\n')
      return r
    }\n`,
  )
  writeFileSync(
    join(dir, 'register.mjs'),
    `import { register } from 'node:module'\nregister('./hooks.mjs', import.meta.url)\n`,
  )
  const proc = spawn(process.execPath, ['--import', join(dir, 'register.mjs'), BIN, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve))
  const packages = new Set<string>()
  for (const m of stderr.matchAll(/^LOADED .*?\/node_modules\/((?:@[^/]+\/)?[^/]+)\//gm)) packages.add(m[1]!)
  let chunks = 0
  for (const m of stderr.matchAll(/^LOADED file:.*\/dist\/bundle\/([^/\n]+\.js)$/gm)) {
    const held = BUNDLE_CHUNKS[m[1]!]
    if (held === undefined) throw new Error(`${m[1]} is not in dist/bundle/chunks.json: a stale build?`)
    for (const name of held) packages.add(name)
    chunks++
  }
  // bin/contower.js runs the bundle: a run that loaded none of it would check nothing.
  expect(chunks).toBeGreaterThan(0)
  return { code, packages }
}

// Module loading was most of a start-up: each command loads its own modules when it runs.
const HEAVY = [
  'libp2p',
  '@libp2p/crypto',
  '@chainsafe/ssz',
  '@lodestar/types',
  '@libp2p/gossipsub',
  '@chainsafe/discv5',
]

describe('start-up', { timeout: 90_000 }, () => {
  for (const args of [['--version'], ['--help'], ['start', '--help']]) {
    it(`\`contower ${args.join(' ')}\` loads yargs and none of the node's libraries`, async () => {
      const { code, packages } = await packagesLoaded(args)
      expect(code).toBe(0)
      expect(packages).toContain('yargs')
      for (const name of [...HEAVY, 'zod', 'yaml', 'pino']) expect(packages).not.toContain(name)
    })
  }

  it('a bad flag is refused before anything heavy loads', async () => {
    const { code, packages } = await packagesLoaded(['start', '--no-such-flag'])
    expect(code).toBe(2)
    for (const name of HEAVY) expect(packages).not.toContain(name)
  })
})

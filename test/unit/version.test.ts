import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { findPackageRoot, PACKAGE_ROOT, VERSION } from '../../src/version.js'
import { tempDir } from '../helpers/tmp.js'

describe('findPackageRoot', () => {
  it('finds the directory of the package.json named contower from any depth below it', () => {
    const root = tempDir('contower-root-')
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'contower', version: '1.2.3' }))
    // A dependency's package.json on the way up is not the package root.
    const dep = join(root, 'node_modules', 'dep', 'lib')
    mkdirSync(dep, { recursive: true })
    writeFileSync(join(root, 'node_modules', 'dep', 'package.json'), JSON.stringify({ name: 'dep' }))
    mkdirSync(join(root, 'dist', 'bundle'), { recursive: true })
    for (const file of [
      'dist/bundle/chunk-X.js',
      'dist/chain/networks.js',
      'src/version.ts',
      'node_modules/dep/lib/a.js',
    ])
      expect(findPackageRoot(pathToFileURL(join(root, file)))).toBe(root)
  })

  it('throws when no package.json above is Contower’s', () => {
    const dir = tempDir('contower-noroot-')
    expect(() => findPackageRoot(pathToFileURL(join(dir, 'a.js')))).toThrow(/no package.json named contower/)
  })

  it('is this checkout for the source', () => {
    expect(PACKAGE_ROOT).toBe(join(import.meta.dirname, '..', '..'))
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+/)
  })
})

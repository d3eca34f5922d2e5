// A relay on a minimal-preset network: this file's process runs on that preset, as `contower start` does for one.
import '../../helpers/minimalPreset.js'
import { existsSync } from 'node:fs'
import { ACTIVE_PRESET, ForkName } from '@lodestar/params'
import { ssz } from '@lodestar/types'
import { describe, expect, it } from 'vitest'
import { BlockRootHasher } from '../../../src/chain/blockRootHasher.js'

const BUILT_WORKER = new URL('../../../dist/bundle/blockRootWorker.js', import.meta.url)
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

describe('BlockRootHasher on the minimal preset', () => {
  it('the build’s worker decodes and hashes blocks with the preset of the thread that starts it', async () => {
    expect(ACTIVE_PRESET).toBe('minimal')
    expect(existsSync(BUILT_WORKER), 'dist/bundle/blockRootWorker.js: run `npm run build` first').toBe(true)
    // Altair on: the sync aggregate is 32 bits on the minimal preset and 512 on mainnet, so the body's layout differs
    // (a worker on mainnet types refused every such block as not decoding).
    const blocks = [ForkName.altair, ForkName.capella, ForkName.fulu].map((fork) => {
      const type = ssz[fork].BeaconBlock
      const block = type.defaultValue()
      block.slot = 9
      block.body.graffiti = new Uint8Array(32).fill(7)
      return { fork, bytes: type.serialize(block as never), root: hex(type.hashTreeRoot(block as never)) }
    })
    const hasher = new BlockRootHasher({}, { workerFile: BUILT_WORKER })
    const roots = await Promise.all(blocks.map((b) => hasher.root(b.fork, b.bytes)))
    expect(roots.map(hex)).toEqual(blocks.map((b) => b.root))
    expect(hasher.stats).toMatchObject({ offThread: 3, here: 0 })
    await hasher.stop()
  })
})

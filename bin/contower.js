#!/usr/bin/env -S node --max-semi-space-size=2
// V8 flags first, before much is allocated; the CLI imports its setup (hasher, polyfill) before libp2p and SSZ load.
import { tuneGc } from '../dist/gcTuning.js'

tuneGc()
const { main } = await import('../dist/cli/index.js')
process.exit(await main(process.argv.slice(2)))

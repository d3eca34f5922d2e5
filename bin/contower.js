#!/usr/bin/env node
// Setup (hasher, polyfill) must run before libp2p and SSZ load, so everything else is imported after it.
import '../dist/setup.js'
import { tuneGc } from '../dist/gcTuning.js'

tuneGc()
const { main } = await import('../dist/cli/index.js')
process.exit(await main(process.argv.slice(2)))

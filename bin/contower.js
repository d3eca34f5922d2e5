#!/usr/bin/env node
// The polyfill must run before libp2p loads, so everything else is imported after it.
import '../dist/polyfill.js'

const { main } = await import('../dist/cli/index.js')
process.exit(await main(process.argv.slice(2)))

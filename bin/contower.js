#!/usr/bin/env -S node --max-semi-space-size=2
// Runs the bundle `npm run build` makes (dist/bundle/, scripts/build.ts). V8 flags first, before much is allocated;
// the CLI imports its setup (hasher, polyfill) before libp2p and SSZ load.
import { tuneGc } from '../dist/bundle/gcTuning.js'

tuneGc()
const { main } = await import('../dist/bundle/cli.js')
process.exit(await main(process.argv.slice(2)))

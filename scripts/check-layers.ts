// Fails (exit 1) on any import circle between src/ folders and on any import that points up the layer list
// (scripts/lib/importGraph.ts). Part of `npm run check`.
import { fileURLToPath } from 'node:url'
import { folderCycles, folderEdges, layerViolations } from './lib/importGraph.js'

const srcDir = fileURLToPath(new URL('../src', import.meta.url))
const edges = folderEdges(srcDir)
const cycles = folderCycles(edges)
const violations = layerViolations(edges)
for (const cycle of cycles) console.error(`import circle: ${cycle.join(' -> ')}`)
for (const v of violations) console.error(`layer violation: ${v}`)
if (cycles.length > 0 || violations.length > 0) process.exit(1)
console.log(`layers: ${edges.length} imports between folders, no circles, none upward`)

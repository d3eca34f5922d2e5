// Regenerates the configuration table in README.md from src/config/options.ts.
import { readFileSync, writeFileSync } from 'node:fs'
import { updateReadme } from '../src/config/docs.js'

const path = new URL('../README.md', import.meta.url)
writeFileSync(path, updateReadme(readFileSync(path, 'utf8')))
console.log('README.md configuration table updated')

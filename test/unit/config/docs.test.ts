import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { renderOptionsTable, updateReadme } from '../../../src/config/docs.js'
import { OPTIONS } from '../../../src/config/options.js'

describe('README configuration table', () => {
  it('lists every option with its env name', () => {
    const table = renderOptionsTable()
    for (const o of OPTIONS) expect(table).toContain(`| \`--${o.name}\` |`)
    expect(table).toContain('| `--metrics-port` | `CONTOWER_METRICS_PORT` | integer | `8008` |')
  })

  it('is up to date in README.md (run `npm run docs` after changing options)', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')
    expect(updateReadme(readme)).toBe(readme)
  })
})

import { describe, expect, it } from 'vitest'
import { formatTable } from '../../../scripts/lib/table.js'

describe('formatTable', () => {
  it('pads each column to its widest cell: the first left-aligned, the rest right-aligned, a rule under the header', () => {
    expect(
      formatTable(
        ['variant', 'ms'],
        [
          ['(a) direct', '9.5'],
          ['(b) cold', '120.25'],
        ],
      ),
    ).toEqual(['variant         ms', '----------  ------', '(a) direct     9.5', '(b) cold    120.25'])
  })
})

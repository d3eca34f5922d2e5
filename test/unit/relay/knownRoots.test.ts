import { describe, expect, it } from 'vitest'
import { KnownRoots } from '../../../src/relay/knownRoots.js'

const root = (byte: number) => new Uint8Array(32).fill(byte)

describe('KnownRoots', () => {
  it('knows a root once two sources served it at a slot, not when one source served it twice', () => {
    const roots = new KnownRoots()
    roots.note(10, root(1), 'a')
    roots.note(10, root(1), 'a')
    expect(roots.get(10)).toBeUndefined()
    roots.note(10, root(1), 'fleet')
    expect(roots.get(10)).toEqual(root(1))
  })

  it('sources that disagree make nothing known; the latest is the candidate another source can confirm', () => {
    const roots = new KnownRoots()
    roots.note(10, root(1), 'a')
    roots.note(10, root(2), 'b')
    expect(roots.get(10)).toBeUndefined()
    roots.note(10, root(1), 'c') // agrees with a, but b's root is the candidate now
    expect(roots.get(10)).toBeUndefined()
    roots.note(10, root(1), 'a')
    expect(roots.get(10)).toEqual(root(1))
  })

  it('keeps a known root against a later disagreeing source, and at most maxSlots slots', () => {
    const roots = new KnownRoots({ maxSlots: 2 })
    for (const slot of [1, 2, 3]) {
      roots.note(slot, root(slot), 'a')
      roots.note(slot, root(slot), 'b')
    }
    roots.note(3, root(9), 'c')
    roots.note(3, root(9), 'd')
    expect(roots.get(3)).toEqual(root(3))
    expect(roots.get(1)).toBeUndefined() // the least recently used went
  })
})

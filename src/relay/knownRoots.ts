import { LRUCache } from 'lru-cache'
import { equalBytes } from '../chain/chainView.js'

export const KNOWN_ROOTS_DEFAULTS = {
  /** 8192 slots (~256 epochs) of 32-byte roots: well under a megabyte (and as many candidates). */
  maxSlots: 8192,
}

/**
 * Block roots by slot that Contower computed itself from responses that passed every check, for finalized slots
 * only (above them a root may still be reorged away). A later response for such a slot must have the same root.
 *
 * A root is known only once two sources served it (two upstreams, or an upstream and the fleet's shared cache):
 * links make an answer consistent with itself, not with the network's chain, so one upstream could make up a segment
 * that passes every check (docs/verification.md). Taken as known, its roots would then refuse every honest answer for
 * those slots and charge the honest upstreams for it. A root one source served is a candidate until another agrees.
 */
export class KnownRoots {
  private readonly known: LRUCache<number, Uint8Array>
  private readonly candidates: LRUCache<number, { root: Uint8Array; source: string }>

  constructor(opts: Partial<typeof KNOWN_ROOTS_DEFAULTS> = {}) {
    const { maxSlots } = { ...KNOWN_ROOTS_DEFAULTS, ...opts }
    this.known = new LRUCache({ max: maxSlots })
    this.candidates = new LRUCache({ max: maxSlots })
  }

  get(slot: number): Uint8Array | undefined {
    return this.known.get(slot)
  }

  /** `source` served `root` at `slot`: known when another source served the same; else the slot's candidate. */
  note(slot: number, root: Uint8Array, source: string): void {
    if (this.known.has(slot)) return
    const candidate = this.candidates.get(slot)
    if (candidate && candidate.source !== source && equalBytes(candidate.root, root)) {
      this.known.set(slot, root)
      this.candidates.delete(slot)
    } else this.candidates.set(slot, { root, source })
  }
}

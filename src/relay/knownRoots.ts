import { LRUCache } from 'lru-cache'

export const KNOWN_ROOTS_DEFAULTS = {
  /** 8192 slots (~256 epochs) of 32-byte roots: well under a megabyte. */
  maxSlots: 8192,
}

/**
 * Block roots by slot that Contower computed itself from responses that passed every check, for finalized slots
 * only (above them a root may still be reorged away). A later response for such a slot must have the same root.
 */
export class KnownRoots {
  private readonly roots: LRUCache<number, Uint8Array>

  constructor(opts: Partial<typeof KNOWN_ROOTS_DEFAULTS> = {}) {
    this.roots = new LRUCache({ max: { ...KNOWN_ROOTS_DEFAULTS, ...opts }.maxSlots })
  }

  get(slot: number): Uint8Array | undefined {
    return this.roots.get(slot)
  }

  note(slot: number, root: Uint8Array): void {
    this.roots.set(slot, root)
  }
}

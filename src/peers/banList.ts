import type { RefusalKind } from './goodbye.js'

export interface BanListModules {
  /** ms clock; tests pass a fake one. Default: Date.now. */
  now?: () => number
}

interface Entry {
  untilMs: number
  kind: RefusalKind
}

/**
 * Peers we refuse to dial or accept until a time: bans (misbehaviour) and cool-downs (after a Goodbye, see
 * goodbye.ts). Consulted by the libp2p connection gater and by the peer manager's dial queue.
 */
export class BanList {
  private readonly entries = new Map<string, Entry>()
  private readonly listeners: Array<(peer: string, durationMs: number, kind: RefusalKind) => void> = []

  private readonly now: () => number

  constructor(modules: BanListModules = {}) {
    this.now = modules.now ?? Date.now
  }

  /**
   * Refuses `peer` for `durationMs` from now, unless it is already refused for longer (the longer entry and
   * its kind win). Returns whether the refusal was created or extended.
   */
  ban(peer: string, durationMs: number, kind: RefusalKind = 'ban'): boolean {
    const untilMs = this.now() + durationMs
    const current = this.live(peer)
    if (current && current.untilMs >= untilMs) return false
    this.entries.set(peer, { untilMs, kind })
    for (const l of this.listeners) l(peer, durationMs, kind)
    return true
  }

  /** Called for every refusal created or extended (the fleet shares bans through it). */
  onBan(listener: (peer: string, durationMs: number, kind: RefusalKind) => void): void {
    this.listeners.push(listener)
  }

  isBanned(peer: string): boolean {
    return this.live(peer) !== undefined
  }

  /** Why `peer` is refused now, or null. */
  kindOf(peer: string): RefusalKind | null {
    return this.live(peer)?.kind ?? null
  }

  /** Refused peers by kind (expired entries dropped on the way). */
  counts(): Record<RefusalKind, number> {
    const counts = { ban: 0, cool_down: 0 }
    for (const [peer, entry] of this.entries) {
      if (this.live(peer)) counts[entry.kind]++
    }
    return counts
  }

  /** Drops expired entries, so the list does not grow with every peer ever refused (the peer manager's heartbeat). */
  prune(): void {
    for (const peer of this.entries.keys()) this.live(peer)
  }

  get size(): number {
    return this.entries.size
  }

  private live(peer: string): Entry | undefined {
    const entry = this.entries.get(peer)
    if (entry === undefined) return undefined
    if (entry.untilMs > this.now()) return entry
    this.entries.delete(peer)
    return undefined
  }
}

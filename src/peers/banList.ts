/** Peers we refuse to dial or accept until a time; consulted by the libp2p connection gater. */
export class BanList {
  private readonly until = new Map<string, number>()

  constructor(private readonly now: () => number = Date.now) {}

  ban(peer: string, durationMs: number): void {
    this.until.set(peer, Math.max(this.until.get(peer) ?? 0, this.now() + durationMs))
  }

  isBanned(peer: string): boolean {
    const until = this.until.get(peer)
    if (until === undefined) return false
    if (until > this.now()) return true
    this.until.delete(peer)
    return false
  }

  get size(): number {
    return this.until.size
  }
}

/** Readiness as /ready and /health report it: `ready` when every check passes. */
export interface ReadinessReport {
  ready: boolean
  checks: Record<string, boolean>
  /** Of the data columns we advertise custody of, how many some handshaken peer custodies (informational). */
  custody?: { advertisedColumns: number; coveredColumns: number }
}

export interface ReadinessSources {
  /** Handshaken (relevant) peers right now. */
  handshakenPeers: () => number
  /** A trusted beacon node (`--beacon-api`) has seeded our Status. */
  seeded: () => boolean
  /** null when discovery is off (`--no-discovery`); otherwise whether it is running. */
  discoveryRunning: (() => boolean) | null
  custody?: () => { advertisedColumns: number; coveredColumns: number }
}

/**
 * Contower is ready to serve when it knows the chain (a handshaken peer's Status or the beacon API seed), has a
 * handshaken peer to relay to, and, when discovery is on, discovery is running. Liveness (/health) is separate.
 */
export function readiness(sources: ReadinessSources): ReadinessReport {
  const handshaken = sources.handshakenPeers() > 0
  const checks = {
    chainStatusKnown: handshaken || sources.seeded(),
    handshakenPeer: handshaken,
    discoveryRunning: sources.discoveryRunning ? sources.discoveryRunning() : true,
  }
  const report: ReadinessReport = { ready: Object.values(checks).every(Boolean), checks }
  if (sources.custody) report.custody = sources.custody()
  return report
}

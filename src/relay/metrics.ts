import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { CacheStats } from './responseCache.js'

export type RelayMetrics = ReturnType<typeof createRelayMetrics>

/** Figures the metrics read from their owners at scrape time. */
export interface RelayMetricSources {
  cacheStats: () => CacheStats
  queueDepth: () => number
  custodyCoverage?: () => number
  /** Block roots hashed so far on the worker thread and on the event loop. */
  blockRootStats?: () => { offThread: number; here: number }
}

/** Buckets tied to the requester's patience: Lodestar's TTFB is 5 s and each further chunk gets 10 s. */
const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30]

/**
 * Relay metrics; labels are protocol (name/version), result, reason and client, never a peer id. Cache and
 * queue figures are read from their owners at scrape time.
 */
export function createRelayMetrics(registry: Registry, sources: RelayMetricSources) {
  return {
    ...requestMetrics(registry),
    ...upstreamMetrics(registry, sources),
    ...cacheMetrics(registry, sources),
    ...columnMetrics(registry, sources),
    blockRoots: new Counter({
      name: 'contower_relay_block_roots_total',
      help: 'Block roots hashed to verify upstream answers, by thread (worker, or event_loop when there is none)',
      labelNames: ['thread'],
      registers: [registry],
      collect() {
        const stats = sources.blockRootStats?.()
        if (!stats) return
        this.reset()
        this.inc({ thread: 'worker' }, stats.offThread)
        this.inc({ thread: 'event_loop' }, stats.here)
      },
    }),
  }
}

/** Inbound data requests: their results, times, what was sent and what the rate limiter held back. */
function requestMetrics(registry: Registry) {
  return {
    requests: new Counter({
      name: 'contower_relay_requests_total',
      help: 'Data requests relayed, by protocol and result (success, cache_hit, fleet_hit (replayed from the fleet’s shared cache), coalesced (answered by an identical request in flight), rate_limited, queue_full, queue_timeout (no upstream free within the queue wait), requester_busy (over its share of open requests), no_upstream, upstream_failed, failed_after_first_chunk, invalid_request, nothing_asked (a range past the clock or an empty list of roots: answered empty without an upstream), aborted)',
      labelNames: ['protocol', 'result'],
      registers: [registry],
    }),
    requestSeconds: new Histogram({
      name: 'contower_relay_request_seconds',
      help: 'Time from an inbound data request to the end of its answer',
      labelNames: ['protocol', 'source'],
      buckets: SECONDS_BUCKETS,
      registers: [registry],
    }),
    chunks: new Counter({
      name: 'contower_relay_response_chunks_total',
      help: 'Response chunks sent to requesters, by protocol and source (upstream or cache)',
      labelNames: ['protocol', 'source'],
      registers: [registry],
    }),
    bytes: new Counter({
      name: 'contower_relay_response_bytes_total',
      help: 'Response bytes sent to requesters, by protocol and source (upstream or cache)',
      labelNames: ['protocol', 'source'],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'contower_relay_rate_limited_total',
      help: 'Inbound data requests delayed or refused by the rate limiter, by protocol and outcome (delayed, or the refusal reason)',
      labelNames: ['protocol', 'outcome'],
      registers: [registry],
    }),
  }
}

/** Calls to upstreams and the queue in front of them. */
function upstreamMetrics(registry: Registry, sources: RelayMetricSources) {
  return {
    upstreamSeconds: new Histogram({
      name: 'contower_relay_upstream_seconds',
      help: 'Time from sending a request upstream to its last chunk, successful calls only',
      labelNames: ['protocol'],
      buckets: SECONDS_BUCKETS,
      registers: [registry],
    }),
    upstreamErrors: new Counter({
      name: 'contower_relay_upstream_errors_total',
      help: 'Failed upstream calls, by protocol and reason (a request error code or an invalid chunk reason)',
      labelNames: ['protocol', 'reason'],
      registers: [registry],
    }),
    failovers: new Counter({
      name: 'contower_relay_failovers_total',
      help: 'Requests moved to another upstream before their first chunk',
      labelNames: ['protocol'],
      registers: [registry],
    }),
    resumes: new Counter({
      name: 'contower_relay_resumes_total',
      help: 'Answers (blocks by range or root, light-client updates by range) continued from another upstream after the one answering failed mid-response, by outcome (whole: the rest came, and blocks by range linked on; failed: no upstream could give it)',
      labelNames: ['protocol', 'outcome'],
      registers: [registry],
    }),
    unprovenRanges: new Counter({
      name: 'contower_relay_unproven_ranges_total',
      help: 'BlocksByRange answers whose last block no later block could prove, or empty where the upstream has the block after the range (forwarded, not cached)',
      registers: [registry],
    }),
    gossipProvenRanges: new Counter({
      name: 'contower_relay_gossip_proven_ranges_total',
      help: 'BlocksByRange answers whose last block, with no block after it in the answer, was proven by the same block relayed on gossip from another peer',
      registers: [registry],
    }),
    splitRequests: new Counter({
      name: 'contower_relay_split_requests_total',
      help: 'Ranges larger than any upstream takes in one request, asked in parts, by protocol and outcome (whole: every part answered; shortened: light-client updates ended at a period that could not be had; failed)',
      labelNames: ['protocol', 'outcome'],
      registers: [registry],
    }),
    followUps: new Counter({
      name: 'contower_relay_successor_followups_total',
      help: 'Follow-up requests for the block proving a range’s last block, after the slots asked with the range were empty, by result (proven, empty, no_quota: the upstream’s quota had no room in time)',
      labelNames: ['result'],
      registers: [registry],
    }),
    upstreamChoice: new Counter({
      name: 'contower_relay_upstream_choice_total',
      help: 'Upstream calls started, by protocol and the chosen peer client',
      labelNames: ['protocol', 'client'],
      registers: [registry],
    }),
    queueWaitSeconds: new Histogram({
      name: 'contower_relay_queue_wait_seconds',
      help: 'Time requests waited for an upstream slot (only those that had to wait)',
      buckets: SECONDS_BUCKETS,
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'contower_relay_queue_depth',
      help: 'Requests waiting for an upstream slot',
      registers: [registry],
      collect() {
        this.set(sources.queueDepth())
      },
    }),
  }
}

/** The response cache, read from its counters at scrape time. */
function cacheMetrics(registry: Registry, sources: RelayMetricSources) {
  const cacheCounter = (name: string, help: string, read: (s: CacheStats) => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset()
        this.inc(read(sources.cacheStats()))
      },
    })
  return {
    cacheHits: cacheCounter(
      'contower_relay_cache_hits_total',
      'Requests answered from the response cache',
      (s) => s.hits,
    ),
    cacheMisses: cacheCounter(
      'contower_relay_cache_misses_total',
      'Requests the cache could not answer',
      (s) => s.misses,
    ),
    cacheEvictions: cacheCounter(
      'contower_relay_cache_evictions_total',
      'Cache entries dropped for space or age',
      (s) => s.evictions,
    ),
    cacheBytes: new Gauge({
      name: 'contower_relay_cache_bytes',
      help: 'Bytes held by the response cache',
      registers: [registry],
      collect() {
        this.set(sources.cacheStats().bytes)
      },
    }),
    cacheEntries: new Gauge({
      name: 'contower_relay_cache_entries',
      help: 'Entries held by the response cache (responses and indexed blocks)',
      registers: [registry],
      collect() {
        this.set(sources.cacheStats().entries)
      },
    }),
  }
}

/** Data column requests split over custodians. */
function columnMetrics(registry: Registry, sources: RelayMetricSources) {
  return {
    columnSubRequests: new Histogram({
      name: 'contower_relay_column_subrequests',
      help: 'Upstream calls one data column request was split into (failovers and resumptions included)',
      labelNames: ['protocol'],
      buckets: [0, 1, 2, 3, 4, 6, 8, 12, 16, 32],
      registers: [registry],
    }),
    columnsDelivered: new Counter({
      name: 'contower_relay_columns_delivered_total',
      help: 'Data column sidecars sent to requesters from custodians',
      labelNames: ['protocol'],
      registers: [registry],
    }),
    columnsUnavailable: new Counter({
      name: 'contower_relay_columns_unavailable_total',
      help: 'Asked column indices left out of an answer because no connected peer custodies (or served) them, per request',
      labelNames: ['protocol'],
      registers: [registry],
    }),
    custodyCoverage: new Gauge({
      name: 'contower_custody_columns_covered',
      help: 'Data columns (of 128) that at least one handshaken peer custodies',
      registers: [registry],
      collect() {
        if (sources.custodyCoverage) this.set(sources.custodyCoverage())
      },
    }),
  }
}

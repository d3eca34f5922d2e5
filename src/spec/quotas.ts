// Quotas: what Lodestar enforces on each inbound request (eth2-p2p.md §6), the model Contower's upstream
// self-limit and its default inbound limits are built on.
import {
  MAX_REQUEST_BLOB_SIDECARS_ELECTRA,
  MAX_REQUEST_BLOCKS_DENEB,
  MAX_REQUEST_DATA_COLUMN_SIDECARS,
  MAX_REQUEST_LIGHT_CLIENT_UPDATES,
  MAX_REQUEST_PAYLOADS,
} from './reqresp.js'

/** `tokens` items per `seconds`, as a bucket: bursts up to `tokens`, refilling at `tokens / seconds`. */
export interface Quota {
  tokens: number
  seconds: number
}

/**
 * What Lodestar enforces on every inbound request, per requesting peer and per protocol (a GCRA bucket that starts
 * full; cost = the items a request asks for, 1 for protocols without a count). A request that does not fit is
 * treated as a Fatal peer action: the requester is banned. Contower's upstream self-limit keeps below these.
 * Source: eth2-p2p.md §6, Lodestar packages/beacon-node/src/network/reqresp/rateLimit.ts.
 * Lodestar keys its buckets by protocol id (name and version); keying by name, as here, shares one bucket across
 * versions, which is stricter.
 */
export const LODESTAR_QUOTAS: Readonly<Record<string, Quota>> = Object.freeze({
  status: { tokens: 5, seconds: 15 },
  goodbye: { tokens: 1, seconds: 10 },
  ping: { tokens: 2, seconds: 10 },
  metadata: { tokens: 2, seconds: 5 },
  beacon_blocks_by_range: { tokens: MAX_REQUEST_BLOCKS_DENEB, seconds: 10 },
  beacon_blocks_by_root: { tokens: MAX_REQUEST_BLOCKS_DENEB, seconds: 10 },
  // Lodestar: MAX_REQUEST_BLOB_SIDECARS_ELECTRA (128 * 9 = 1152) from Electra on, 128 * 6 = 768 before it.
  // Every network Contower joins is past Electra; a pre-Electra devnet would need `blob_sidecars_by_range:768/10`.
  blob_sidecars_by_range: { tokens: MAX_REQUEST_BLOB_SIDECARS_ELECTRA, seconds: 10 },
  blob_sidecars_by_root: { tokens: MAX_REQUEST_BLOB_SIDECARS_ELECTRA, seconds: 10 },
  data_column_sidecars_by_range: { tokens: MAX_REQUEST_DATA_COLUMN_SIDECARS, seconds: 10 },
  data_column_sidecars_by_root: { tokens: MAX_REQUEST_DATA_COLUMN_SIDECARS, seconds: 10 },
  // Gloas payload envelopes: the sources above predate them; modelled on blocks, one envelope per block.
  execution_payload_envelopes_by_range: { tokens: MAX_REQUEST_PAYLOADS, seconds: 10 },
  execution_payload_envelopes_by_root: { tokens: MAX_REQUEST_PAYLOADS, seconds: 10 },
  light_client_bootstrap: { tokens: 5, seconds: 15 },
  light_client_updates_by_range: { tokens: MAX_REQUEST_LIGHT_CLIENT_UPDATES, seconds: 10 },
  light_client_finality_update: { tokens: 2, seconds: 12 },
  light_client_optimistic_update: { tokens: 2, seconds: 12 },
})

/**
 * What Contower lets each requesting peer ask of it by default: Lodestar's quotas, except blocks by range at
 * Lighthouse's 1024 per 10 s. A node syncing through Contower asks batches of 32 blocks back to back (Lighthouse
 * queues up to six per peer, Teku up to 474 blocks a minute): at 128 per 10 s Contower refused it and charged it while
 * its upstreams had room (scripts/bench-sync.ts: a sync 5-11× slower with 3-8 upstreams, the requester at -30). What
 * reaches the upstreams stays bounded by their own quotas, and the upstream queue shares it fairly among requesters.
 */
export const INBOUND_QUOTAS: Readonly<Record<string, Quota>> = Object.freeze({
  ...LODESTAR_QUOTAS,
  beacon_blocks_by_range: { tokens: 1024, seconds: 10 },
})

/** The name a quota spec uses for the one inbound bucket shared by all peers (`global:tokens/seconds`). */
export const GLOBAL_QUOTA_KEY = 'global'

/**
 * What one peer of a client family lets a requester ask, as Contower's upstream self-limit counts it: each quota in
 * the units of `ProtocolDef.requestCost` (a request's items: blocks, roots, slots, columns) unless `per` is 'request'.
 * Sizes are chosen so that a full-size request fits the bucket and a token bucket refilled at 80 % stays within what
 * the client counts, whatever its algorithm (a sliding minute, a leaky bucket, chunks sent).
 */
export interface UpstreamQuota extends Quota {
  /** Protocols drawing on one bucket give it the same name (Prysm's blocks by range and by root); default: own. */
  bucket?: string
  /** What a request takes: its items (default) or one. */
  per?: 'item' | 'request'
}

export interface UpstreamQuotaModel {
  protocols: Readonly<Record<string, UpstreamQuota>>
  /** Every data request, whatever its protocol, also takes one token of this (Teku and Prysm count requests). */
  requests?: Quota
}

/**
 * Client families whose inbound limits Contower models (their sources, 2025–2026: Lodestar `reqresp/rateLimit.ts`,
 * Lighthouse `rpc/config.rs`, Teku `PeerRequestLimiter`/`RateTrackerImpl`, Prysm `sync/rate_limiter.go`, Nimbus
 * `eth2_network.nim`; docs/robustness.md). What each does to a requester over its limit decides how much it matters:
 * Lodestar bans at once, Prysm answers "rate limited" and bans after five, Teku disconnects (Goodbye 130, two
 * minutes refused), Lighthouse and Nimbus only slow down (a slow answer still costs Contower its TTFB and a retry).
 * Light-client protocols are absent where the client does not serve them (Teku; Prysm after Capella): the
 * protocol is not announced then, and the peer is never asked. Blob protocols are modelled each on its own, not
 * shared as Teku and Prysm count them: no network Contower joins serves blobs any more (Fulu and later). Gloas payload
 * envelopes (by range and by root) are in none of these sources: each client's are modelled on its blocks quota, in a
 * bucket of their own where its blocks share one.
 */
export const UPSTREAM_QUOTA_MODELS = Object.freeze({
  lodestar: { protocols: LODESTAR_QUOTAS },
  // Counts the chunks it sends and delays those over quota (earlier versions refused a request larger than the
  // bucket). Blobs: 896 sidecars per 10 s, here in slots of up to 9 sidecars and in ids.
  lighthouse: {
    protocols: {
      beacon_blocks_by_range: { tokens: 128, seconds: 10 },
      beacon_blocks_by_root: { tokens: 128, seconds: 10 },
      blob_sidecars_by_range: { tokens: 128, seconds: 13 },
      blob_sidecars_by_root: { tokens: 1152, seconds: 13 },
      data_column_sidecars_by_range: { tokens: 16384, seconds: 10 },
      data_column_sidecars_by_root: { tokens: 16384, seconds: 10 },
      execution_payload_envelopes_by_range: { tokens: 128, seconds: 10 },
      execution_payload_envelopes_by_root: { tokens: 128, seconds: 10 },
      light_client_bootstrap: { tokens: 1, seconds: 10 },
      light_client_updates_by_range: { tokens: 1, seconds: 10 },
      light_client_finality_update: { tokens: 1, seconds: 10 },
      light_client_optimistic_update: { tokens: 1, seconds: 10 },
    },
  },
  // Counts over a sliding minute: 100 requests of any protocol (Status, Ping and MetaData included), 500 blocks
  // (by range and by root together), 2000 blob sidecars (a range counted as count × 9), 64000 columns. A bucket of
  // C tokens refilled in S seconds at 80 % lets through at most C + 0.8 × C × 60 / S in any minute: 30/30 s → 78
  // requests, 128/20 s → 435 blocks, 16384/20 s → 55705 columns, 128 slots/70 s → 216 slots of blobs.
  teku: {
    requests: { tokens: 30, seconds: 30 },
    protocols: {
      beacon_blocks_by_range: { tokens: 128, seconds: 20, bucket: 'blocks' },
      beacon_blocks_by_root: { tokens: 128, seconds: 20, bucket: 'blocks' },
      blob_sidecars_by_range: { tokens: 128, seconds: 70 },
      blob_sidecars_by_root: { tokens: 1152, seconds: 70 },
      data_column_sidecars_by_range: { tokens: 16384, seconds: 20, bucket: 'columns' },
      data_column_sidecars_by_root: { tokens: 16384, seconds: 20, bucket: 'columns' },
      execution_payload_envelopes_by_range: { tokens: 128, seconds: 20, bucket: 'payloads' },
      execution_payload_envelopes_by_root: { tokens: 128, seconds: 20, bucket: 'payloads' },
    },
  },
  // Leaky buckets: 5 requests a second (burst 10) over all streams (v6; v7 allows twice that); blocks 64 per 30 s
  // (burst 128) by range and by root together; columns 4096 per 30 s (burst 16384) together, a range also charged
  // its slots (at most as many again: hence half the rate, and no room for 128 slots × 128 columns); blobs 384 per
  // 30 s; light-client requests 1 a second (burst 5).
  prysm: {
    requests: { tokens: 10, seconds: 2 },
    protocols: {
      beacon_blocks_by_range: { tokens: 128, seconds: 60, bucket: 'blocks' },
      beacon_blocks_by_root: { tokens: 128, seconds: 60, bucket: 'blocks' },
      blob_sidecars_by_range: { tokens: 128, seconds: 100 },
      blob_sidecars_by_root: { tokens: 1152, seconds: 90 },
      data_column_sidecars_by_range: { tokens: 16256, seconds: 256, bucket: 'columns' },
      data_column_sidecars_by_root: { tokens: 16256, seconds: 256, bucket: 'columns' },
      execution_payload_envelopes_by_range: { tokens: 128, seconds: 60, bucket: 'payloads' },
      execution_payload_envelopes_by_root: { tokens: 128, seconds: 60, bucket: 'payloads' },
      light_client_bootstrap: { tokens: 5, seconds: 5, per: 'request' },
      light_client_updates_by_range: { tokens: 5, seconds: 5, per: 'request' },
      light_client_finality_update: { tokens: 5, seconds: 5, per: 'request' },
      light_client_optimistic_update: { tokens: 5, seconds: 5, per: 'request' },
    },
  },
  // One weighted bucket per peer for everything, drained by 8 requests a second (burst 40), 64 blocks, 8000 columns,
  // 1 bootstrap a second: here each at half that, since they share it. Nimbus waits for its quota; it never refuses.
  nimbus: {
    requests: { tokens: 20, seconds: 5 },
    protocols: {
      beacon_blocks_by_range: { tokens: 160, seconds: 5, bucket: 'blocks' },
      beacon_blocks_by_root: { tokens: 160, seconds: 5, bucket: 'blocks' },
      data_column_sidecars_by_range: { tokens: 16384, seconds: 4, bucket: 'columns' },
      data_column_sidecars_by_root: { tokens: 16384, seconds: 4, bucket: 'columns' },
      execution_payload_envelopes_by_range: { tokens: 160, seconds: 5, bucket: 'payloads' },
      execution_payload_envelopes_by_root: { tokens: 160, seconds: 5, bucket: 'payloads' },
      light_client_bootstrap: { tokens: 2, seconds: 4 },
    },
  },
} satisfies Record<string, UpstreamQuotaModel>)

export type QuotaModelName = keyof typeof UPSTREAM_QUOTA_MODELS

/** Client families that run another's networking code, or enforce its quotas by default. */
const SAME_QUOTAS_AS: ReadonlyMap<string, QuotaModelName> = new Map([
  ['grandine', 'lighthouse'],
  ['contower', 'lodestar'],
])

// Asked for every upstream on every choice of one: the lists are made once, not per call.
const ALL_MODELS = Object.freeze(Object.keys(UPSTREAM_QUOTA_MODELS) as QuotaModelName[])
const MODELS_OF: ReadonlyMap<string, readonly QuotaModelName[]> = new Map(
  ALL_MODELS.map((name) => [name, Object.freeze([name])]),
)

/**
 * The quota models a peer of `client` (a family name from its agent string) is held to: its own, or for a client
 * Contower has no model of (an unknown agent, or none yet), all of them at once: the strictest of each.
 */
export function quotaModelsFor(client: string): readonly QuotaModelName[] {
  return MODELS_OF.get(SAME_QUOTAS_AS.get(client) ?? client) ?? ALL_MODELS
}

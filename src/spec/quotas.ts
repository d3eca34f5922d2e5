// Quotas: what Lodestar enforces on each inbound request (eth2-p2p.md §6), the model Contower's upstream
// self-limit and its default inbound limits are built on.
import {
  MAX_REQUEST_BLOB_SIDECARS_ELECTRA,
  MAX_REQUEST_BLOCKS_DENEB,
  MAX_REQUEST_DATA_COLUMN_SIDECARS,
  MAX_REQUEST_LIGHT_CLIENT_UPDATES,
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
  light_client_bootstrap: { tokens: 5, seconds: 15 },
  light_client_updates_by_range: { tokens: MAX_REQUEST_LIGHT_CLIENT_UPDATES, seconds: 10 },
  light_client_finality_update: { tokens: 2, seconds: 12 },
  light_client_optimistic_update: { tokens: 2, seconds: 12 },
})

/** The name a quota spec uses for the one inbound bucket shared by all peers (`global:tokens/seconds`). */
export const GLOBAL_QUOTA_KEY = 'global'

// Req/resp limits and timeouts. Values: consensus-specs p2p-interface.md (phase0, deneb, electra, fulu
// "Configuration"), identical in the mainnet and minimal configs; timeouts as Lodestar applies them.

/** deneb: max blocks in one BlocksByRange/ByRoot request. */
export const MAX_REQUEST_BLOCKS_DENEB = 128
/** electra: blobs per block; blob sidecars are served for pre-Fulu blocks only, so this bounds them. */
export const MAX_BLOBS_PER_BLOCK_ELECTRA = 9
/** electra: MAX_REQUEST_BLOCKS_DENEB * MAX_BLOBS_PER_BLOCK_ELECTRA. */
export const MAX_REQUEST_BLOB_SIDECARS_ELECTRA = 1152
/** fulu: MAX_REQUEST_BLOCKS_DENEB * NUMBER_OF_COLUMNS. */
export const MAX_REQUEST_DATA_COLUMN_SIDECARS = 16384
/** gloas: max execution payload envelopes in one ExecutionPayloadEnvelopesByRange/ByRoot request. */
export const MAX_REQUEST_PAYLOADS = 128
/** altair light client p2p: max updates in one LightClientUpdatesByRange. */
export const MAX_REQUEST_LIGHT_CLIENT_UPDATES = 128
/** phase0: requesters must not have more than this many requests of one protocol open to one peer. */
export const MAX_CONCURRENT_REQUESTS = 2

/** Lodestar: an inbound stream must deliver its whole request within this. */
export const REQUEST_TIMEOUT_MS = 5_000
/** Lodestar: time to first byte of a response. */
export const TTFB_TIMEOUT_MS = 5_000
/** Lodestar: max time between response chunks. */
export const RESP_TIMEOUT_MS = 10_000
/** Lodestar: time allowed to open a stream and negotiate a protocol. */
export const DIAL_TIMEOUT_MS = 5_000

export const PROTOCOL_PREFIX = '/eth2/beacon_chain/req'

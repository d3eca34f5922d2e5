import { Counter, Histogram, type Registry } from 'prom-client'

export type ReqRespMetrics = ReturnType<typeof createReqRespMetrics>

/** Req/resp metrics; labels are protocol (name/version), direction, result and transport, never a peer id. */
export function createReqRespMetrics(registry: Registry) {
  return {
    inboundRequests: new Counter({
      name: 'contower_reqresp_inbound_requests_total',
      help: 'Requests served (data requests are relayed), by protocol, result (success, invalid_request, server_error, resource_unavailable, rate_limited (139: busy or over a limit), too_many_concurrent, timeout, aborted) and the requester’s transport (tcp, quic)',
      labelNames: ['protocol', 'result', 'transport'],
      registers: [registry],
    }),
    inboundResponseBytes: new Counter({
      name: 'contower_reqresp_response_bytes_total',
      help: 'Response bytes (ssz_snappy chunks) written to requesters, by the requester’s transport (tcp, quic)',
      labelNames: ['transport'],
      registers: [registry],
    }),
    outboundRequests: new Counter({
      name: 'contower_reqresp_outbound_requests_total',
      help: 'Requests sent to peers, by protocol and result (success or an error code)',
      labelNames: ['protocol', 'result'],
      registers: [registry],
    }),
    outboundSeconds: new Histogram({
      name: 'contower_reqresp_outbound_seconds',
      help: 'Time from opening a stream to the end of the response',
      labelNames: ['protocol'],
      // TTFB 5 s + 10 s per chunk bound most requests.
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20],
      registers: [registry],
    }),
  }
}

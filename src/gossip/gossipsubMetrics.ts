/**
 * @libp2p/gossipsub reports what it does inside (duplicates dropped by its seen cache, messages forwarded) only
 * through its `metricsRegister` option: ~100 metric definitions it drives on every message. Contower exports them
 * (metrics/promRegister.ts) and counts two of them into its own metrics: the increments of the names in `taps` are
 * passed on with their `topic` label (the topic kind, via gossipsub's `metricsTopicStrToLabel`).
 */
import type { MetricsRegister } from '@libp2p/gossipsub/metrics'

/** gossipsub's counter of messages its seen cache dropped, labelled by topic. */
export const GOSSIPSUB_DUPLICATES_METRIC = 'gossipsub_pre_validation_duplicate_total'
/** gossipsub's counter of received messages forwarded to mesh peers, labelled by topic. */
export const GOSSIPSUB_FORWARDS_METRIC = 'gossipsub_msg_forward_count_total'
/** gossipsub's counter of every message received, before its seen cache: what a peer actually sent. */
export const GOSSIPSUB_RECEIVED_METRIC = 'gossipsub_msg_received_prevalidation_total'

export type MetricTap = (topicLabel: string, value: number) => void

const NOOP = () => {}
const noopGauge = { inc: NOOP, set: NOOP, addCollect: NOOP }
const noopHistogram = { startTimer: () => NOOP, observe: NOOP, reset: NOOP }
const noopAvgMinMax = { set: NOOP }

/**
 * A MetricsRegister that passes the increments of the tapped gossipsub metrics on, and otherwise hands gossipsub
 * `inner`'s metrics (the library's own, exported) or, without it, metrics that record nothing.
 */
export function gossipsubMetricsTap(
  taps: Readonly<Record<string, MetricTap>>,
  inner: MetricsRegister | null = null,
): MetricsRegister {
  type GaugeConfig = Parameters<MetricsRegister['gauge']>[0]
  type AnyGauge = { inc: (...args: unknown[]) => void; set: (...args: unknown[]) => void; addCollect: typeof NOOP }
  const register = {
    gauge(config: { name: string }) {
      const base = (inner?.gauge(config as GaugeConfig) as unknown as AnyGauge | undefined) ?? noopGauge
      const tap = taps[config.name]
      if (!tap) return base
      return {
        // gossipsub calls inc(value?) on unlabelled gauges and inc(labels, value?) on labelled ones.
        inc(labelsOrValue?: Record<string, string | number> | number, value?: number) {
          if (typeof labelsOrValue === 'object') tap(String(labelsOrValue.topic ?? ''), value ?? 1)
          else tap('', labelsOrValue ?? 1)
          base.inc(labelsOrValue, value)
        },
        set: base.set,
        addCollect: base.addCollect,
      }
    },
    histogram: inner ? inner.histogram.bind(inner) : () => noopHistogram,
    avgMinMax: inner ? inner.avgMinMax.bind(inner) : () => noopAvgMinMax,
  }
  return register as unknown as MetricsRegister
}

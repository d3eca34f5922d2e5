import type { MetricsRegister } from '@libp2p/gossipsub/metrics'
import { Gauge, Histogram, type Registry } from 'prom-client'

type Labels = Record<string, string | number>
type CollectFn = (metric: unknown) => void

/**
 * A gossipsub `MetricsRegister` backed by prom-client: the library's own metrics (mesh, peer scores, IHAVE/IWANT,
 * IDONTWANT…) registered into our registry under the names it gives them. Topic labels are this chain's topics
 * only (gossipsub's allowedTopics), so their number is bounded. avgMinMax becomes three gauges, as in Lodestar.
 */
export function promMetricsRegister(registry: Registry): MetricsRegister {
  const gauge = (config: { name: string; help: string; labelNames?: readonly string[] }) => {
    const collectFns: CollectFn[] = []
    const wrapper = {
      inc: (labelsOrValue?: Labels | number, value?: number) =>
        typeof labelsOrValue === 'object' ? g.inc(labelsOrValue, value ?? 1) : g.inc(labelsOrValue ?? 1),
      set: (labelsOrValue: Labels | number, value?: number) =>
        typeof labelsOrValue === 'object' ? g.set(labelsOrValue, value ?? 0) : g.set(labelsOrValue),
      addCollect: (fn: CollectFn) => void collectFns.push(fn),
    }
    const g = new Gauge({
      name: config.name,
      help: config.help,
      labelNames: [...(config.labelNames ?? [])],
      registers: [registry],
      collect() {
        for (const fn of collectFns) fn(wrapper)
      },
    })
    return wrapper
  }
  const register = {
    gauge,
    histogram(config: { name: string; help: string; labelNames?: readonly string[]; buckets?: number[] }) {
      const h = new Histogram({
        name: config.name,
        help: config.help,
        labelNames: [...(config.labelNames ?? [])],
        ...(config.buckets ? { buckets: config.buckets } : {}),
        registers: [registry],
      })
      return {
        startTimer: () => h.startTimer(),
        observe: (labelsOrValue: Labels | number, value?: number) =>
          typeof labelsOrValue === 'object' ? h.observe(labelsOrValue, value ?? 0) : h.observe(labelsOrValue),
        reset: () => h.reset(),
      }
    },
    avgMinMax(config: { name: string; help: string; labelNames?: readonly string[] }) {
      const parts = (['avg', 'min', 'max'] as const).map((stat) =>
        gauge({ ...config, name: `${config.name}_${stat}`, help: `${config.help} (${stat})` }),
      )
      const stats = (values: number[]): number[] => {
        if (values.length === 0) return [0, 0, 0]
        let sum = 0
        let min = Infinity
        let max = -Infinity
        for (const v of values) {
          sum += v
          if (v < min) min = v
          if (v > max) max = v
        }
        return [sum / values.length, min, max]
      }
      return {
        set: (labelsOrValues: Labels | number[], values?: number[]) => {
          const labelled = !Array.isArray(labelsOrValues)
          const s = stats(labelled ? (values ?? []) : labelsOrValues)
          parts.forEach((p, i) => (labelled ? p.set(labelsOrValues, s[i]!) : p.set(s[i]!)))
        },
      }
    },
  }
  return register as unknown as MetricsRegister
}

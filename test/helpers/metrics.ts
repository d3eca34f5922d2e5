import type { Registry } from 'prom-client'

/** Sum of a metric's values whose labels include `labels` (0 when the metric has none yet). */
export async function registryValue(
  registry: Registry | null | undefined,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = registry?.getSingleMetric(name)
  if (!metric) throw new Error(`no metric ${name}`)
  const { values } = await metric.get()
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0)
}

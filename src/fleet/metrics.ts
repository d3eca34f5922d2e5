import { Counter, Gauge, type Registry } from 'prom-client'

export type FleetMetrics = ReturnType<typeof createFleetMetrics>

/** Fleet metrics: the shared cache tier, shared reputation, and whether Redis is reachable. */
export function createFleetMetrics(registry: Registry, sources: { up: () => boolean }) {
  return {
    up: new Gauge({
      name: 'contower_fleet_redis_up',
      help: '1 while both fleet Redis connections are ready, 0 while the relay serves without its fleet',
      registers: [registry],
      collect() {
        this.set(sources.up() ? 1 : 0)
      },
    }),
    cacheLookups: new Counter({
      name: 'contower_fleet_cache_lookups_total',
      help: 'Shared cache lookups by result (hit, miss, timeout (over the budget), unavailable (Redis down), invalid)',
      labelNames: ['result'],
      registers: [registry],
    }),
    cacheWrites: new Counter({
      name: 'contower_fleet_cache_writes_total',
      help: 'Verified responses written to the shared cache, by result (stored, failed)',
      labelNames: ['result'],
      registers: [registry],
    }),
    invalidData: new Counter({
      name: 'contower_fleet_invalid_data_total',
      help: 'Data from Redis ignored as foreign or corrupt, by source (cache, reputation, load) and reason',
      labelNames: ['source', 'reason'],
      registers: [registry],
    }),
    reputationEvents: new Counter({
      name: 'contower_fleet_reputation_events_total',
      help: 'Shared bans and penalties, by direction (published, publish_failed, applied) and kind (ban, penalty)',
      labelNames: ['direction', 'kind'],
      registers: [registry],
    }),
  }
}

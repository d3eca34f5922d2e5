import { ConfigValues, FAR_FUTURE_EPOCH, parseYamlMapping } from './configValues.js'

/** Preset values that the chain config does not carry (consensus-specs presets/{mainnet,minimal}/phase0.yaml). */
export const PRESET_SLOTS_PER_EPOCH = { mainnet: 32, minimal: 8 } as const
export type PresetName = keyof typeof PRESET_SLOTS_PER_EPOCH

/** phase0 p2p-interface.md MAXIMUM_GOSSIP_CLOCK_DISPARITY, used when the config omits it. */
export const DEFAULT_MAXIMUM_GOSSIP_CLOCK_DISPARITY_MS = 500
/** Bytes of a fork version (phase0 `Version = Bytes4`). */
export const FORK_VERSION_BYTES = 4
/** Name the spec gives the genesis fork; its version is GENESIS_FORK_VERSION. */
export const GENESIS_FORK_NAME = 'phase0'

/** Fork order of the spec, used to break ties between forks at the same epoch. Unknown forks come after. */
const KNOWN_FORK_ORDER = ['phase0', 'altair', 'bellatrix', 'capella', 'deneb', 'electra', 'fulu', 'gloas', 'heze']
const FORK_VERSION_KEY_RE = /^([A-Z][A-Z0-9]*)_FORK_VERSION$/

export interface Fork {
  /** Lowercase fork name as Lodestar's ForkName spells it: phase0, altair, … fulu, gloas. */
  readonly name: string
  readonly version: Uint8Array
  /** Activation epoch; Infinity when unscheduled (FAR_FUTURE_EPOCH). */
  readonly epoch: number
}

export interface BlobScheduleEntry {
  readonly epoch: number
  readonly maxBlobsPerBlock: number
}

export interface ChainConfig {
  /** File (or description) the config came from, named in errors. */
  readonly source: string
  readonly presetBase: PresetName
  readonly configName: string
  readonly slotsPerEpoch: number
  readonly slotDurationMs: number
  readonly secondsPerSlot: number
  readonly maximumGossipClockDisparityMs: number
  /** Every fork, genesis included, sorted by epoch (ties in spec order); unscheduled forks last. */
  readonly forks: readonly Fork[]
  readonly electraForkEpoch: number
  /** FULU_FORK_EPOCH, or Infinity when the config predates Fulu. */
  readonly fuluForkEpoch: number
  readonly maxBlobsPerBlockElectra: number
  /** BLOB_SCHEDULE sorted by epoch. */
  readonly blobSchedule: readonly BlobScheduleEntry[]
  /** Every key of the file as parsed (scalars as strings), for settings this module does not interpret. */
  readonly values: ConfigValues
}

/**
 * Parse a consensus-specs `config.yaml`. Any `X_FORK_VERSION` + `X_FORK_EPOCH` pair is a fork, so a fork the
 * code has never heard of works once its keys are in the file.
 */
export function parseChainConfig(yamlText: string, source: string): ChainConfig {
  const values = new ConfigValues(source, parseYamlMapping(yamlText, source))

  const presetText = values.string('PRESET_BASE', `one of ${Object.keys(PRESET_SLOTS_PER_EPOCH).join(', ')}`)
  if (!Object.hasOwn(PRESET_SLOTS_PER_EPOCH, presetText)) {
    throw values.invalid('PRESET_BASE', presetText, `one of ${Object.keys(PRESET_SLOTS_PER_EPOCH).join(', ')}`)
  }
  const presetBase = presetText as PresetName
  const configName = values.has('CONFIG_NAME') ? values.string('CONFIG_NAME') : 'custom'
  const slotDurationMs = readSlotDurationMs(values)
  const forks = readForks(values)
  const fuluForkEpoch = forkEpoch(forks, 'fulu')
  const electraForkEpoch = forkEpoch(forks, 'electra')
  // get_blob_parameters falls back to MAX_BLOBS_PER_BLOCK_ELECTRA; only needed once Fulu is scheduled.
  const needsElectraBlobs = fuluForkEpoch !== FAR_FUTURE_EPOCH
  const maxBlobsPerBlockElectra = needsElectraBlobs
    ? values.uint('MAX_BLOBS_PER_BLOCK_ELECTRA')
    : (values.optionalUint('MAX_BLOBS_PER_BLOCK_ELECTRA') ?? 0)
  if (needsElectraBlobs && !forks.some((f) => f.name === 'electra')) {
    values.epoch('ELECTRA_FORK_EPOCH') // throws MISSING_KEY: the blob-parameter fallback needs it
  }

  return {
    source,
    presetBase,
    configName,
    slotsPerEpoch: PRESET_SLOTS_PER_EPOCH[presetBase],
    slotDurationMs,
    secondsPerSlot: slotDurationMs / 1000,
    maximumGossipClockDisparityMs:
      values.optionalUint('MAXIMUM_GOSSIP_CLOCK_DISPARITY') ?? DEFAULT_MAXIMUM_GOSSIP_CLOCK_DISPARITY_MS,
    forks,
    electraForkEpoch,
    fuluForkEpoch,
    maxBlobsPerBlockElectra,
    blobSchedule: readBlobSchedule(values),
    values,
  }
}

/** The fork in effect at `epoch` (spec compute_fork_version): the latest scheduled fork at or before it. */
export function forkAtEpoch(config: ChainConfig, epoch: number): Fork {
  for (let i = config.forks.length - 1; i >= 0; i--) {
    const fork = config.forks[i]!
    if (epoch >= fork.epoch) return fork
  }
  throw new RangeError(`epoch ${epoch} precedes the genesis fork of ${config.configName}`)
}

function readSlotDurationMs(values: ConfigValues): number {
  const fromMs = values.optionalUint('SLOT_DURATION_MS')
  const fromSeconds = values.optionalUint('SECONDS_PER_SLOT')
  if (fromMs === undefined && fromSeconds === undefined) {
    values.uint('SLOT_DURATION_MS') // throws MISSING_KEY
  }
  if (fromMs !== undefined && fromSeconds !== undefined && fromMs !== fromSeconds * 1000) {
    throw values.invalid('SLOT_DURATION_MS', String(fromMs), `SECONDS_PER_SLOT * 1000 = ${fromSeconds * 1000}`)
  }
  const slotDurationMs = fromMs ?? fromSeconds! * 1000
  if (slotDurationMs === 0) throw values.invalid('SLOT_DURATION_MS', '0', 'a positive slot duration')
  return slotDurationMs
}

function readForks(values: ConfigValues): Fork[] {
  const forks: { fork: Fork; rank: number }[] = [
    {
      fork: { name: GENESIS_FORK_NAME, version: values.bytes('GENESIS_FORK_VERSION', FORK_VERSION_BYTES), epoch: 0 },
      rank: 0,
    },
  ]
  let unknownRank = KNOWN_FORK_ORDER.length
  for (const key of values.keys()) {
    const match = FORK_VERSION_KEY_RE.exec(key)
    if (!match || match[1] === 'GENESIS') continue
    const prefix = match[1]!
    const name = prefix.toLowerCase()
    const specRank = KNOWN_FORK_ORDER.indexOf(name)
    const fork = {
      name,
      version: values.bytes(key, FORK_VERSION_BYTES),
      epoch: values.epoch(`${prefix}_FORK_EPOCH`),
    }
    forks.push({ fork, rank: specRank >= 0 ? specRank : unknownRank++ })
  }
  for (const key of values.keys()) {
    const prefix = /^([A-Z][A-Z0-9]*)_FORK_EPOCH$/.exec(key)?.[1]
    if (prefix !== undefined && !values.has(`${prefix}_FORK_VERSION`)) {
      values.bytes(`${prefix}_FORK_VERSION`, FORK_VERSION_BYTES) // throws MISSING_KEY
    }
  }

  // Known forks build on each other: a later one may not activate before an earlier one. Unknown (feature)
  // forks are not checked, since devnets schedule them on top of various base forks.
  const known = forks.filter((f) => f.rank < KNOWN_FORK_ORDER.length).sort((a, b) => a.rank - b.rank)
  for (let i = 1; i < known.length; i++) {
    const prev = known[i - 1]!.fork
    const cur = known[i]!.fork
    if (cur.epoch < prev.epoch) {
      const key = `${cur.name.toUpperCase()}_FORK_EPOCH`
      const prevEpoch = prev.epoch === FAR_FUTURE_EPOCH ? 'never' : String(prev.epoch)
      throw values.invalid(key, String(values.raw(key)), `an epoch at or after ${prev.name}'s (${prevEpoch})`)
    }
  }
  return [...forks].sort((a, b) => a.fork.epoch - b.fork.epoch || a.rank - b.rank).map((f) => f.fork)
}

function forkEpoch(forks: readonly Fork[], name: string): number {
  return forks.find((f) => f.name === name)?.epoch ?? FAR_FUTURE_EPOCH
}

function readBlobSchedule(values: ConfigValues): BlobScheduleEntry[] {
  if (!values.has('BLOB_SCHEDULE')) return []
  const raw = values.raw('BLOB_SCHEDULE')
  if (!Array.isArray(raw)) throw values.invalid('BLOB_SCHEDULE', raw, 'a list of {EPOCH, MAX_BLOBS_PER_BLOCK}')
  const entries = raw.map((item: unknown, i): BlobScheduleEntry => {
    const key = `BLOB_SCHEDULE[${i}]`
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      throw values.invalid(key, item, 'a mapping {EPOCH, MAX_BLOBS_PER_BLOCK}')
    }
    const entry = item as Record<string, unknown>
    const sub = new ConfigValues(values.source, {
      [`${key}.EPOCH`]: entry.EPOCH,
      [`${key}.MAX_BLOBS_PER_BLOCK`]: entry.MAX_BLOBS_PER_BLOCK,
    })
    return { epoch: sub.epoch(`${key}.EPOCH`), maxBlobsPerBlock: sub.uint(`${key}.MAX_BLOBS_PER_BLOCK`) }
  })
  const sorted = entries.map((e, i) => ({ e, i })).sort((a, b) => a.e.epoch - b.e.epoch || a.i - b.i)
  for (let j = 1; j < sorted.length; j++) {
    if (sorted[j]!.e.epoch === sorted[j - 1]!.e.epoch && sorted[j]!.e.epoch !== FAR_FUTURE_EPOCH) {
      const key = `BLOB_SCHEDULE[${sorted[j]!.i}].EPOCH`
      throw values.invalid(key, String(sorted[j]!.e.epoch), 'an epoch no other BLOB_SCHEDULE entry uses')
    }
  }
  return sorted.map((s) => s.e)
}

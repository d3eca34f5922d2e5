import { parse } from 'yaml'
import { ChainConfigError, ChainConfigErrorCode } from './errors.js'

/** phase0 beacon-chain.md `FAR_FUTURE_EPOCH = Epoch(2**64 - 1)`: the u64 spelling of "never". */
export const FAR_FUTURE_EPOCH_U64 = 2n ** 64n - 1n
/** In-memory spelling of FAR_FUTURE_EPOCH: comparisons `epoch >= FAR_FUTURE_EPOCH` stay false for real epochs. */
export const FAR_FUTURE_EPOCH = Number.POSITIVE_INFINITY

const MAX_U64 = 2n ** 64n - 1n
const MAX_SAFE_INTEGER_BIG = BigInt(Number.MAX_SAFE_INTEGER)
const DECIMAL_RE = /^[0-9]+$/
const HEX_RE = /^0x([0-9a-fA-F]{2})*$/

/**
 * Reads typed values out of a parsed YAML mapping whose scalars are all strings (failsafe schema), throwing
 * ChainConfigError that names the source, the key and the raw value.
 */
export class ConfigValues {
  constructor(
    readonly source: string,
    private readonly entries: Readonly<Record<string, unknown>>,
  ) {}

  has(key: string): boolean {
    return this.entries[key] !== undefined && this.entries[key] !== null
  }

  keys(): string[] {
    return Object.keys(this.entries)
  }

  raw(key: string): unknown {
    return this.entries[key]
  }

  /** A required scalar string. */
  string(key: string, expected = 'a string'): string {
    const value = this.entries[key]
    if (value === undefined || value === null) {
      throw new ChainConfigError(ChainConfigErrorCode.MISSING_KEY, this.source, key, undefined, expected)
    }
    if (typeof value !== 'string') throw this.invalid(key, value, expected)
    return value
  }

  /** Fixed-length bytes written as `0x` + hex. */
  bytes(key: string, length: number): Uint8Array {
    return parseHexBytes(this.source, key, this.string(key, hexExpectation(length)), length)
  }

  /** A u64 epoch; FAR_FUTURE_EPOCH becomes Infinity, other values must fit in 2^53. */
  epoch(key: string): number {
    return parseEpoch(this.source, key, this.string(key, EPOCH_EXPECTATION))
  }

  /** An unsigned integer below 2^53. */
  uint(key: string): number {
    return parseSafeUint(this.source, key, this.string(key, UINT_EXPECTATION))
  }

  optionalUint(key: string): number | undefined {
    return this.has(key) ? this.uint(key) : undefined
  }

  invalid(key: string, value: unknown, expected: string): ChainConfigError {
    const shown = typeof value === 'string' ? value : JSON.stringify(value)
    return new ChainConfigError(ChainConfigErrorCode.INVALID_VALUE, this.source, key, shown, expected)
  }
}

const EPOCH_EXPECTATION = `a decimal epoch below 2^53, or ${FAR_FUTURE_EPOCH_U64} (FAR_FUTURE_EPOCH) for never`
const UINT_EXPECTATION = 'a decimal unsigned integer below 2^53'

function hexExpectation(length: number): string {
  return `0x followed by ${length * 2} hex digits (${length} bytes)`
}

export function parseHexBytes(source: string, key: string, text: string, length: number): Uint8Array {
  const trimmed = text.trim()
  if (!HEX_RE.test(trimmed) || trimmed.length !== 2 + length * 2) {
    throw new ChainConfigError(ChainConfigErrorCode.INVALID_VALUE, source, key, text, hexExpectation(length))
  }
  return Uint8Array.from(Buffer.from(trimmed.slice(2), 'hex'))
}

function parseU64(source: string, key: string, text: string, expected: string): bigint {
  const trimmed = text.trim()
  if (!DECIMAL_RE.test(trimmed)) {
    throw new ChainConfigError(ChainConfigErrorCode.INVALID_VALUE, source, key, text, expected)
  }
  const value = BigInt(trimmed)
  if (value > MAX_U64) throw new ChainConfigError(ChainConfigErrorCode.INVALID_VALUE, source, key, text, expected)
  return value
}

export function parseEpoch(source: string, key: string, text: string): number {
  const value = parseU64(source, key, text, EPOCH_EXPECTATION)
  if (value === FAR_FUTURE_EPOCH_U64) return FAR_FUTURE_EPOCH
  if (value > MAX_SAFE_INTEGER_BIG) {
    throw new ChainConfigError(ChainConfigErrorCode.INVALID_VALUE, source, key, text, EPOCH_EXPECTATION)
  }
  return Number(value)
}

export function parseSafeUint(source: string, key: string, text: string): number {
  const value = parseU64(source, key, text, UINT_EXPECTATION)
  if (value > MAX_SAFE_INTEGER_BIG) {
    throw new ChainConfigError(ChainConfigErrorCode.INVALID_VALUE, source, key, text, UINT_EXPECTATION)
  }
  return Number(value)
}

/** Parse YAML text whose top level must be a mapping; scalars stay strings. */
export function parseYamlMapping(yamlText: string, source: string): Record<string, unknown> {
  let doc: unknown
  try {
    // failsafe: every scalar stays a string, so `0x01000000` is not read as a number and u64s keep all digits.
    doc = parse(yamlText, { schema: 'failsafe' })
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err)
    throw new ChainConfigError(ChainConfigErrorCode.INVALID_YAML, source, '', reason, 'valid YAML')
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ChainConfigError(
      ChainConfigErrorCode.INVALID_YAML,
      source,
      '',
      'not a mapping',
      'a YAML mapping of KEY: value',
    )
  }
  return doc as Record<string, unknown>
}

/** Encode an epoch (Infinity = FAR_FUTURE_EPOCH) as SSZ uint64, little-endian. */
export function epochToU64Le(epoch: number): Uint8Array {
  const out = new Uint8Array(8)
  const value = epoch === FAR_FUTURE_EPOCH ? FAR_FUTURE_EPOCH_U64 : BigInt(epoch)
  new DataView(out.buffer).setBigUint64(0, value, true)
  return out
}

import { ContowerError } from '../errors.js'

/**
 * Typed errors of the chain module. Each names the file (or flag) it came from, the key, the bad value and
 * what was expected, so an operator can fix the input without reading code.
 */

export enum ChainConfigErrorCode {
  /** The text is not YAML, or not a YAML mapping at the top level. */
  INVALID_YAML = 'CHAIN_CONFIG_INVALID_YAML',
  /** A required key is absent. */
  MISSING_KEY = 'CHAIN_CONFIG_MISSING_KEY',
  /** A key is present but its value has the wrong form or range. */
  INVALID_VALUE = 'CHAIN_CONFIG_INVALID_VALUE',
  /** The file could not be read. */
  READ_FAILED = 'CHAIN_CONFIG_READ_FAILED',
}

export class ChainConfigError extends ContowerError<ChainConfigErrorCode> {
  constructor(
    code: ChainConfigErrorCode,
    /** File path (or other description) of the config text. */
    readonly source: string,
    /** Config key, e.g. `FULU_FORK_EPOCH` or `BLOB_SCHEDULE[1].EPOCH`; empty for whole-file errors. */
    readonly key: string,
    /** The offending value as written, or undefined when missing. */
    readonly value: string | undefined,
    /** What was expected instead. */
    readonly expected: string,
  ) {
    super(code, describeChainConfigError(code, source, key, value, expected))
  }
}

function describeChainConfigError(
  code: ChainConfigErrorCode,
  source: string,
  key: string,
  value: string | undefined,
  expected: string,
): string {
  switch (code) {
    case ChainConfigErrorCode.MISSING_KEY:
      return `${source}: missing key ${key} (expected ${expected})`
    case ChainConfigErrorCode.INVALID_VALUE:
      return `${source}: invalid value for ${key}: ${JSON.stringify(value)} (expected ${expected})`
    default:
      return `${source}: ${value ?? ''} (expected ${expected})`
  }
}

export enum GenesisErrorCode {
  /** The genesis state file does not exist. */
  FILE_NOT_FOUND = 'GENESIS_FILE_NOT_FOUND',
  /** The file is shorter than the fixed-size BeaconState prefix we read. */
  FILE_TOO_SHORT = 'GENESIS_FILE_TOO_SHORT',
  /** Any other I/O failure. */
  READ_FAILED = 'GENESIS_READ_FAILED',
  /** A genesis value (time, validators root) is malformed or out of range. */
  INVALID_VALUE = 'GENESIS_INVALID_VALUE',
}

export class GenesisError extends ContowerError<GenesisErrorCode> {
  constructor(
    code: GenesisErrorCode,
    /** File path or flag name the value came from. */
    readonly source: string,
    message: string,
  ) {
    super(code, `${source}: ${message}`)
  }
}

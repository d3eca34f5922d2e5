import { type FileHandle, open } from 'node:fs/promises'
import { GenesisError, GenesisErrorCode } from './errors.js'
import { ROOT_BYTES } from './forkDigest.js'

/**
 * phase0 beacon-chain.md BeaconState starts with `genesis_time: uint64` then `genesis_validators_root: Root`,
 * both fixed-size, so they sit at bytes 0..8 and 8..40 of the SSZ encoding in every fork.
 */
const GENESIS_TIME_OFFSET_BYTES = 0
const GENESIS_VALIDATORS_ROOT_OFFSET_BYTES = 8
const GENESIS_PREFIX_BYTES = GENESIS_VALIDATORS_ROOT_OFFSET_BYTES + ROOT_BYTES
const ROOT_HEX_RE = /^0x[0-9a-fA-F]{64}$/

export interface GenesisData {
  /** Unix seconds. */
  readonly genesisTime: number
  readonly genesisValidatorsRoot: Uint8Array
}

/** Read genesis time and validators root from the head of a genesis.ssz (an SSZ BeaconState of any fork). */
export async function readGenesisFile(path: string): Promise<GenesisData> {
  let handle: FileHandle
  try {
    handle = await open(path, 'r')
  } catch (err) {
    throw ioError(path, err)
  }
  try {
    const prefix = new Uint8Array(GENESIS_PREFIX_BYTES)
    const { bytesRead } = await readFully(handle, prefix)
    if (bytesRead < GENESIS_PREFIX_BYTES) {
      throw new GenesisError(
        GenesisErrorCode.FILE_TOO_SHORT,
        path,
        `file has ${bytesRead} bytes, a BeaconState in SSZ has at least ${GENESIS_PREFIX_BYTES}`,
      )
    }
    return decodeGenesisPrefix(prefix, path)
  } catch (err) {
    throw err instanceof GenesisError ? err : ioError(path, err)
  } finally {
    await handle.close()
  }
}

/** Decode the first 40 bytes of an SSZ BeaconState. */
export function decodeGenesisPrefix(bytes: Uint8Array, source: string): GenesisData {
  if (bytes.length < GENESIS_PREFIX_BYTES) {
    throw new GenesisError(
      GenesisErrorCode.FILE_TOO_SHORT,
      source,
      `need ${GENESIS_PREFIX_BYTES} bytes, got ${bytes.length}`,
    )
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const time = view.getBigUint64(GENESIS_TIME_OFFSET_BYTES, true)
  return {
    genesisTime: toGenesisTime(time, source),
    genesisValidatorsRoot: bytes.slice(GENESIS_VALIDATORS_ROOT_OFFSET_BYTES, GENESIS_PREFIX_BYTES),
  }
}

/** Parse a `0x` + 64 hex genesis validators root, e.g. from `--genesis-validators-root`. */
export function parseGenesisValidatorsRoot(text: string, source = '--genesis-validators-root'): Uint8Array {
  const trimmed = text.trim()
  if (!ROOT_HEX_RE.test(trimmed)) {
    throw new GenesisError(
      GenesisErrorCode.INVALID_VALUE,
      source,
      `invalid genesis validators root ${JSON.stringify(text)} (expected 0x followed by 64 hex digits)`,
    )
  }
  return Uint8Array.from(Buffer.from(trimmed.slice(2), 'hex'))
}

/** Parse a genesis time in unix seconds (decimal string or number), e.g. from `--genesis-time`. */
export function parseGenesisTime(value: string | number, source = '--genesis-time'): number {
  const text = String(value).trim()
  if (!/^[0-9]+$/.test(text)) {
    throw new GenesisError(
      GenesisErrorCode.INVALID_VALUE,
      source,
      `invalid genesis time ${JSON.stringify(value)} (expected unix seconds)`,
    )
  }
  return toGenesisTime(BigInt(text), source)
}

function toGenesisTime(value: bigint, source: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new GenesisError(GenesisErrorCode.INVALID_VALUE, source, `genesis time ${value} is beyond 2^53 seconds`)
  }
  return Number(value)
}

async function readFully(handle: FileHandle, buffer: Uint8Array): Promise<{ bytesRead: number }> {
  let total = 0
  while (total < buffer.length) {
    const { bytesRead } = await handle.read(buffer, total, buffer.length - total, total)
    if (bytesRead === 0) break
    total += bytesRead
  }
  return { bytesRead: total }
}

function ioError(path: string, err: unknown): GenesisError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  if (code === 'ENOENT') {
    return new GenesisError(GenesisErrorCode.FILE_NOT_FOUND, path, 'genesis state file not found')
  }
  const reason = err instanceof Error ? err.message : String(err)
  return new GenesisError(GenesisErrorCode.READ_FAILED, path, `cannot read genesis state: ${reason}`)
}

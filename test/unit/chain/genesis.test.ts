import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { GenesisError, GenesisErrorCode } from '../../../src/chain/errors.js'
import {
  decodeGenesisPrefix,
  parseGenesisTime,
  parseGenesisValidatorsRoot,
  readGenesisFile,
} from '../../../src/chain/genesis.js'
import { tempDir } from '../../helpers/tmp.js'

const dir = tempDir('contower-genesis-')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const ROOT_HEX = '212f13fc4df078b6cb7db228f1c8307566dcecf900867401a92023d7ba99cb5f'

/** A synthetic BeaconState prefix: genesis_time u64 LE, genesis_validators_root, then the rest of the state. */
function syntheticState(genesisTime: bigint, rootHex: string, restBytes: number): Uint8Array {
  const bytes = new Uint8Array(40 + restBytes).fill(0xee)
  new DataView(bytes.buffer).setBigUint64(0, genesisTime, true)
  bytes.set(Buffer.from(rootHex, 'hex'), 8)
  return bytes
}

async function genesisError(promise: Promise<unknown>): Promise<GenesisError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(GenesisError)
  return err as GenesisError
}

describe('readGenesisFile', () => {
  it('reads genesis time and validators root from the head of genesis.ssz', async () => {
    const path = join(dir, 'genesis.ssz')
    writeFileSync(path, syntheticState(1742213400n, ROOT_HEX, 1000))
    const genesis = await readGenesisFile(path)
    expect(genesis.genesisTime).toBe(1742213400)
    expect(Buffer.from(genesis.genesisValidatorsRoot).toString('hex')).toBe(ROOT_HEX)
  })

  it('accepts a file of exactly 40 bytes', async () => {
    const path = join(dir, 'exact.ssz')
    writeFileSync(path, syntheticState(5n, ROOT_HEX, 0))
    expect((await readGenesisFile(path)).genesisTime).toBe(5)
  })

  it('reports a missing file', async () => {
    const path = join(dir, 'missing.ssz')
    const err = await genesisError(readGenesisFile(path))
    expect(err.code).toBe(GenesisErrorCode.FILE_NOT_FOUND)
    expect(err.message).toContain(path)
  })

  it('reports a short file', async () => {
    const path = join(dir, 'short.ssz')
    writeFileSync(path, new Uint8Array(39))
    const err = await genesisError(readGenesisFile(path))
    expect(err.code).toBe(GenesisErrorCode.FILE_TOO_SHORT)
    expect(err.message).toMatch(/39 bytes/)
  })

  it('reports a directory as unreadable', async () => {
    expect((await genesisError(readGenesisFile(dir))).code).toBe(GenesisErrorCode.READ_FAILED)
  })

  it('rejects a genesis time beyond 2^53', () => {
    expect(() => decodeGenesisPrefix(syntheticState(2n ** 60n, ROOT_HEX, 0), 'x.ssz')).toThrow(/2\^53/)
  })
})

describe('parseGenesisValidatorsRoot', () => {
  it('parses 0x + 64 hex digits', () => {
    expect(Buffer.from(parseGenesisValidatorsRoot(`0x${ROOT_HEX.toUpperCase()}`)).toString('hex')).toBe(ROOT_HEX)
  })

  it.each(['', ROOT_HEX, `0x${ROOT_HEX.slice(2)}`, `0x${ROOT_HEX}00`, `0x${'g'.repeat(64)}`])('rejects %j', (text) => {
    expect(() => parseGenesisValidatorsRoot(text)).toThrow(
      expect.objectContaining({ code: GenesisErrorCode.INVALID_VALUE, source: '--genesis-validators-root' }),
    )
  })
})

describe('parseGenesisTime', () => {
  it('parses decimal seconds from strings and numbers', () => {
    expect(parseGenesisTime('1606824023')).toBe(1606824023)
    expect(parseGenesisTime(1606824023)).toBe(1606824023)
  })

  it.each(['-1', '1.5', 'soon', '9007199254740993'])('rejects %j', (text) => {
    expect(() => parseGenesisTime(text)).toThrow(GenesisError)
  })
})

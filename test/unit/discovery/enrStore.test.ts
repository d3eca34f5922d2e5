import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ENR } from '@chainsafe/enr'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { beforeAll, describe, expect, it } from 'vitest'
import { localEnrKvs, type LocalEnrFields } from '../../../src/discovery/enr.js'
import { ENR_FILE_NAME, EnrStore, signLocalEnr } from '../../../src/discovery/enrStore.js'
import { DiscoveryError, DiscoveryErrorCode } from '../../../src/discovery/errors.js'
import { tempDir } from '../../helpers/tmp.js'

let key: PrivateKey
beforeAll(async () => {
  key = await generateKeyPair('secp256k1')
})

const base: LocalEnrFields = { ip: '192.0.2.1', tcp: 9000, udp: 9000, attnets: [], syncnets: [], custodyGroupCount: 4 }

function sign(dir: string, fields: Partial<LocalEnrFields> = {}, persist = true) {
  return signLocalEnr(key, localEnrKvs(key, { ...base, ...fields }), new EnrStore(dir), { persist })
}

function errorOf(fn: () => unknown): DiscoveryError {
  try {
    fn()
  } catch (e) {
    if (e instanceof DiscoveryError) return e
    throw e
  }
  throw new Error('expected a DiscoveryError')
}

describe('ENR sequence number persistence', () => {
  it('starts at 1, keeps seq while the fields are the same, bumps it once when one changes', () => {
    const dir = tempDir('contower-enr-')
    const first = sign(dir)
    expect(first.enr.seq).toBe(1n)
    expect(first.changed).toBe(true)
    const file = join(dir, ENR_FILE_NAME)
    expect(statSync(file).mode & 0o777).toBe(0o600)

    const again = sign(dir)
    expect(again).toMatchObject({ changed: false })
    expect(again.enr.seq).toBe(1n)
    expect(again.enr.encodeTxt()).toBe(first.enr.encodeTxt()) // the very same record

    const moreSubnets = sign(dir, { attnets: [3] })
    expect(moreSubnets.enr.seq).toBe(2n)
    expect(sign(dir, { attnets: [3] }).enr.seq).toBe(2n)
    expect(sign(dir, { tcp: 9100 }).enr.seq).toBe(3n)
    expect(sign(dir).enr.seq).toBe(4n) // changing back is a change too
    // The record verifies and carries the persisted seq.
    expect(ENR.decodeTxt(sign(dir).enr.encodeTxt()).seq).toBe(4n)
    expect(readdirSync(dir)).toEqual([ENR_FILE_NAME]) // no temp file left behind
  })

  it('persist: false computes the next record without writing it', () => {
    const dir = tempDir('contower-enr-')
    expect(sign(dir, {}, false).enr.seq).toBe(1n)
    expect(existsSync(join(dir, ENR_FILE_NAME))).toBe(false)
    sign(dir)
    const preview = sign(dir, { syncnets: [1] }, false)
    expect(preview).toMatchObject({ changed: true })
    expect(preview.enr.seq).toBe(2n)
    expect(sign(dir, { syncnets: [1] }).enr.encodeTxt()).toBe(preview.enr.encodeTxt())
  })

  it('refuses a corrupt file, naming it, and leaves it untouched', () => {
    const dir = tempDir('contower-enr-')
    const file = join(dir, ENR_FILE_NAME)
    for (const text of ['not json', '[]', '{"seq":"-1","kvs":{}}', '{"seq":"1","kvs":{"ip":"zz"}}', '{"seq":1}']) {
      writeFileSync(file, text)
      const err = errorOf(() => sign(dir))
      expect(err.code).toBe(DiscoveryErrorCode.ENR_FILE_CORRUPT)
      expect(err.subject).toBe(file)
      expect(err.message).toContain(`ENR record file ${file} is corrupt`)
      expect(readFileSync(file, 'utf8')).toBe(text)
    }
  })

  it('reports an unreadable file and an unwritable data dir with the file name', () => {
    const dir = tempDir('contower-enr-')
    const file = join(dir, ENR_FILE_NAME)
    mkdirSync(file) // a directory where the file should be: EISDIR on read
    const unreadable = errorOf(() => sign(dir))
    expect(unreadable.code).toBe(DiscoveryErrorCode.ENR_FILE_UNREADABLE)
    expect(unreadable.message).toContain(`cannot read ENR record file ${file}`)

    const readOnly = tempDir('contower-enr-')
    chmodSync(readOnly, 0o500)
    try {
      if (process.getuid?.() === 0) return // root writes anyway
      const unwritable = errorOf(() => sign(readOnly))
      expect(unwritable.code).toBe(DiscoveryErrorCode.ENR_FILE_UNWRITABLE)
      expect(unwritable.message).toContain(join(readOnly, ENR_FILE_NAME))
    } finally {
      chmodSync(readOnly, 0o700)
    }
  })
})

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { SignableENR } from '@chainsafe/enr'
import type { PrivateKey } from '@libp2p/interface'
import { enrPrivateKey } from './enr.js'
import { DiscoveryError, DiscoveryErrorCode } from './errors.js'

/**
 * Our ENR's sequence number and the key-values it signed, kept next to the identity key so that a restart
 * never publishes a record with a lower (or an equal but different) seq: peers keep the highest seq they saw.
 */
export const ENR_FILE_NAME = 'enr.json'
const ENR_FILE_MODE = 0o600

export interface StoredEnr {
  seq: bigint
  kvs: ReadonlyMap<string, Uint8Array>
}

/** The file's JSON shape: seq as a decimal string (a uint64), values as 0x-hex. */
interface EnrFileJson {
  seq: string
  kvs: Record<string, string>
}

export class EnrStore {
  readonly file: string

  constructor(dataDir: string) {
    this.file = join(dataDir, ENR_FILE_NAME)
  }

  /** The last record we signed, or null on first start. Throws a DiscoveryError naming the file. */
  load(): StoredEnr | null {
    let text: string
    try {
      text = readFileSync(this.file, 'utf8')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw new DiscoveryError(
        DiscoveryErrorCode.ENR_FILE_UNREADABLE,
        `cannot read ENR record file ${this.file}: ${(e as Error).message}`,
        this.file,
        { cause: e },
      )
    }
    return this.parse(text)
  }

  /** Writes atomically (temp file, fsync, rename) with mode 0600. */
  save(record: StoredEnr): void {
    const json: EnrFileJson = {
      seq: record.seq.toString(10),
      kvs: Object.fromEntries([...record.kvs].map(([k, v]) => [k, `0x${Buffer.from(v).toString('hex')}`])),
    }
    const tmp = `${this.file}.${process.pid}.tmp`
    try {
      const fd = openSync(tmp, 'w', ENR_FILE_MODE)
      try {
        writeSync(fd, `${JSON.stringify(json, null, 2)}\n`)
        fsyncSync(fd)
      } finally {
        closeSync(fd)
      }
      renameSync(tmp, this.file)
    } catch (e) {
      rmSync(tmp, { force: true })
      throw new DiscoveryError(
        DiscoveryErrorCode.ENR_FILE_UNWRITABLE,
        `cannot write ENR record file ${this.file}: ${(e as Error).message}`,
        this.file,
        { cause: e },
      )
    }
  }

  private parse(text: string): StoredEnr {
    const corrupt = (why: string) =>
      new DiscoveryError(
        DiscoveryErrorCode.ENR_FILE_CORRUPT,
        `ENR record file ${this.file} is corrupt (${why}): restore it, or delete it to restart at seq 1 (peers that hold our older record with a higher seq ignore the new one until they drop it)`,
        this.file,
      )
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      throw corrupt('not JSON')
    }
    const obj = json as Partial<EnrFileJson> | null
    if (typeof obj !== 'object' || obj === null) throw corrupt('not a JSON object')
    if (typeof obj.seq !== 'string' || !/^\d{1,20}$/.test(obj.seq) || BigInt(obj.seq) >= 2n ** 64n) {
      throw corrupt(`seq ${JSON.stringify(obj.seq)} is not a uint64 in decimal`)
    }
    if (typeof obj.kvs !== 'object' || obj.kvs === null || Array.isArray(obj.kvs)) throw corrupt('kvs is not a map')
    const kvs = new Map<string, Uint8Array>()
    for (const [k, v] of Object.entries(obj.kvs)) {
      if (typeof v !== 'string' || !/^0x([0-9a-f]{2})*$/i.test(v)) throw corrupt(`value of ${k} is not 0x-hex`)
      kvs.set(k, Buffer.from(v.slice(2), 'hex'))
    }
    return { seq: BigInt(obj.seq), kvs }
  }
}

function sameKvs(a: ReadonlyMap<string, Uint8Array>, b: ReadonlyMap<string, Uint8Array>): boolean {
  if (a.size !== b.size) return false
  for (const [k, v] of a) {
    const w = b.get(k)
    if (!w || Buffer.compare(v, w) !== 0) return false
  }
  return true
}

export interface SignedLocalEnr {
  enr: SignableENR
  /** True when the key-values differ from the last signed record, so seq was bumped. */
  changed: boolean
}

/**
 * Our signed ENR for `kvs` (from localEnrKvs): the stored seq when nothing changed, else the stored seq + 1
 * (1 on first start). `persist: false` computes without writing (`contower identity`): the record printed is
 * the one the next start signs, as long as the fields are the same then.
 */
export function signLocalEnr(
  privateKey: PrivateKey,
  kvs: ReadonlyMap<string, Uint8Array>,
  store: EnrStore,
  opts: { persist: boolean },
): SignedLocalEnr {
  const stored = store.load()
  const changed = !stored || !sameKvs(stored.kvs, kvs)
  const seq = !stored ? 1n : changed ? stored.seq + 1n : stored.seq
  const enr = new SignableENR(kvs, seq, enrPrivateKey(privateKey))
  if (changed && opts.persist) store.save({ seq, kvs })
  return { enr, changed }
}

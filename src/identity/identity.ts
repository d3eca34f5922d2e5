import { ContowerError } from '../errors.js'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { DataDirError, prepareDataDir } from './dataDir.js'

/** The only state Contower keeps: a secp256k1 key (the eth2 networks require that key type). */
export const IDENTITY_FILE_NAME = 'identity.key'
const KEY_FILE_MODE = 0o600
const DATA_DIR_MODE = 0o700

export class IdentityError extends ContowerError<'IDENTITY_UNUSABLE'> {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super('IDENTITY_UNUSABLE', message)
  }
}

export interface Identity {
  privateKey: PrivateKey
  peerId: PeerId
  file: string
  created: boolean
  /** Set when the key file is readable by group or others. */
  insecureMode?: number
}

export function identityFile(dataDir: string): string {
  return join(dataDir, IDENTITY_FILE_NAME)
}

/**
 * Reads the key from the data dir, or creates it (mode 0600) on first start. A key file that exists but
 * cannot be used is an error naming the file: it is never replaced, since that would change our peer id.
 */
export async function loadOrCreateIdentity(dataDir: string): Promise<Identity> {
  const file = identityFile(dataDir)
  try {
    await prepareDataDir(dataDir, DATA_DIR_MODE)
  } catch (e) {
    if (e instanceof DataDirError) throw new IdentityError(e.message, file)
    throw e
  }
  let text: string | undefined
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code !== 'ENOENT') throw new IdentityError(`cannot read identity key ${file}: ${(e as Error).message}`, file)
  }
  if (text === undefined) return createIdentity(file)

  const privateKey = decodeKey(text, file)
  const mode = statSync(file).mode & 0o777
  return {
    privateKey,
    peerId: peerIdFromPrivateKey(privateKey),
    file,
    created: false,
    insecureMode: (mode & 0o077) !== 0 ? mode : undefined,
  }
}

function decodeKey(text: string, file: string): PrivateKey {
  const hex = text.trim()
  if (!/^([0-9a-f]{2})+$/i.test(hex)) {
    throw new IdentityError(`identity key ${file} is corrupt: expected hex of a libp2p protobuf private key`, file)
  }
  let key: PrivateKey
  try {
    key = privateKeyFromProtobuf(Buffer.from(hex, 'hex'))
  } catch (e) {
    throw new IdentityError(`identity key ${file} is corrupt: ${(e as Error).message}`, file)
  }
  if (key.type !== 'secp256k1') {
    throw new IdentityError(`identity key ${file} is a ${key.type} key; beacon peers require secp256k1`, file)
  }
  return key
}

async function createIdentity(file: string): Promise<Identity> {
  const privateKey = await generateKeyPair('secp256k1')
  const hex = Buffer.from(privateKeyToProtobuf(privateKey)).toString('hex')
  try {
    // 'wx': never overwrite a key that appeared meanwhile (two processes on one data dir).
    writeFileSync(file, `${hex}\n`, { mode: KEY_FILE_MODE, flag: 'wx' })
  } catch (e) {
    throw new IdentityError(`cannot write identity key ${file}: ${(e as Error).message}`, file)
  }
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey), file, created: true }
}

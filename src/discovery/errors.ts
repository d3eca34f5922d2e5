import { ContowerError } from '../errors.js'

/**
 * Typed errors of discovery and our ENR. Each names the file, address or record it is about, so an operator
 * can act on the message alone.
 */
export enum DiscoveryErrorCode {
  /** `<data-dir>/enr.json` exists but cannot be read (permissions, I/O). */
  ENR_FILE_UNREADABLE = 'DISCOVERY_ENR_FILE_UNREADABLE',
  /** `<data-dir>/enr.json` is not what we write: not JSON, or a bad seq or field. */
  ENR_FILE_CORRUPT = 'DISCOVERY_ENR_FILE_CORRUPT',
  /** `<data-dir>/enr.json` cannot be written. */
  ENR_FILE_UNWRITABLE = 'DISCOVERY_ENR_FILE_UNWRITABLE',
  /** The identity key is not secp256k1 (the only ENR identity scheme, "v4"). */
  UNSUPPORTED_KEY = 'DISCOVERY_UNSUPPORTED_KEY',
  /** A shipped bootnode file is missing, not a YAML list, or holds a record that does not parse. */
  INVALID_BOOTNODE_FILE = 'DISCOVERY_INVALID_BOOTNODE_FILE',
  /** The discv5 UDP socket cannot be bound (port in use, address not on this machine). */
  BIND_FAILED = 'DISCOVERY_BIND_FAILED',
}

export class DiscoveryError extends ContowerError<DiscoveryErrorCode> {
  constructor(
    code: DiscoveryErrorCode,
    message: string,
    /** The file, address or record the error is about. */
    readonly subject: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options)
  }
}

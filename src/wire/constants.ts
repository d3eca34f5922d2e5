/**
 * Wire constants of the ssz_snappy req/resp encoding. Spec: consensus-specs `specs/phase0/p2p-interface.md`
 * ("Configuration", "Req/Resp interaction", "Encoding strategies") and google/snappy `framing_format.txt`.
 */

/** Largest uncompressed payload of any request or response chunk. p2p-interface.md "Configuration" MAX_PAYLOAD_SIZE. */
export const MAX_PAYLOAD_SIZE_BYTES = 10_485_760

/** The length prefix "MUST not exceed 10 bytes". p2p-interface.md "SSZ-snappy encoding strategy". */
export const MAX_VARINT_BYTES = 10

/** ErrorMessage is `List[Byte, 256]`. p2p-interface.md "Req/Resp interaction" / "ErrorMessage". */
export const MAX_ERROR_MESSAGE_BYTES = 256

/** Context bytes are a ForkDigest (Bytes4). p2p-interface.md (altair+) "Req/Resp", "context-bytes". */
export const CONTEXT_BYTES_LENGTH = 4

/** Uncompressed data per snappy chunk is at most 65536 bytes. framing_format.txt 4.2 / 4.3. */
export const SNAPPY_MAX_UNCOMPRESSED_CHUNK_BYTES = 65_536

/**
 * max_compressed_len(65536) = 32 + 65536 + 65536/6: the largest block snappy itself emits for a full chunk. Readers in
 * golang/snappy and rust snap refuse longer compressed chunks too (framing_format.txt 4.2 only caps the output).
 */
export const SNAPPY_MAX_COMPRESSED_BLOCK_BYTES = 76_490

/** Chunk header: 1 type byte + 3-byte little-endian length. framing_format.txt 1. */
export const SNAPPY_CHUNK_HEADER_BYTES = 4

/** Masked CRC32C in front of a data chunk's payload. framing_format.txt 3. */
export const SNAPPY_CHECKSUM_BYTES = 4

/** Snappy's CRC mask constant. framing_format.txt 3. */
export const SNAPPY_CRC_MASK_DELTA = 0xa282ead8

/** Stream identifier chunk `ff 06 00 00 "sNaPpY"`. framing_format.txt 4.1. */
export const SNAPPY_STREAM_IDENTIFIER = Uint8Array.of(0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59)

/** Snappy framing chunk types. framing_format.txt 4. */
export const SnappyChunkType = {
  /** 4.2: masked CRC32C + snappy block. */
  COMPRESSED: 0x00,
  /** 4.3: masked CRC32C + raw data. */
  UNCOMPRESSED: 0x01,
  /** 4.5: first of the reserved unskippable types (0x02-0x7f). */
  RESERVED_UNSKIPPABLE_FIRST: 0x02,
  /** 4.6: first of the reserved skippable types (0x80-0xfd). */
  RESERVED_SKIPPABLE_FIRST: 0x80,
  /** 4.4: padding, skipped. */
  PADDING: 0xfe,
  /** 4.1: stream identifier. */
  STREAM_IDENTIFIER: 0xff,
} as const

/** Result byte of a response chunk. p2p-interface.md "Responding side". */
export enum RespCode {
  /** 0: a normal response follows. */
  Success = 0,
  /** 1: the request was semantically invalid or malformed. */
  InvalidRequest = 1,
  /** 2: the responder failed while processing the request. */
  ServerError = 2,
  /** 3: the responder does not have the requested resource (only where the protocol allows it). */
  ResourceUnavailable = 3,
  /**
   * 139, client specific (Lighthouse, Lodestar, Grandine): the requester is over a limit; ask later. Contower's answer
   * when it is busy: Lighthouse bans a peer that answers its block or column requests ResourceUnavailable (it takes
   * the peer to lack the data), and charges this one as a mid-tolerance error.
   */
  RateLimited = 139,
}

/** Result bytes 4-127 are reserved and "should be treated as error"; 128-255 are client specific. p2p-interface.md. */
export const FIRST_RESERVED_RESULT_CODE = 4
export const FIRST_CLIENT_RESULT_CODE = 128

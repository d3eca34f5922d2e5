export type { ByteSource } from './byteReader.js'
export { ByteReader } from './byteReader.js'
export type { ResponseChunk, ResponseChunkOptions, SszBounds, WireBytes } from './chunks.js'
export {
  encodeErrorChunk,
  encodeRequest,
  encodeResponseChunk,
  encodeSszSnappy,
  readRequest,
  readResponseChunk,
  readResponseChunks,
  readSszSnappy,
} from './chunks.js'
export { CONTEXT_BYTES_LENGTH, MAX_ERROR_MESSAGE_BYTES, MAX_PAYLOAD_SIZE_BYTES, RespCode } from './constants.js'
export { crc32c, maskedCrc32c } from './crc32c.js'
export type { WireErrorDetail } from './errors.js'
export { isWireError, WireError, WireErrorCode } from './errors.js'
export { encodeSnappyFrames, maxCompressedLength, readSnappyFrames } from './snappyFrames.js'
export { decodeVarint, encodeVarint, varintLength } from './varint.js'

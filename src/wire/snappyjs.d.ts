// snappyjs 0.7 ships no typings. Only the block codec's two functions are declared.
declare module 'snappyjs' {
  interface SnappyJs {
    /** Snappy block format; returns a Buffer for Buffer input, a Uint8Array for Uint8Array input. */
    compress(uncompressed: Uint8Array): Uint8Array
    uncompress(compressed: Uint8Array, maxLength?: number): Uint8Array
  }
  const snappy: SnappyJs
  export = snappy
}

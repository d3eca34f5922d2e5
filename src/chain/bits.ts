/** Number of set bits in an SSZ bitfield's bytes. */
export function popcount(bytes: Uint8Array): number {
  let n = 0
  for (let i = 0; i < bytes.length; i++) {
    let b = bytes[i]!
    while (b !== 0) {
      b &= b - 1
      n++
    }
  }
  return n
}

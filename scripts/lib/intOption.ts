/** `--name N` from this script's arguments: an integer from min to max, `fallback` when absent; exits 2 otherwise. */
export function intOption(name: string, fallback: number, min: number, max: number): number {
  const argv = process.argv.slice(2)
  const i = argv.indexOf(`--${name}`)
  if (i < 0) return fallback
  const value = Number(argv[i + 1])
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    console.error(`--${name} must be an integer from ${min} to ${max}: ${argv[i + 1]}`)
    process.exit(2)
  }
  return value
}

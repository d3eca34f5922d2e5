/** `--name N` from this script's arguments: an integer from min to max, `fallback` when absent; exits 2 otherwise. */
export function intOption(name: string, fallback: number, min: number, max: number): number {
  return numericOption(name, fallback, min, max, true)
}

/** `--name N` from this script's arguments: any number from min to max, `fallback` when absent; exits 2 otherwise. */
export function numberOption(name: string, fallback: number, min: number, max: number): number {
  return numericOption(name, fallback, min, max, false)
}

/** `--name a,b` from this script's arguments: a subset of `choices`, all of them when absent; exits 2 otherwise. */
export function listOption<T extends string>(name: string, choices: readonly T[]): T[] {
  const argv = process.argv.slice(2)
  const i = argv.indexOf(`--${name}`)
  if (i < 0) return [...choices]
  const values = (argv[i + 1] ?? '').split(',').filter((v) => v !== '')
  const wrong = values.find((v) => !choices.includes(v as T))
  if (values.length === 0 || wrong !== undefined) {
    console.error(`--${name} must be a comma-separated list of ${choices.join(', ')}: ${argv[i + 1] ?? ''}`)
    process.exit(2)
  }
  return values as T[]
}

function numericOption(name: string, fallback: number, min: number, max: number, integer: boolean): number {
  const argv = process.argv.slice(2)
  const i = argv.indexOf(`--${name}`)
  if (i < 0) return fallback
  const value = Number(argv[i + 1])
  if (!(integer ? Number.isSafeInteger(value) : Number.isFinite(value)) || value < min || value > max) {
    console.error(`--${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}: ${argv[i + 1]}`)
    process.exit(2)
  }
  return value
}

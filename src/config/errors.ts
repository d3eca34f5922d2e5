import { ContowerError } from '../errors.js'
/** Where a configuration value came from; named in every error so the operator knows what to fix. */
export type ValueSource =
  { kind: 'default' } | { kind: 'file'; path: string } | { kind: 'env'; name: string } | { kind: 'flag'; name: string }

export function describeSource(source: ValueSource): string {
  switch (source.kind) {
    case 'default':
      return 'the default'
    case 'file':
      return `config file ${source.path}`
    case 'env':
      return `env ${source.name}`
    case 'flag':
      return `flag --${source.name}`
  }
}

/** Bad configuration: the CLI prints `message` on one line and exits with status 2. */
export class ConfigError extends ContowerError<'CONFIG_INVALID'> {
  constructor(
    message: string,
    readonly key?: string,
  ) {
    super('CONFIG_INVALID', message)
  }

  static invalidValue(key: string, value: unknown, source: ValueSource, expected: string): ConfigError {
    return new ConfigError(
      `invalid value for '${key}' from ${describeSource(source)}: ${JSON.stringify(value)} (expected ${expected})`,
      key,
    )
  }
}

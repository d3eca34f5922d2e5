import type { Options } from 'yargs'
import { type CommandName, envName, type OptionDef, optionsFor } from '../config/options.js'

/**
 * yargs option definitions generated from the option data. No yargs defaults: an option absent from the
 * command line must stay undefined so that the config file and environment can supply it.
 */
export function yargsOptionsFor(command: CommandName): Record<string, Options> {
  return Object.fromEntries(optionsFor(command).map((def) => [def.name, toYargs(def)]))
}

function toYargs(def: OptionDef): Options {
  return {
    type: def.type === 'boolean' ? 'boolean' : 'string',
    // Choices are listed, not enforced here: config/load.ts checks every value, wherever it came from, and says
    // so in one line.
    description: `${def.description}${def.type === 'enum' ? ` (one of ${def.choices?.join(', ')})` : ''}  [env: ${envName(def.name)}]`,
    defaultDescription: def.default === undefined ? undefined : formatDefault(def.default),
    requiresArg: def.type !== 'boolean',
  }
}

export function formatDefault(value: NonNullable<OptionDef['default']>): string {
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : value.join(',')
  return String(value)
}

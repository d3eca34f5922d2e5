import yargs from 'yargs'
import { ChainConfigError, GenesisError } from '../chain/errors.js'
import { ConfigError } from '../config/errors.js'
import type { LoadedConfig } from '../config/load.js'
import { closest } from '../config/closest.js'
import { type CommandName, OPTIONS } from '../config/options.js'
import { DiscoveryError } from '../discovery/errors.js'
import { versionLine } from '../version.js'
import { yargsOptionsFor } from './yargsOptions.js'

/** Exit codes: 0 ok, 1 start-up or runtime failure, 2 bad command line or configuration. */
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

type Runner = (loaded: LoadedConfig) => Promise<number>

// A command's modules load when it runs, not when the command line is parsed: --version and --help need only
// yargs, and `identity` never loads libp2p's stack, gossipsub or the devnet.
const COMMANDS: Record<CommandName, { describe: string; run: Runner }> = {
  start: {
    describe: 'Run the node: join the beacon network and answer beacon peers',
    run: async (loaded) => (await import('./startCommand.js')).runStart(loaded),
  },
  identity: {
    describe: 'Print the node identity (peer id, listen multiaddr, ENR); creates the key if missing',
    run: async (loaded) => (await import('./identityCommand.js')).runIdentity(loaded),
  },
  devnet: {
    describe: 'Run a local beacon network on 127.0.0.1 (serving and syncing peers) relaying through Contower',
    run: async (loaded) => (await import('./devnetCommand.js')).runDevnet(loaded),
  },
}

/** Parses argv, loads the configuration and runs the command; resolves with the process exit code. */
export async function main(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  let chosen: { command: CommandName; flags: Record<string, unknown> } | null = null
  let usageError: string | null = null

  const parser = yargs(argv)
    .scriptName('contower')
    .usage('$0 <command> [options]\n\nA relay for Ethereum’s consensus-layer p2p network.')
    .version(versionLine())
    .parserConfiguration({ 'duplicate-arguments-array': false })
    .strict()
    .demandCommand(1, 'give a command: start, devnet or identity')
    .recommendCommands()
    .wrap(Math.min(120, process.stdout.columns ?? 120))
    .epilogue('Configuration precedence: defaults < --config file < CONTOWER_* environment < flags.')
    .fail((msg, err) => {
      usageError = oneLineUsageError(msg ?? err?.message ?? 'invalid command line', argv)
    })

  for (const [name, command] of Object.entries(COMMANDS)) {
    parser.command(
      name,
      command.describe,
      (y) => y.options(yargsOptionsFor(name as CommandName)),
      (args) => {
        chosen = { command: name as CommandName, flags: args as Record<string, unknown> }
      },
    )
  }

  await parser.parseAsync()
  if (usageError !== null) {
    process.stderr.write(`contower: ${usageError} (see contower --help)\n`)
    return EXIT_USAGE
  }
  if (chosen === null) return 0 // --help or --version was printed
  const { command, flags } = chosen as { command: CommandName; flags: Record<string, unknown> }

  // Process-wide setup (hasher, polyfill) before anything loads libp2p or SSZ; --version and --help skip it.
  await import('../setup.js')
  let loaded: LoadedConfig
  try {
    loaded = (await import('../config/load.js')).loadConfig({ command, flags, env })
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`contower: ${e.message}\n`)
      return EXIT_USAGE
    }
    throw e
  }
  try {
    return await COMMANDS[command]!.run(loaded)
  } catch (e) {
    if (e instanceof ChainConfigError || e instanceof GenesisError || e instanceof ConfigError) {
      process.stderr.write(`contower: ${e.message}\n`)
      return EXIT_USAGE
    }
    // The command's modules are loaded by now: importing them here costs nothing.
    const { IdentityError } = await import('../identity/identity.js')
    const { BeaconApiError } = await import('../chain/beaconApi.js')
    if (e instanceof IdentityError || e instanceof BeaconApiError || e instanceof DiscoveryError) {
      process.stderr.write(`contower: ${e.message}\n`)
      return EXIT_FAILURE
    }
    throw e
  }
}

/**
 * yargs' messages in our one-line form. Value checks (choices, numbers) are ours (config/load.ts), so what reaches
 * yargs' failure handler is about the command line's shape: unknown arguments, missing values or command.
 */
export function oneLineUsageError(message: string, argv: readonly string[]): string {
  const unknown = /^Unknown arguments?: (.+)$/m.exec(message)
  if (!unknown) return message.replace(/\s*\n\s*/g, '; ')
  // yargs names an unknown --foo-bar twice (foo-bar, fooBar) and without its no- prefix: report argv's own words.
  const flags = argv.filter((a) => a.startsWith('-')).map((a) => a.replace(/^-+/, '').split('=')[0]!)
  const reported = unknown[1]!.split(', ').map((n) => n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`))
  const problems = new Set<string>()
  for (const name of reported) {
    const flag = flags.find((f) => f === name || f === `no-${name}`)
    if (flag !== undefined) {
      const near = closest(
        flag.replace(/^no-/, ''),
        OPTIONS.map((d) => d.name),
      )
      problems.add(`unknown option --${flag}${near ? ` (did you mean --${near}?)` : ''}`)
    } else {
      const near = closest(name, Object.keys(COMMANDS))
      problems.add(`unknown command '${name}'${near ? ` (did you mean ${near}?)` : ''}`)
    }
  }
  return [...problems].join('; ')
}

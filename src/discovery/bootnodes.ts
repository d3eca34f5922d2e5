import { readFileSync } from 'node:fs'
import { ENR } from '@chainsafe/enr'
import { parse as parseYaml } from 'yaml'
import { NETWORK_PRESET_NAMES, type NetworkPresetName, networkConfigDir } from '../chain/networks.js'
import { ConfigError } from '../config/errors.js'
import { DiscoveryError, DiscoveryErrorCode } from './errors.js'

/** `config/networks/{name}.bootnodes.yaml`: a YAML list of ENRs, copied from the eth-clients repositories. */
export function bootnodesFile(name: NetworkPresetName, dir = networkConfigDir()): string {
  return `${dir}${name}.bootnodes.yaml`
}

/** Why `text` is not a usable ENR, or null when it parses and its signature verifies. */
export function enrProblem(text: string): string | null {
  try {
    ENR.decodeTxt(text)
    return null
  } catch (e) {
    return (e as Error).message
  }
}

/** A shipped network's bootnode ENRs, each checked to parse. */
export function loadBootnodes(name: NetworkPresetName, dir = networkConfigDir()): string[] {
  const file = bootnodesFile(name, dir)
  const fail = (why: string) =>
    new DiscoveryError(DiscoveryErrorCode.INVALID_BOOTNODE_FILE, `bootnode file ${file}: ${why}`, file)
  let parsed: unknown
  try {
    parsed = parseYaml(readFileSync(file, 'utf8'))
  } catch (e) {
    throw fail((e as Error).message.split('\n')[0]!)
  }
  if (!Array.isArray(parsed)) throw fail('expected a YAML list of ENRs')
  parsed.forEach((item, i) => {
    const problem = typeof item === 'string' ? enrProblem(item) : 'not a string'
    if (problem !== null) throw fail(`entry ${i + 1} is not a valid ENR: ${problem}`)
  })
  return parsed as string[]
}

/**
 * The ENRs discovery starts from: `--bootnodes` when given (replacing the network's list), else the shipped
 * list of a named network, else none (a custom network without --bootnodes only finds peers that find it).
 */
export function resolveBootnodes(config: { network: string; bootnodes?: readonly string[] }): string[] {
  if (config.bootnodes !== undefined) {
    for (const enr of config.bootnodes) {
      const problem = enrProblem(enr)
      if (problem !== null) {
        throw new ConfigError(
          `invalid value for 'bootnodes': ${JSON.stringify(enr)} is not a valid ENR (${problem})`,
          'bootnodes',
        )
      }
    }
    return [...config.bootnodes]
  }
  const preset = NETWORK_PRESET_NAMES.find((n) => n === config.network)
  return preset ? loadBootnodes(preset) : []
}

import type { ForkName } from '@lodestar/params'
import { ssz } from '@lodestar/types'
import type { ForkSchedule } from '../chain/forkSchedule.js'
import {
  bootstrapFault,
  type LightClientBootstrapLike,
  type LightClientUpdateLike,
  updateFault,
} from '../chain/lightClientProofs.js'
import type { ProtocolDef } from '../reqresp/protocols.js'
import { ItemFormatError } from './items.js'

/** What the relay checks a light-client chunk by, read from its whole SSZ. */
export interface LightClientItem {
  /** The slot that picks the chunk's context bytes: the bootstrap's header, an update's attested header. */
  contextSlot: number
  /** Bootstraps: hash_tree_root(header.beacon), the block root the request named. */
  headerRoot: Uint8Array | null
  /** Why the item is unsound (its branches, slots or participants), or null. */
  fault: string | null
}

/** Decodes a light-client chunk of `def` under `fork`; a payload that does not decode is an ItemFormatError. */
export function lightClientItem(
  schedule: ForkSchedule,
  def: ProtocolDef,
  fork: ForkName,
  bytes: Uint8Array,
): LightClientItem {
  const type = def.response(fork)
  if (!type) throw new ItemFormatError(`no ${def.name} item at ${fork}`)
  let value: unknown
  try {
    value = type.deserialize(bytes)
  } catch (e) {
    throw new ItemFormatError(`${def.name} item does not decode: ${(e as Error).message}`)
  }
  if (def.name === 'light_client_bootstrap') {
    const bootstrap = value as LightClientBootstrapLike
    return {
      contextSlot: bootstrap.header.beacon.slot,
      headerRoot: ssz.phase0.BeaconBlockHeader.hashTreeRoot(bootstrap.header.beacon),
      fault: bootstrapFault(schedule, bootstrap),
    }
  }
  const update = value as LightClientUpdateLike
  return { contextSlot: update.attestedHeader.beacon.slot, headerRoot: null, fault: updateFault(schedule, update) }
}

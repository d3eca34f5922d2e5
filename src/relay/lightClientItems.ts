import type { ForkName } from '@lodestar/params'
import { ssz, sszTypesFor } from '@lodestar/types'
import type { ForkSchedule } from '../chain/forkSchedule.js'
import {
  bootstrapFault,
  type LightClientBootstrapLike,
  type LightClientUpdateLike,
  updateFault,
} from '../chain/lightClientProofs.js'
import type { ProtocolName } from '../reqresp/protocols.js'
import { ItemFormatError } from './items.js'

/** altair light-client p2p-interface.md: the type each protocol's chunks carry, by the fork of their context bytes. */
const TYPE_KEYS: Partial<Record<ProtocolName, string>> = {
  light_client_bootstrap: 'LightClientBootstrap',
  light_client_updates_by_range: 'LightClientUpdate',
  light_client_finality_update: 'LightClientFinalityUpdate',
  light_client_optimistic_update: 'LightClientOptimisticUpdate',
}

/** What the relay checks a light-client chunk by, read from its whole SSZ. */
export interface LightClientItem {
  /** The slot that picks the chunk's context bytes: the bootstrap's header, an update's attested header. */
  contextSlot: number
  /** Bootstraps: hash_tree_root(header.beacon), the block root the request named. */
  headerRoot: Uint8Array | null
  /** Why the item is unsound (its branches, slots or participants), or null. */
  fault: string | null
}

/** Decodes a light-client chunk of `protocol` under `fork`; a payload that does not decode is an ItemFormatError. */
export function lightClientItem(
  schedule: ForkSchedule,
  protocol: ProtocolName,
  fork: ForkName,
  bytes: Uint8Array,
): LightClientItem {
  const type = (sszTypesFor(fork) as unknown as Record<string, { deserialize(b: Uint8Array): unknown }>)[
    TYPE_KEYS[protocol]!
  ]
  if (!type) throw new ItemFormatError(`no ${TYPE_KEYS[protocol]} at ${fork}`)
  let value: unknown
  try {
    value = type.deserialize(bytes)
  } catch (e) {
    throw new ItemFormatError(`${TYPE_KEYS[protocol]} does not decode: ${(e as Error).message}`)
  }
  if (protocol === 'light_client_bootstrap') {
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

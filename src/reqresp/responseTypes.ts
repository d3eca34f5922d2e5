import type { ForkName } from '@lodestar/params'
import type { Clock } from '../chain/clock.js'
import type { ForkSchedule } from '../chain/forkSchedule.js'
import { WireError, WireErrorCode } from '../wire/errors.js'
import { type ProtocolDef, type SszType, sszBounds } from './protocols.js'

/**
 * Chooses the SSZ type of a response chunk: by the fork its context bytes name, or by the wall-clock fork for
 * protocols without context bytes. Unknown context bytes are a typed wire error (the response is invalid).
 */
export class ResponseTypes {
  constructor(private readonly modules: { forkSchedule: ForkSchedule; clock: Clock }) {}

  typeFor(def: ProtocolDef, contextBytes: Uint8Array | null): SszType {
    if (contextBytes === null) return def.response(this.currentFork())
    const boundary = this.modules.forkSchedule.forkForDigest(contextBytes)
    if (!boundary) {
      throw new WireError(WireErrorCode.UNKNOWN_CONTEXT_BYTES, {
        contextBytes: Buffer.from(contextBytes).toString('hex'),
      })
    }
    const type = def.response(boundary.fork.name as ForkName)
    // A digest of a fork before the protocol's items existed (a payload envelope before Gloas): no such item.
    if (!type) {
      throw new WireError(WireErrorCode.UNKNOWN_CONTEXT_BYTES, {
        contextBytes: Buffer.from(contextBytes).toString('hex'),
        fork: boundary.fork.name,
      })
    }
    return type
  }

  boundsFor(def: ProtocolDef): (contextBytes: Uint8Array | null) => { minSize: number; maxSize: number } {
    return (contextBytes) => sszBounds(this.typeFor(def, contextBytes))
  }

  currentFork(): ForkName {
    return this.modules.forkSchedule.forkAtEpoch(this.modules.clock.currentEpoch).name as ForkName
  }

  currentDigest(): Uint8Array {
    return this.modules.forkSchedule.digestAtEpoch(this.modules.clock.currentEpoch)
  }
}

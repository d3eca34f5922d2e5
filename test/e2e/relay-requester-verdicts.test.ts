// Requesters judge Contower's answers by their own clients' rules. Lighthouse bans a peer at once (PeerAction::Fatal)
// when it answers one of Lighthouse's own block or column requests ResourceUnavailable, taking the peer to lack the
// data (lighthouse_network peer_manager handle_rpc_error); RateLimited (139) and ServerError cost it a
// mid-tolerance error (-5). So Contower, busy or over a requester's limit, must say so with 139, never with
// ResourceUnavailable. The requester here is a plain libp2p host with Lighthouse's agent string, its range-sync
// pattern (batches of 32 blocks, two in flight, up to six queued) and its verdict table written out in the test.
import type { Libp2p } from '@libp2p/interface'
import { describe, expect, it } from 'vitest'
import { Clock } from '../../src/chain/clock.js'
import { ForkSchedule } from '../../src/chain/forkSchedule.js'
import { RequestErrorCode } from '../../src/reqresp/errors.js'
import { ReqRespClient } from '../../src/reqresp/client.js'
import { getProtocol } from '../../src/reqresp/protocols.js'
import { ResponseTypes } from '../../src/reqresp/responseTypes.js'
import { RespCode } from '../../src/wire/constants.js'
import { relevantStatus, serveBeaconProtocols } from '../helpers/beaconPeer.js'
import { rangeRequest, startPeer, startRelay, stopAfterEach, testChain, waitHandshaken } from '../helpers/devnet.js'
import { createTestPeer } from '../helpers/peers.js'

const BY_RANGE = getProtocol('beacon_blocks_by_range', 2)
const track = stopAfterEach()
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

/** What Lighthouse does to a peer for the answer to a blocks-by-range request it sent (Fatal: a ban). */
type Verdict = 'none' | 'mid' | 'low' | 'fatal'
function lighthouseVerdict(error: { code: string; detail: { respCode?: number } } | null): Verdict {
  if (error === null) return 'none'
  if (error.code !== RequestErrorCode.ERROR_RESPONSE) return 'mid' // timeouts on blocks by range
  switch (error.detail.respCode) {
    case RespCode.ResourceUnavailable:
      return 'fatal'
    case RespCode.InvalidRequest:
      return 'low'
    default:
      return 'mid' // ServerError, RateLimited (139) on blocks by range
  }
}

describe('relay: answers as a Lighthouse requester judges them', () => {
  it('a Lighthouse range sync faster than Contower can serve meets data or 139, never the ResourceUnavailable it bans for', async () => {
    const { network, chain } = testChain(220, 2_000)
    const schedule = new ForkSchedule(network.config, network.genesisValidatorsRoot)
    const upstream = await track(startPeer(network, chain)) // enforces Lodestar's 128 blocks per 10 s
    const node = await track(startRelay(network, [upstream]))
    await waitHandshaken(node, [upstream])

    const lighthouse = (await track(
      createTestPeer({ agentVersion: 'Lighthouse/v8.0.1-ced49dd/x86_64-linux' }),
    )) as Libp2p
    await lighthouse.start()
    await serveBeaconProtocols(lighthouse, () => relevantStatus(node))
    await lighthouse.dial(node.listenAddresses[0]!) // Lighthouse's outgoing connection: the ban rule applies
    const clock = Clock.fromChainConfig(network.config, network.genesisTime)
    const client = new ReqRespClient(
      { host: lighthouse, responseTypes: new ResponseTypes({ forkSchedule: schedule, clock }), metrics: null },
      {},
    )
    // As the dialler, Lighthouse sends its Status first.
    const STATUS = getProtocol('status', 2)
    for await (const _ of client.request(node.libp2p.peerId, STATUS, STATUS.request!.serialize(relevantStatus(node)), {
      maxChunks: 1,
    })) {
      // Contower's Status: nothing to check here
    }
    await waitHandshaken(node, [lighthouse], 15_000)

    // Six batches of 32 slots (192 blocks, over the 128 per 10 s Contower takes from one requester and its upstream
    // gives), two in flight; a failed batch is asked again after a second, up to three times.
    const verdicts: Verdict[] = []
    let served = 0
    const batches = [1, 33, 65, 97, 129, 161]
    const lanes = [0, 1].map(async (lane) => {
      for (let b = lane; b < batches.length; b += 2) {
        for (let attempt = 0; attempt < 3; attempt++) {
          const chunks: Uint8Array[] = []
          let error = null
          try {
            for await (const chunk of client.request(node.libp2p.peerId, BY_RANGE, rangeRequest(batches[b]!, 32), {
              maxChunks: 32,
            })) {
              chunks.push(chunk.ssz!)
            }
          } catch (e) {
            error = e as { code: string; detail: { respCode?: number } }
          }
          verdicts.push(lighthouseVerdict(error))
          if (error === null) {
            expect(chunks.map(hex)).toEqual(chain.blocksInRange(batches[b]!, 32, 220).map((x) => hex(x.ssz)))
            served++
            break
          }
          await new Promise((resolve) => setTimeout(resolve, 1_000))
        }
      }
    })
    await Promise.all(lanes)

    expect(verdicts).not.toContain('fatal') // Lighthouse would have banned Contower
    expect(verdicts.filter((v) => v === 'mid').length).toBeGreaterThan(0) // it was asked faster than it serves
    expect(served).toBeGreaterThanOrEqual(4)
    expect(lighthouse.getConnections(node.libp2p.peerId).length).toBeGreaterThan(0)
  })
})

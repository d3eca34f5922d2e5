import { afterEach, describe, expect, it } from 'vitest'
import { DEVNET_DEFAULTS, Devnet } from '../../src/devnet/devnet.js'
import { CliProcess } from '../helpers/cli.js'
import { logger } from '../helpers/devnet.js'
import { startTestNode } from '../helpers/node.js'

const cleanup: Array<{ stop(): unknown } | { kill(): unknown }> = []
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((c) => ('stop' in c ? c.stop() : c.kill())))
})

/** Sum of a counter's samples whose labels match. */
async function counter(devnet: Devnet, name: string, labels: Record<string, string>): Promise<number> {
  const metric = devnet.node.registry!.getSingleMetric(name)!
  const values = (await metric.get()).values
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
    .reduce((n, v) => n + v.value, 0)
}

describe('devnet', () => {
  it('syncing peers with no link to a serving peer reach the chain head through Contower, and /metrics agrees', async () => {
    const devnet = new Devnet(
      {
        logger,
        startRelay: (network, bootnode, overrides) =>
          startTestNode({ discovery: 'true', 'discovery-port': '0', bootnodes: bootnode }, network, overrides),
      },
      {
        ...DEVNET_DEFAULTS,
        servingPeers: 2,
        syncingPeers: 2,
        slotSeconds: 1,
        historySlots: 40,
        blockBytes: 20_000,
        custodyGroupCounts: [4, 128],
      },
    )
    cleanup.push(devnet)
    await devnet.start()
    const contower = devnet.node.libp2p.peerId.toString()

    for (const peer of devnet.syncing) {
      await expect
        .poll(() => peer.progress.headSlot, { timeout: 20_000 })
        .toBeGreaterThanOrEqual(devnet.currentSlot - 2)
      // Contower is its only connection, so every block it holds came through Contower.
      expect(peer.libp2p.getPeers().map(String)).toEqual([contower])
      // No skipped slots on this chain: one block per slot since genesis, each linked to its parent, by range
      // request or by gossip.
      expect(peer.progress.blocksReceived + peer.progress.gossipBlocks).toBe(peer.progress.headSlot)
      expect(peer.progress.invalidBlocks).toBe(0)
    }

    // What Contower says it sent equals what the syncing peers received (polled: requests are in flight).
    const received = () => devnet.syncing.reduce((n, p) => n + p.progress.blocksReceived, 0)
    const sent = () => counter(devnet, 'contower_relay_response_chunks_total', { protocol: 'beacon_blocks_by_range/2' })
    await expect.poll(async () => (await sent()) === received(), { timeout: 10_000 }).toBe(true)
    // What Contower forwarded from upstreams the serving peers served; the rest came from its cache. They served a
    // little more: the block after each range (asked with it), which proves the range's last block and is read, not
    // forwarded.
    const served = () => devnet.serving.reduce((n, p) => n + p.servedCount('beacon_blocks_by_range').chunks, 0)
    const fetched = () =>
      counter(devnet, 'contower_relay_response_chunks_total', {
        protocol: 'beacon_blocks_by_range/2',
        source: 'upstream',
      })
    await expect
      .poll(async () => (await fetched()) > 0 && (await fetched()) <= served(), { timeout: 10_000 })
      .toBe(true)
    expect(devnet.serving.every((p) => p.stats.quotaExceeded === 0)).toBe(true)

    // Each syncing peer fetched its custody columns through Contower; with a supernode serving, all of them.
    await expect.poll(() => devnet.syncing.every((p) => p.progress.columnsReceived > 0), { timeout: 15_000 }).toBe(true)
    const complete = async () => {
      const s = await devnet.summary()
      return s.columnsDelivered === s.columnsRequested
    }
    await expect.poll(complete, { timeout: 10_000 }).toBe(true)
    // Serving peers were asked only for columns they custody.
    for (const p of devnet.serving) for (const c of p.stats.columnsAsked) expect(p.custody.has(c)).toBe(true)

    // New blocks are gossiped by the serving peers; Contower validates and forwards them to the syncing peers.
    await expect.poll(() => devnet.syncing.every((p) => p.progress.gossipBlocks > 0), { timeout: 15_000 }).toBe(true)
    expect(await counter(devnet, 'contower_gossip_forwarded_total', { kind: 'beacon_block' })).toBeGreaterThan(0)
    // Contower's own Status head follows the gossiped blocks, not only the peers' 5-minutely Statuses.
    const handshakeHead = Math.max(...devnet.serving.map((p) => devnet.node.peerStore.get(p.peerId)!.status!.headSlot))
    await expect.poll(() => devnet.node.chainView.status().headSlot, { timeout: 10_000 }).toBeGreaterThan(handshakeHead)
    expect(devnet.node.chainView.status().headSlot).toBeGreaterThanOrEqual(devnet.currentSlot - 2)
  })

  it('`contower devnet` prints a summary showing the syncing peers at the head, and stops by itself', async () => {
    const cli = new CliProcess([
      'devnet',
      ...['--duration', '9', '--port', '0', '--metrics-port', '0', '--log-format', 'json'],
      ...['--slot-seconds', '1', '--history-slots', '24', '--block-bytes', '10000', '--syncing-peers', '1'],
    ])
    cleanup.push(cli)
    const { code } = await cli.exited
    expect(code, cli.stderr).toBe(0)
    const summaries = cli.stdout.split('\n').filter((l) => l.startsWith('slot '))
    expect(summaries.length).toBeGreaterThanOrEqual(1)
    const last = summaries.at(-1)!
    const slot = Number(/^slot (\d+)/.exec(last)![1])
    const head = Number(/syncing heads \[(\d+)\]/.exec(last)![1])
    expect(head).toBeGreaterThanOrEqual(slot - 2)
    expect(last).toMatch(/relayed blocks_by_range\/2 [1-9]/)
    // The devnet's start may wait up to 30 s for its peers' handshakes on a loaded machine (11 s when quiet, once 30+
    // in a full CI run); --duration then bounds the rest.
  }, 90_000)
})

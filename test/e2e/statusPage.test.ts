import { type BrowserContext, chromium } from 'playwright-core'
import { afterEach, describe, expect, it } from 'vitest'
import { getProtocol } from '../../src/reqresp/protocols.js'
import { rangeRequest, startPeer, startRelay, stopAfterEach, testChain, waitHandshaken } from '../helpers/devnet.js'
import { tempDir } from '../helpers/tmp.js'
import { findTool, skipWithout } from '../helpers/tools.js'

const CHROMIUM = findTool('chromium', ['/usr/bin/chromium'])
/** A browser that talks to nothing but the page under test, and keeps no state between runs. */
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
const BY_RANGE = getProtocol('beacon_blocks_by_range', 2)
const track = stopAfterEach()
let browser: BrowserContext | null = null
afterEach(async () => {
  await browser?.close()
  browser = null
})

describe('status page', () => {
  it.skipIf(skipWithout('chromium', CHROMIUM))(
    'shows the status live in a real browser: the slot and the relayed requests move, peers by client and upstreams are listed',
    async () => {
      const { network, chain } = testChain(40, 2_000)
      const upstreams = [await track(startPeer(network, chain)), await track(startPeer(network, chain))]
      const node = await track(startRelay(network, upstreams))
      await waitHandshaken(node, upstreams)
      const requester = await track(startPeer(network, chain, { serveBlocks: false }))
      await requester.libp2p.dial(node.listenAddresses[0]!)

      // launchPersistentContext: Playwright refuses --user-data-dir in args, and takes a fresh one here instead.
      browser = await chromium.launchPersistentContext(tempDir('contower-chromium-'), {
        executablePath: CHROMIUM ?? '/usr/bin/chromium',
        headless: true,
        args: CHROMIUM_FLAGS,
        timeout: 60_000,
      })
      const page = await browser.newPage()
      const field = (name: string) => page.locator(`[data-field="${name}"]`)
      await page.goto(`http://127.0.0.1:${node.metricsAddress!.port}/`, { timeout: 30_000 })
      await expect.poll(() => field('slot').textContent(), { timeout: 30_000 }).toMatch(/^\d+$/)
      const firstSlot = Number(await field('slot').textContent())
      expect(await field('requestsPerSec').textContent()).toBe('0')
      expect(await field('network').textContent()).toBe(network.name)

      for (let start = 0; start < 12; start += 4) {
        expect(await requester.fetch(node.libp2p.peerId, BY_RANGE, rangeRequest(start, 4), 4)).toHaveLength(4)
      }
      // The page polls every 2 s; slots are 2 s long on this chain.
      await expect
        .poll(async () => Number(await field('requestsPerSec').textContent()), { timeout: 30_000 })
        .toBeGreaterThan(0)
      await expect
        .poll(async () => Number(await field('slot').textContent()), { timeout: 30_000 })
        .toBeGreaterThan(firstSlot)
      expect(await field('peers').textContent()).toBe('3 / 50')
      // The upstreams are handshaken; the requester (it serves nothing) may or may not be by now.
      expect(await field('peersDetail').textContent()).toMatch(/^1 in, 2 out, [23] handshaken$/)

      const upstreamRows = await page.locator('#upstreams tr').allTextContents()
      expect(upstreamRows).toHaveLength(3)
      const ids = [...upstreams, requester].map((p) => p.peerId.toString())
      for (const row of upstreamRows) expect(ids.some((id) => row.startsWith(id))).toBe(true)
      const clients = await page.locator('#clients tr').allTextContents()
      expect(clients.reduce((n, row) => n + Number(/\d+$/.exec(row)?.[0]), 0)).toBe(3)
      expect(await field('warning').isHidden()).toBe(true)
    },
    120_000,
  )
})

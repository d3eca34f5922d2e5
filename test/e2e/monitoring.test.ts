import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { getProtocol } from '../../src/reqresp/protocols.js'
import { rangeRequest, startPeer, startRelay, stopAfterEach, testChain, waitHandshaken } from '../helpers/devnet.js'
import { findTool, skipWithout } from '../helpers/tools.js'

const ROOT = new URL('../../', import.meta.url)
const read = (path: string) => readFileSync(new URL(path, ROOT), 'utf8')
const track = stopAfterEach()

/** Names Prometheus makes up itself: not in any /metrics. */
const SYNTHETIC = new Set(['up'])

/**
 * The metric names a PromQL expression reads: identifiers once label matchers, strings, `by (…)` clauses, range
 * selectors and function calls are taken out.
 */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
  const names = new Set<string>()
  for (const m of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0]
    const isCall = bare
      .slice(m.index! + word.length)
      .trimStart()
      .startsWith('(')
    const isKeyword = /^(and|or|unless|bool|offset|inf|nan)$/i.test(word)
    if (
      !isCall &&
      !isKeyword &&
      !/^\d/.test(word) &&
      (word.includes('_') || word.includes(':')) &&
      !SYNTHETIC.has(word)
    ) {
      names.add(word)
    }
  }
  return [...names]
}

function dashboardExprs(): string[] {
  const dashboard = JSON.parse(read('dashboards/contower.json')) as {
    panels: Array<{ targets?: Array<{ expr: string }> }>
    templating: { list: Array<{ query?: unknown }> }
  }
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr))
  for (const v of dashboard.templating.list) {
    const q = typeof v.query === 'string' ? /^label_values\((\w+),/.exec(v.query) : null
    if (q) exprs.push(q[1]!)
  }
  return exprs
}

function alertExprs(): string[] {
  const rules = parseYaml(read('monitoring/alerts.yml')) as { groups: Array<{ rules: Array<{ expr: string }> }> }
  return rules.groups.flatMap((g) => g.rules.map((r) => r.expr))
}

/** Metric families in a /metrics text: histogram and summary series count under their family's name too. */
function families(text: string): Set<string> {
  const out = new Set<string>()
  for (const m of text.matchAll(/^# TYPE (\S+) (\w+)$/gm)) {
    out.add(m[1]!)
    if (m[2] === 'histogram' || m[2] === 'summary') {
      for (const suffix of ['_bucket', '_sum', '_count']) out.add(m[1]! + suffix)
    }
  }
  return out
}

describe('metricNames', () => {
  it('finds the metrics of an expression and nothing else', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le, protocol) (rate(contower_relay_upstream_seconds_bucket{job=~"$job", result!~"a|b"}[5m]))) / on(instance) libp2p_peers > 0.2 and up == 0',
      ).sort(),
    ).toEqual(['contower_relay_upstream_seconds_bucket', 'libp2p_peers'])
  })
})

describe('monitoring as code', () => {
  it('every metric the dashboard and the alert rules name is in /metrics of a node that relayed a request', async () => {
    const { network, chain } = testChain(40, 2_000)
    const upstream = await track(startPeer(network, chain))
    const node = await track(startRelay(network, [upstream]))
    await waitHandshaken(node, [upstream])
    const requester = await track(startPeer(network, chain, { serveBlocks: false }))
    await requester.libp2p.dial(node.listenAddresses[0]!)
    const chunks = await requester.fetch(
      node.libp2p.peerId,
      getProtocol('beacon_blocks_by_range', 2),
      rangeRequest(5, 4),
      4,
    )
    expect(chunks).toHaveLength(4)

    const { port } = node.metricsAddress!
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    const present = families(text)
    const named = new Set([...dashboardExprs(), ...alertExprs()].flatMap(metricNames))
    expect(named.size).toBeGreaterThan(40)
    expect([...named].filter((n) => !present.has(n))).toEqual([])
    // The relay counted the request, and gossipsub's own metrics are exported.
    expect(text).toMatch(/^contower_relay_requests_total\{protocol="beacon_blocks_by_range\/2",result="success"\} 1$/m)
    expect(text).toMatch(
      /^gossipsub_topic_subscription_status\{topicStr="\/eth2\/[0-9a-f]{8}\/beacon_block\/ssz_snappy"\} 1$/m,
    )
    expect(text).toMatch(/^beacon_clock_slot \d+$/m)
  })

  const promtool = findTool('promtool')
  it.skipIf(skipWithout('promtool', promtool))('promtool accepts the alert rules and the scrape config', () => {
    for (const args of [
      ['check', 'rules', 'monitoring/alerts.yml'],
      ['check', 'config', 'monitoring/prometheus.yml'],
    ]) {
      const out = execFileSync(promtool ?? 'promtool', args, { cwd: new URL('.', ROOT), encoding: 'utf8' })
      expect(out).toContain('SUCCESS')
    }
  })
})

/**
 * The status page served at / on the metrics port: the status line's facts, live (polled from /status.json),
 * plus peers by client and the upstreams' scores. One static document, no framework, no external resources.
 */
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Contower status</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2330; background: #f7f8fa; }
  h1 { font-size: 1.3rem; margin: 0 0 .2rem; } h2 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: .6rem; }
  .card { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; padding: .6rem .8rem; }
  .card b { display: block; font-size: 1.4rem; font-variant-numeric: tabular-nums; }
  .muted { color: #667085; } .warn { background: #fff4e5; border-color: #f0b35a; padding: .6rem .8rem; }
  table { border-collapse: collapse; background: #fff; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { border-bottom: 1px solid #eceef2; padding: .25rem .5rem; text-align: left; }
  [hidden] { display: none; }
</style>
</head>
<body>
<h1>Contower <span class="muted" data-field="version"></span></h1>
<div class="muted"><span data-field="network"></span> · up <span data-field="uptime"></span> · updated <span data-field="updated">never</span></div>
<p class="card warn" data-field="warning" hidden></p>
<div class="grid" style="margin-top:1rem">
  <div class="card">slot<b data-field="slot">–</b><span class="muted">head <span data-field="headSlot">–</span></span></div>
  <div class="card">peers<b data-field="peers">–</b><span class="muted" data-field="peersDetail"></span></div>
  <div class="card">relayed req/s<b data-field="requestsPerSec">–</b><span class="muted"><span data-field="errorsPerSec">–</span> errors/s</span></div>
  <div class="card">cache hit ratio<b data-field="cacheHitRatio">–</b></div>
  <div class="card">gossip accepted/s<b data-field="acceptedPerSec">–</b><span class="muted"><span data-field="rejectedPerSec">–</span> rejected/s</span></div>
  <div class="card">mesh coverage<b data-field="mesh">–</b><span class="muted">topics with a mesh peer</span></div>
  <div class="card">custody<b data-field="custodyGroups">–</b><span class="muted" data-field="subnets"></span></div>
</div>
<h2>Peers by client</h2>
<table><thead><tr><th>client</th><th>peers</th></tr></thead><tbody id="clients"></tbody></table>
<h2>Upstreams</h2>
<table><thead><tr><th>peer</th><th>client</th><th>direction</th><th>transport</th><th>handshaken</th><th>score</th><th>ping ms</th><th>head slot</th></tr></thead>
<tbody id="upstreams"></tbody></table>
<script>
const $ = (name) => document.querySelector('[data-field="' + name + '"]')
const set = (name, value) => { $(name).textContent = String(value) }
const pct = (r) => (r === null ? '–' : Math.round(r * 100) + '%')
function rows(id, items, cells) {
  const body = document.getElementById(id)
  body.replaceChildren(...items.map((item) => {
    const tr = document.createElement('tr')
    for (const c of cells(item)) { const td = document.createElement('td'); td.textContent = c ?? '–'; tr.append(td) }
    return tr
  }))
}
async function refresh() {
  try {
    const s = await (await fetch('status.json', { cache: 'no-store' })).json()
    set('version', s.version); set('network', s.network); set('uptime', s.uptimeSeconds + ' s')
    set('slot', s.slot); set('headSlot', s.headSlot)
    set('peers', s.peers.connected + ' / ' + s.peers.target)
    set('peersDetail', s.peers.inbound + ' in, ' + s.peers.outbound + ' out, ' + s.peers.handshaken + ' handshaken')
    set('requestsPerSec', s.relay ? s.relay.requestsPerSec : 'off'); set('errorsPerSec', s.relay ? s.relay.errorsPerSec : '–')
    set('cacheHitRatio', s.relay ? pct(s.relay.cacheHitRatio) : 'off')
    set('acceptedPerSec', s.gossip ? s.gossip.acceptedPerSec : 'off'); set('rejectedPerSec', s.gossip ? s.gossip.rejectedPerSec : '–')
    set('mesh', s.mesh.covered + ' / ' + s.mesh.topics)
    set('custodyGroups', s.custody.groups + ' groups'); set('subnets', s.custody.attnets + ' attnets, ' + s.custody.syncnets + ' syncnets')
    $('warning').hidden = !s.warning; set('warning', s.warning ?? '')
    rows('clients', Object.entries(s.peersByClient), ([client, n]) => [client, n])
    rows('upstreams', s.upstreams, (p) => [p.peer, p.client, p.direction, p.transport, p.handshaken ? 'yes' : 'no', p.score, p.pingMs, p.headSlot])
    set('updated', new Date().toLocaleTimeString())
  } catch (e) {
    set('updated', 'failed: ' + e.message)
  }
}
refresh()
setInterval(refresh, 2000)
</script>
</body>
</html>
`

#!/usr/bin/env bash
# Lodestar 1.5.1 interop trial across Bellatrix and Capella (issue 14), all on 127.0.0.1.
#
#   scripts/lodestar-trial.sh install        install Lodestar 1.5.1 outside the repo (once; compiles native code)
#   scripts/lodestar-trial.sh run [MINUTES]  node A (validators), Contower, node B (only peer Contower);
#                                            LATE_START_SECONDS=N starts Contower N s after genesis (B catches up);
#                                            prints heads of A and B every 10 s, writes them to $OUT/heads.tsv
#
# Not part of `npm test`. Installs as /work/shared/interop/README.md describes: yarn 1.22 through npx, the pruned
# release lockfile with the registry substituted, native modules built against the system Node headers.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INTEROP="${CONTOWER_INTEROP_DATA:-/work/shared/interop}"
PREFIX="${CONTOWER_INTEROP_DIR:-$HOME/.cache/contower-interop}"
LODESTAR_DIR="$PREFIX/lodestar-1.5.1"
LODESTAR="$LODESTAR_DIR/node_modules/.bin/lodestar"
OUT="${OUT:-$PREFIX/trial-$(date -u +%Y%m%dT%H%M%SZ)}"

install_lodestar() {
  mkdir -p "$LODESTAR_DIR"
  cd "$LODESTAR_DIR"
  local registry
  registry="$(npm config get registry)"
  registry="${registry%/}"
  cat >package.json <<JSON
{ "name": "contower-interop-lodestar", "private": true, "dependencies": { "@chainsafe/lodestar": "1.5.1" },
  "resolutions": { "nan": "2.30.0" } }
JSON
  sed "s#@REGISTRY@#${registry}#g" "$INTEROP/lodestar-1.5.1.yarn.lock" >yarn.lock
  # node-gyp builds blst, snappy and gc-stats against the system headers instead of downloading them.
  npm_config_nodedir=/usr npx --yes yarn@1.22.22 install --frozen-lockfile --non-interactive --network-timeout 600000
  "$LODESTAR" --version
}


# Ports, all on 127.0.0.1 (override when taken).
A_P2P="${A_P2P:-19600}" A_REST="${A_REST:-19596}" B_P2P="${B_P2P:-19601}" B_REST="${B_REST:-19597}"
C_P2P="${C_P2P:-19602}" C_METRICS="${C_METRICS:-19608}"
# The chain of issue 14: minimal preset, Altair at genesis, Bellatrix at epoch 1, Capella at epoch 2; 2 s slots
# unless SLOT_SECONDS says otherwise (Lodestar's validator gives the node one slot to produce a block: on a loaded
# machine 2 s is too short and every Bellatrix proposal times out).
SLOT_SECONDS="${SLOT_SECONDS:-2}"
FORK_PARAMS=(--params.ALTAIR_FORK_EPOCH 0 --params.BELLATRIX_FORK_EPOCH 1 --params.CAPELLA_FORK_EPOCH 2
  --params.SECONDS_PER_SLOT "$SLOT_SECONDS")
PIDS=()

stop_all() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}

wait_http() { # url seconds
  for _ in $(seq 1 "$2"); do curl -sf "$1" >/dev/null && return 0; sleep 1; done
  echo "no answer from $1 after $2 s" >&2
  return 1
}

head_slot() { curl -sf "http://127.0.0.1:$1/eth/v1/beacon/headers/head" | node -e \
  'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const h=JSON.parse(s).data;console.log(h.header.message.slot+" "+h.root)}catch{console.log("- -")}})'; }

block_root() { curl -sf "http://127.0.0.1:$1/eth/v1/beacon/blocks/$2/root" | node -e \
  'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).data.root)}catch{console.log("-")}})'; }

peer_id() { curl -sf "http://127.0.0.1:$1/eth/v1/node/identity" | node -e \
  'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).data.peer_id))'; }

lodestar_node() { # name p2p rest [extra args]
  local name="$1" p2p="$2" rest="$3"
  shift 3
  mkdir -p "$OUT/$name"
  # `lodestar dev` writes genesis.ssz into its working directory: one directory per node.
  (cd "$OUT/$name" && exec "$LODESTAR" dev --genesisValidators 8 --genesisTime "$GENESIS" --dataDir "$OUT/$name/data" \
    --reset --listenAddress 127.0.0.1 --port "$p2p" --discv5 false --bootnodes "" --mdns false \
    --rest.address 127.0.0.1 --rest.port "$rest" --rest.namespace '*' --logLevel info "${FORK_PARAMS[@]}" "$@" \
    >"$OUT/$name/lodestar.log" 2>&1) &
  PIDS+=($!)
}

run_trial() {
  local minutes="${1:-10}"
  [ -x "$LODESTAR" ] || { echo "Lodestar not installed: run $0 install" >&2; exit 1; }
  [ -f "$REPO/dist/cli/index.js" ] || { echo "Contower not built: run npm run build" >&2; exit 1; }
  mkdir -p "$OUT"
  trap stop_all EXIT INT TERM
  # Lodestar needs the genesis in the future when it starts (about 40 s on a busy machine): a node whose head is more
  # than an epoch behind the clock at start calls itself syncing and its validators never propose.
  GENESIS=$(($(date +%s) + ${GENESIS_DELAY:-90}))
  echo "output in $OUT, genesis $GENESIS ($(date -u -d "@$GENESIS" +%T) UTC)"
  lodestar_node a "$A_P2P" "$A_REST" --startValidators 0..7 --server "http://127.0.0.1:$A_REST"
  lodestar_node b "$B_P2P" "$B_REST"
  wait_http "http://127.0.0.1:$A_REST/eth/v1/node/identity" 120
  wait_http "http://127.0.0.1:$B_REST/eth/v1/node/identity" 120
  local a_id b_id
  a_id=$(peer_id "$A_REST")
  b_id=$(peer_id "$B_REST")
  # LATE_START_SECONDS=N starts Contower N s after genesis, so that B, with no other peer, has to catch up through it
  # (BlocksByRange relayed from A) before it can follow by gossip.
  local start_at=$((GENESIS + ${LATE_START_SECONDS:-0}))
  while [ "$(date +%s)" -lt "$start_at" ]; do sleep 1; done
  # Contower takes the spec and genesis from A's API and dials both nodes; nothing else dials B.
  node "$REPO/bin/contower.js" start --network custom --beacon-api "http://127.0.0.1:$A_REST" \
    --listen-address 127.0.0.1 --port "$C_P2P" --no-discovery --data-dir "$OUT/contower" \
    --static-peers "/ip4/127.0.0.1/tcp/$A_P2P/p2p/$a_id,/ip4/127.0.0.1/tcp/$B_P2P/p2p/$b_id" \
    --metrics-address 127.0.0.1 --metrics-port "$C_METRICS" --log-level debug --log-format json \
    >"$OUT/contower.log" 2>&1 &
  PIDS+=($!)
  printf 'utc\tclock_slot\ta_head\tb_head\tb_root_is_a_root\tb_peers\n' | tee "$OUT/heads.tsv"
  local end=$(($(date +%s) + minutes * 60))
  while [ "$(date +%s)" -lt "$end" ]; do
    sleep 10
    local now a b b_slot b_root a_root same peers
    now=$(date +%s)
    a=$(head_slot "$A_REST")
    b=$(head_slot "$B_REST")
    b_slot=${b%% *}
    b_root=${b##* }
    same="-"
    if [ "$b_slot" != "-" ]; then
      a_root=$(block_root "$A_REST" "$b_slot")
      [ "$a_root" = "$b_root" ] && same=yes || same=no
    fi
    peers=$(curl -sf "http://127.0.0.1:$B_REST/eth/v1/node/peer_count" | node -e \
      'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).data.connected)}catch{console.log("-")}})')
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%T)" $(((now - GENESIS) / SLOT_SECONDS)) "${a%% *}" "$b_slot" "$same" "$peers" |
      tee -a "$OUT/heads.tsv"
  done
  # Lodestar's own light-client data through the relay's checks, from its beacon API and then asked of Contower over
  # libp2p (relayed from A or B): what a real client serves must pass them, unchanged.
  local via
  via=$(grep -o '"/ip4/127.0.0.1/tcp/[0-9]*/p2p/[A-Za-z0-9]*"' "$OUT/contower.log" | head -1 | tr -d '"')
  (cd "$REPO" && npx tsx scripts/light-client-probe.ts --beacon-api "http://127.0.0.1:$A_REST" ${via:+--via "$via"}) |
    tee "$OUT/light-client-probe.txt" || true
  curl -sf "http://127.0.0.1:$C_METRICS/metrics" >"$OUT/contower-metrics.txt" || true
  grep -E '^contower_gossip_(accepted|rejected|ignored)_total|^contower_relay_requests_total' "$OUT/contower-metrics.txt" || true
}

case "${1:-}" in
  install) install_lodestar ;;
  run) shift; run_trial "$@" ;;
  *) echo "usage: $0 install | run [MINUTES]" >&2; exit 2 ;;
esac

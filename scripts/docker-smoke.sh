#!/usr/bin/env bash
# Docker smoke test without Docker: rebuilds the runtime stage of ./Dockerfile in a temp dir on this machine,
# runs the daemon the way the image does, and checks that it
#   - starts as a non-root user and answers the image's own HEALTHCHECK command, /health and /metrics,
#   - writes its identity key with mode 0600, owned by that user, into the data dir,
#   - logs JSON, and exits 0 within 5 s of SIGTERM.
#
# Kept in sync with the Dockerfile by reading its last stage: WORKDIR, the COPY lines, ENV, HEALTHCHECK CMD,
# ENTRYPOINT and CMD. Not read (hard-coded here; test/e2e/docker-smoke.test.ts pins them in the Dockerfile):
# the `npm ci --omit=dev --ignore-scripts` RUN line, and `COPY --from=build` of dist/, which this script
# produces by running `npm run build` with --outDir pointing into the temp dir (a clean dist/, as in the
# build stage, and the repo's dist/ is not rewritten under tests that may be using it).
# Not reproducible without Docker: the base image, uid 1000 (`nobody` or a throwaway system user instead),
# VOLUME (a temp dir) and published ports. Loopback addresses and free ports replace the image's 0.0.0.0 and
# fixed ports, so it can run beside other tests.
#
# Usage: bash scripts/docker-smoke.sh
#   As root it runs the daemon as another user (the install step stays root, as in the image); otherwise it
#   runs it as the caller. Prints PASS/FAIL lines; exits non-zero on any failure. Needs network access to the
#   npm registry (npm ci). Env: CONTOWER_SMOKE_USER (default: nobody, else a throwaway system user);
#   CONTOWER_SMOKE_NPM, the npm command for the install (default: npm). The image uses the npm bundled with
#   Node 22 (10.x); to install exactly as it does with a newer local npm: CONTOWER_SMOKE_NPM='npx -y npm@10.9.2'.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly ROOT
readonly DOCKERFILE="$ROOT/Dockerfile"
readonly BUILD_TIMEOUT_S=300
readonly INSTALL_TIMEOUT_S=300
readonly HEALTH_TIMEOUT_S=30
readonly HEALTHCHECK_TIMEOUT_S=5 # the Dockerfile's HEALTHCHECK --timeout
readonly STOP_TIMEOUT_S=5        # src/cli/lifecycle.ts SHUTDOWN_DEADLINE_MS
readonly KEY_FILE=identity.key   # src/identity/identity.ts IDENTITY_FILE_NAME

failures=0
work=''
pid=''
created_user=''
log=''

now_ms() { echo $(($(date +%s%N) / 1000000)); }
seconds() { awk -v ms="$1" 'BEGIN { printf "%.1f s", ms / 1000 }'; }
pass() { printf 'PASS %s\n' "$*"; }
fail() {
  printf 'FAIL %s\n' "$*"
  failures=$((failures + 1))
}
show_log() {
  if [[ -n $log && -s $log ]]; then
    printf '  --- last lines of %s ---\n' "$(basename "$log")"
    tail -n 20 "$log" | sed 's/^/  | /'
  fi
}
die() {
  fail "$*"
  show_log
  exit 1
}

# True while $1 runs (a zombie, i.e. exited but not yet reaped, counts as stopped).
running() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ $state != Z* ]]
}

cleanup() {
  local rc=$?
  trap - EXIT
  # Only the daemon this script started, by its pid.
  if [[ -n $pid ]] && running "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [[ -n $work ]]; then rm -rf -- "$work"; fi
  if [[ -n $created_user ]]; then userdel "$created_user" 2>/dev/null || true; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'printf "FAIL unexpected error (line %s): %s\n" "$LINENO" "$BASH_COMMAND"' ERR

# ---- read the Dockerfile's runtime stage ----

[[ -f $DOCKERFILE ]] || die "no Dockerfile at $DOCKERFILE"

# The instructions of the last stage, one per line: comments dropped, continuation lines joined.
runtime_stage() {
  sed -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' "$DOCKERFILE" |
    sed -e ':a' -e '/\\$/{N;s/\\\n[[:space:]]*/ /;ba' -e '}' |
    awk 'toupper($1) == "FROM" { stage = "" } { stage = stage $0 ORS } END { printf "%s", stage }'
}
stage=$(runtime_stage)

# A JSON array (exec form) as one argument per NUL-terminated string.
json_args() {
  # shellcheck disable=SC2016 # ${a} is a JavaScript template literal
  node -e 'for (const a of JSON.parse(process.argv[1])) process.stdout.write(`${a}\0`)' "$1"
}

workdir=$(sed -n 's/^WORKDIR[[:space:]]\{1,\}//p' <<<"$stage" | tail -n 1)
[[ $workdir == /* ]] || die "runtime stage has no absolute WORKDIR"

image_env=()
while read -r line; do
  [[ $line =~ ^ENV[[:space:]]+([A-Za-z_][A-Za-z0-9_]*=[^[:space:]\"\']*)$ ]] ||
    die "unsupported ENV line (use one unquoted NAME=value per ENV): $line"
  image_env+=("${BASH_REMATCH[1]}")
done < <(grep '^ENV[[:space:]]' <<<"$stage" || true)
((${#image_env[@]} > 0)) || die "runtime stage has no ENV lines"

health_json=$(sed -n 's/^HEALTHCHECK[[:space:]].*CMD[[:space:]]\{1,\}\(\[.*\]\)[[:space:]]*$/\1/p' <<<"$stage")
[[ -n $health_json ]] || die "runtime stage has no exec-form HEALTHCHECK CMD [...]"
mapfile -d '' health_cmd < <(json_args "$health_json")

entry_json=$(sed -n 's/^ENTRYPOINT[[:space:]]\{1,\}\(\[.*\]\)[[:space:]]*$/\1/p' <<<"$stage" | tail -n 1)
cmd_json=$(sed -n 's/^CMD[[:space:]]\{1,\}\(\[.*\]\)[[:space:]]*$/\1/p' <<<"$stage" | tail -n 1)
[[ -n $entry_json && -n $cmd_json ]] || die "runtime stage needs exec-form ENTRYPOINT [...] and CMD [...]"
mapfile -d '' entry_cmd < <(json_args "$entry_json")
mapfile -d '' cmd_args < <(json_args "$cmd_json")
((${#health_cmd[@]} > 0 && ${#entry_cmd[@]} > 0)) || die "cannot parse HEALTHCHECK/ENTRYPOINT JSON"

# ---- assemble the app dir ----

work=$(mktemp -d -t contower-docker-smoke.XXXXXX)
chmod 0755 "$work" # the image's / is traversable by the runtime user; mktemp's 0700 is not
readonly app="$work/app"
mkdir -p "$app"

# A path in the image (absolute, under WORKDIR, or relative to it) as a path under $app.
in_app() {
  case $1 in
  "$workdir") echo "$app" ;;
  "$workdir"/*) echo "$app/${1#"$workdir"/}" ;;
  /*) die "COPY destination outside WORKDIR: $1" ;;
  *) echo "$app/${1#./}" ;;
  esac
}

copied=()
build_copies=0
while read -r -a words; do
  args=()
  from=''
  for w in "${words[@]:1}"; do
    case $w in
    --from=*) from=${w#--from=} ;;
    --*) ;; # --chown, --chmod, --link: ownership is handled below
    *) args+=("$w") ;;
    esac
  done
  ((${#args[@]} >= 2)) || die "cannot parse: ${words[*]}"
  dest=${args[-1]}
  sources=("${args[@]:0:${#args[@]}-1}")
  if [[ -n $from ]]; then
    # Produced by `npm run build` below; anything else from another stage is unknown to this script.
    [[ ${#sources[@]} -eq 1 && ${sources[0]} == */dist && $(in_app "$dest") == "$app/dist" ]] ||
      die "this script only knows how to produce dist/ of the build stage, not: ${words[*]}"
    build_copies=$((build_copies + 1))
    continue
  fi
  target=$(in_app "$dest")
  for src in "${sources[@]}"; do
    [[ -e $ROOT/$src ]] || die "COPY source missing from the build context: $src"
  done
  if [[ $dest == */ ]]; then
    mkdir -p "$target"
    for src in "${sources[@]}"; do cp -R -- "$ROOT/$src" "$target/"; done
  elif [[ ${#sources[@]} -eq 1 && -d $ROOT/${sources[0]} ]]; then
    mkdir -p "$target" # COPY dir dest copies the directory's contents
    cp -R -- "$ROOT/${sources[0]}/." "$target/"
  elif [[ ${#sources[@]} -eq 1 ]]; then
    mkdir -p "$(dirname "$target")"
    cp -- "$ROOT/${sources[0]}" "$target"
  else
    die "several COPY sources need a destination ending in /: ${words[*]}"
  fi
  copied+=("${sources[@]}")
done < <(grep '^COPY[[:space:]]' <<<"$stage" || true)
((build_copies == 1)) || die "expected one COPY --from=build of dist/ in the runtime stage, found $build_copies"
pass "copied ${copied[*]} as the Dockerfile does"

t=$(now_ms)
log="$work/build.log"
(cd "$ROOT" && timeout "$BUILD_TIMEOUT_S" npm run build -- --outDir "$app/dist") >"$log" 2>&1 ||
  die "npm run build"
[[ -f $app/dist/cli/index.js ]] || die "npm run build produced no dist/cli/index.js"
pass "npm run build into the app's dist/ ($(seconds $(($(now_ms) - t))))"

t=$(now_ms)
log="$work/install.log"
read -r -a npm_cmd <<<"${CONTOWER_SMOKE_NPM:-npm}"
npm_version=$(cd "$app" && "${npm_cmd[@]}" --version 2>/dev/null | tail -n 1) || npm_version='?'
if ! (cd "$app" && timeout "$INSTALL_TIMEOUT_S" "${npm_cmd[@]}" ci --omit=dev --ignore-scripts --no-audit --no-fund) \
  >"$log" 2>&1; then
  fail "npm ci --omit=dev --ignore-scripts (npm $npm_version)"
  # npm may end with its usage text; the cause is in the error lines before it.
  awk '/^npm error (Clean install a project|Usage:)/ { exit } /^npm error [^ ]/ { print "  | " $0 }' "$log" | head -n 15
  exit 1
fi
pass "npm ci --omit=dev --ignore-scripts with npm $npm_version ($(seconds $(($(now_ms) - t))), \
$(du -sh "$app/node_modules" | cut -f1) node_modules)"
dev_found=()
for dev in typescript vitest tsx @biomejs/biome; do
  if [[ -e $app/node_modules/$dev ]]; then dev_found+=("$dev"); fi
done
if ((${#dev_found[@]} == 0)); then pass "no dev dependencies installed"; else fail "dev dependencies installed: ${dev_found[*]}"; fi

# ---- the runtime user ----

as_user=()
if ((EUID == 0)); then
  user=${CONTOWER_SMOKE_USER:-nobody}
  if ! getent passwd "$user" >/dev/null; then
    user=contower-smoke
    if ! getent passwd "$user" >/dev/null; then
      useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
      created_user=$user
    fi
  fi
  uid=$(id -u "$user")
  gid=$(id -g "$user")
  ((uid != 0)) || die "the runtime user $user is root"
  # setpriv execs (no intermediate process), so the pid started below is the daemon's and gets the SIGTERM.
  command -v setpriv >/dev/null || die "setpriv (util-linux) is needed to drop root"
  as_user=(setpriv --reuid="$uid" --regid="$gid" --init-groups --inh-caps=-all --)
else
  user=$(id -un)
  uid=$EUID
  gid=$(id -g)
fi

readonly data="$work/data" home="$work/home"
mkdir -p "$data" "$home"
chown "$uid:$gid" "$data" "$home"
chmod 0700 "$data" # as the image's /data

p2p_port_and_metrics_port() {
  # Two distinct loopback ports, each free for TCP and UDP (discv5 shares the libp2p port).
  (cd "$work" && node -e '
    const net = require("node:net")
    const dgram = require("node:dgram")
    const free = (tries) => new Promise((resolve, reject) => {
      if (tries === 0) return reject(new Error("no free port"))
      const tcp = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = tcp.address()
        const udp = dgram.createSocket("udp4")
        udp.once("error", () => tcp.close(() => free(tries - 1).then(resolve, reject)))
        udp.bind(port, "127.0.0.1", () => udp.close(() => tcp.close(() => resolve(port))))
      })
    })
    ;(async () => {
      const a = await free(50)
      let b = await free(50)
      while (b === a) b = await free(50)
      console.log(a, b)
    })().catch((e) => { console.error(e.message); process.exit(1) })
  ')
}
read -r p2p_port metrics_port < <(p2p_port_and_metrics_port) || true
[[ -n ${metrics_port:-} ]] || die "cannot find free ports"

# The image's environment (env -i: a container does not inherit the host's), then this run's overrides.
run_env=(
  "PATH=$(dirname "$(command -v node)"):/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  "HOME=$home"
  "${image_env[@]}"
  "CONTOWER_DATA_DIR=$data"
  "CONTOWER_LISTEN_ADDRESS=127.0.0.1"
  "CONTOWER_PORT=$p2p_port"
  "CONTOWER_METRICS_ADDRESS=127.0.0.1"
  "CONTOWER_METRICS_PORT=$metrics_port"
  # A smoke test must not talk to the network's real bootnodes.
  "CONTOWER_DISCOVERY=false"
)

# ENTRYPOINT + CMD, with WORKDIR paths mapped into the app dir.
run_cmd=()
for a in "${entry_cmd[@]}" "${cmd_args[@]}"; do
  if [[ $a == "$workdir" || $a == "$workdir"/* ]]; then a=$(in_app "$a"); fi
  run_cmd+=("$a")
done

# ---- run ----

log="$work/contower.log"
t=$(now_ms)
(cd "$app" && exec "${as_user[@]}" env -i "${run_env[@]}" "${run_cmd[@]}") >"$log" 2>&1 &
pid=$!

healthy=''
deadline=$(($(now_ms) + HEALTH_TIMEOUT_S * 1000))
while (($(now_ms) < deadline)); do
  running "$pid" || die "the daemon exited before it was healthy"
  if (cd "$app" && timeout "$HEALTHCHECK_TIMEOUT_S" "${as_user[@]}" env -i "${run_env[@]}" "${health_cmd[@]}") \
    >/dev/null 2>&1; then
    healthy=1
    break
  fi
  sleep 0.25
done
[[ -n $healthy ]] || die "the Dockerfile's HEALTHCHECK did not pass within ${HEALTH_TIMEOUT_S} s"
pass "HEALTHCHECK command passed $(seconds $(($(now_ms) - t))) after start (${run_cmd[*]})"

run_uid=$(ps -o uid= -p "$pid" | tr -d ' ')
if [[ $run_uid == "$uid" && $run_uid != 0 ]]; then
  pass "daemon runs as $user (uid $run_uid)"
else
  fail "daemon runs as uid $run_uid, expected $user (uid $uid, non-root)"
fi

# shellcheck disable=SC2016 # JavaScript template literals
if body=$(node --input-type=module -e '
  const base = `http://127.0.0.1:${process.argv[1]}`
  const health = await fetch(`${base}/health`)
  const json = await health.json()
  if (health.status !== 200 || json.status !== "ok") throw new Error(`/health ${health.status} ${JSON.stringify(json)}`)
  const metrics = await fetch(`${base}/metrics`)
  const text = await metrics.text()
  if (metrics.status !== 200 || !text.includes("# TYPE")) throw new Error(`/metrics ${metrics.status}`)
  console.log(JSON.stringify(json))
' "$metrics_port" 2>&1); then
  pass "GET /health 200 $body, GET /metrics 200"
else
  fail "HTTP checks: $body"
fi

key="$data/$KEY_FILE"
if [[ -f $key ]]; then
  read -r key_mode key_uid < <(stat -c '%a %u' "$key")
  if [[ $key_mode == 600 && $key_uid == "$uid" ]]; then
    pass "identity key $KEY_FILE: mode $key_mode, owned by $user"
  else
    fail "identity key $KEY_FILE: mode $key_mode, uid $key_uid (expected 600, uid $uid)"
  fi
else
  fail "no identity key at $key"
fi

# ---- stop ----

kill -TERM "$pid"
t=$(now_ms)
deadline=$((t + STOP_TIMEOUT_S * 1000))
while running "$pid" && (($(now_ms) < deadline)); do sleep 0.05; done
if running "$pid"; then
  fail "still running ${STOP_TIMEOUT_S} s after SIGTERM; killing pid $pid"
  kill -KILL "$pid" 2>/dev/null || true
fi
rc=0
wait "$pid" || rc=$?
stop_ms=$(($(now_ms) - t))
pid=''
if ((rc == 0)); then
  pass "SIGTERM: exit 0 after $stop_ms ms"
else
  fail "SIGTERM: exit $rc after $stop_ms ms"
fi

if bad=$(node -e '
  const lines = require("node:fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean)
  const bad = lines.filter((l) => { try { return typeof JSON.parse(l).msg !== "string" } catch { return true } })
  if (lines.length === 0 || bad.length > 0) { console.log(bad[0] ?? "(no output)"); process.exit(1) }
' "$log"); then
  pass "logs are JSON lines ($(wc -l <"$log") lines)"
else
  fail "log line is not JSON: $bad"
fi

if ((failures > 0)); then
  show_log
  printf 'FAIL docker smoke: %d check(s) failed\n' "$failures"
  exit 1
fi
printf 'PASS docker smoke\n'

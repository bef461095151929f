#!/usr/bin/env bash
# Webhook ingest benchmark: signed GitHub push deliveries sent with wrk to `egw serve` and to Debian's
# `webhook` (adnanh/webhook) in the same run, with the same body and signature. Reports accepted events
# per second and ack latency percentiles of each, checks every event egw acknowledged against its durable
# log, and compares egw with the target (>= 5,000 durable events/s, p99 ack < 20 ms, nothing lost).
#
#   bash bench/webhook/run.sh                          # ~2 minutes on an idle machine
#   BENCH_DURATION=30 bash bench/webhook/run.sh        # longer runs
#
# Three load shapes, each against both systems, interleaved (egw, webhook, egw, ...):
#   saturate  wrk -c BENCH_CONNECTIONS, closed loop: every connection sends its next request as soon as the
#             answer arrives. Measures the most a system takes; its latencies are mostly queueing
#             (latency ~ connections / throughput), so its p99 says little about ack time.
#   light     the same with BENCH_LIGHT_CONNECTIONS: less queueing, still as fast as the server answers.
#   paced     BENCH_RATE requests/s offered on a fixed schedule (signed.lua's delay()), spread over
#             BENCH_PACED_CONNECTIONS connections: the target's own question, p99 ack at 5,000 events/s.
#             A server that cannot keep up shows an achieved rate below BENCH_RATE. (wrk's delays are whole
#             milliseconds, so requests leave in small bursts each millisecond, not one every 200 us.)
# Every request carries a fresh X-GitHub-Delivery (egw's event id), in random order like GitHub's.
# Loss check: signed.lua counts the 2xx answers; egw's log must have grown by at least that many events
# (it may hold up to one more per connection: requests wrk abandoned when its time was up).
# Then, for egw, a crash check: wrk at full speed, egw killed with SIGKILL halfway; the rows SQLite finds in
# the files egw left must be at least the acknowledged count; egw is then restarted on the same data and
# must report the same count as the file.
#
# Environment:
#   BENCH_DURATION=10           seconds of each measured wrk run
#   BENCH_WARMUP=3              seconds of untimed load against each system first (JIT, connection pools)
#   BENCH_THREADS=2             wrk threads
#   BENCH_CONNECTIONS=64        connections of the saturating run
#   BENCH_LIGHT_CONNECTIONS=8   connections of the light run
#   BENCH_RATE=5000             offered requests/s of the paced run (0 skips it)
#   BENCH_PACED_CONNECTIONS=64  connections of the paced run (enough that a slot rarely waits for one)
#   BENCH_SHAPES="saturate light paced"
#   BENCH_SYSTEMS="egw webhook" add webhook-sync for adnanh webhook with include-command-output-in-response
#                               (it answers after the command ran instead of before); add egw-otlp for a second
#                               egw with tracing on (--otlp-endpoint to a local OTLP/HTTP receiver, otlp-sink.py):
#                               BENCH_SYSTEMS="egw egw-otlp" measures tracing's ingest overhead, runs interleaved
#   BENCH_CRASH=1               the kill -9 check (0 to skip); BENCH_CRASH_DURATION=6 seconds of load, killed halfway
#   BENCH_SOURCE=auto           egw EventSource type: github (X-Hub-Signature-256) or webhook (Authorization:
#                               Bearer); auto picks github once src/.../Github/GithubListener.cs is no placeholder
#   BENCH_TMP=/dev/shm          parent of the scratch directory holding egw's data dir (/tmp is slow ext4 here;
#                               use BENCH_TMP=/tmp to see a disk that really syncs)
#   BENCH_QUIET=1               before each run, wait (up to BENCH_QUIET_MAX=60 s) for the machine to be idle
#                               (< 15% CPU over 2 s): other work, and webhook's leftover commands, skew results
#   BENCH_SKIP_BUILD=0          1: use the existing build in BENCH_ARTIFACTS
#   BENCH_ARTIFACTS=/tmp/art-bench   dotnet --artifacts-path of the Release build
#   EGW_BIN=...                 egw binary to measure (skips the build)
#   BENCH_KEEP=0                1: keep the scratch directory (server logs, wrk outputs)
#   BENCH_EVENT_BUS=0           1: egw keeps its event log on a nats-server (JetStream, -sd in the scratch
#                               directory) started here: `egw serve --event-bus`; the crash check then counts
#                               the events on the bus (which egw's death does not touch) after the restart
#
# Output: a table on stdout, then one JSON line (also written to bench/results/webhook-<timestamp>.json).
# Exit status: 0 if every run completed and egw lost no acknowledged event (whether or not the target was
# met), 1 if not, 2 for bad settings or a failed build.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-3}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-64}
LIGHT=${BENCH_LIGHT_CONNECTIONS:-8}
RATE=${BENCH_RATE:-5000}
PACED_CONNS=${BENCH_PACED_CONNECTIONS:-64}
CRASH=${BENCH_CRASH:-1}
CRASH_DURATION=${BENCH_CRASH_DURATION:-6}
BUS=${BENCH_EVENT_BUS:-0}
read -r -a shapes <<<"${BENCH_SHAPES:-saturate light paced}"
read -r -a systems <<<"${BENCH_SYSTEMS:-egw webhook}"
artifacts=${BENCH_ARTIFACTS:-/tmp/art-bench}
TARGET_RATE=5000
TARGET_P99_MS=20
SECRET=bench-webhook-secret

quiet_max_default=60
# shellcheck source=../machine.sh
source "$(dirname "${BASH_SOURCE[0]}")/../machine.sh"
log() { printf '[webhook] %s\n' "$*" >&2; }
die() { echo "$*" >&2; exit 2; }

for v in DURATION THREADS CONNS LIGHT PACED_CONNS CRASH_DURATION; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
[[ $WARMUP =~ ^[0-9]+$ && $RATE =~ ^[0-9]+$ ]] || die "BENCH_WARMUP and BENCH_RATE must be integers"
(( CONNS >= THREADS && LIGHT >= THREADS && PACED_CONNS >= THREADS )) || die "each connection count must be at least BENCH_THREADS ($THREADS)"
for s in "${shapes[@]}"; do [[ $s =~ ^(saturate|light|paced)$ ]] || die "unknown shape '$s' in BENCH_SHAPES"; done
for s in "${systems[@]}"; do [[ $s =~ ^(egw|egw-otlp|webhook|webhook-sync)$ ]] || die "unknown system '$s' in BENCH_SYSTEMS"; done
(( RATE > 0 )) || shapes=("${shapes[@]/paced}")
for tool in wrk webhook openssl python3 curl; do command -v "$tool" >/dev/null || die "$tool is required (apt-get install -y $tool)"; done
[[ -x /usr/bin/time ]] || die "GNU time is required (apt-get install -y time)"

# --- which egw EventSource ----------------------------------------------------------------------------
source_type=${BENCH_SOURCE:-auto}
if [[ $source_type == auto ]]; then
  if grep -qs Placeholder "$repo/src/EventGateway.Events/EventSources/Github/GithubListener.cs" "$repo/src/EventGateway/EventSources/Github/GithubListener.cs"; then source_type=webhook
  else source_type=github; fi
fi
[[ $source_type =~ ^(github|webhook)$ ]] || die "BENCH_SOURCE must be github, webhook or auto"

# --- build (once) -------------------------------------------------------------------------------------
egw=${EGW_BIN:-$artifacts/bin/egw/release/egw}
if [[ -z ${EGW_BIN:-} && ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
  log "building egw (Release, --artifacts-path $artifacts)"
  out=$(cd "$repo" && dotnet build src/egw -c Release --artifacts-path "$artifacts" -nologo -v q 2>&1) || { printf '%s\n' "$out" >&2; die "egw build failed"; }
fi
[[ -x $egw ]] || die "egw binary not found at $egw"

# --- scratch ------------------------------------------------------------------------------------------
work=$(mktemp -d "${BENCH_TMP:-/dev/shm}/egw-bench-webhook.XXXXXX")
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM
# Measure a copy: others may rebuild the artifacts while this runs.
cp -r "$(dirname "$egw")" "$work/egw-bin" && egw=$work/egw-bin/$(basename "$egw")
fs_type=$(stat -f -c %T "$work")
dev=$(findmnt -n -o SOURCE --target "$work" 2>/dev/null || true)
if [[ $fs_type == ext2/ext3 && -n $dev && -r /sys/fs/ext4/${dev##*/}/journal_task ]]; then
  fs_type=ext4
  [[ $(cat "/sys/fs/ext4/${dev##*/}/journal_task") != "<none>" ]] || fs_type="ext4 (no journal)"
fi

body=$here/push.json
body_bytes=$(stat -c %s "$body")
# GitHub signs the raw body: "sha256=" + hex HMAC-SHA256(secret, body). The body is fixed, so is the signature.
signature=sha256=$(openssl dgst -sha256 -hmac "$SECRET" -r "$body" | cut -d' ' -f1)

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
api_port=$(free_port); egw_port=$(free_port); hook_port=$(free_port); hook_sync_port=$(free_port)
otlp_api_port=$(free_port); otlp_egw_port=$(free_port); otlp_sink_port=$(free_port)

# --- egw ----------------------------------------------------------------------------------------------
mkdir -p "$work/manifests" "$work/data"
{
  cat <<EOF
apiVersion: v1
kind: Secret
metadata: {name: github-webhook, namespace: bench}
stringData: {secret: $SECRET}
---
apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata: {name: github, namespace: bench}
spec:
EOF
  if [[ $source_type == github ]]; then cat <<EOF
  github:
    push:
      repositories:
        - owner: acme-corp
          names: [widget-service]
      events: [push]
      webhook: {port: "$egw_port", endpoint: /push, method: POST}
      webhookSecret: {name: github-webhook, key: secret}
      contentType: json
EOF
  else cat <<EOF
  webhook:
    push: {port: "$egw_port", endpoint: /push, method: POST, authSecret: {name: github-webhook, key: secret}}
EOF
  fi
} >"$work/manifests/github.yaml"
egw_url=http://127.0.0.1:$egw_port/push
api=http://127.0.0.1:$api_port
egw_auth=(X-Hub-Signature-256 "$signature")
# The plain webhook source checks a Bearer token; it gets the signature header too, so requests are the same size.
[[ $source_type == github ]] || egw_auth+=(Authorization "Bearer $SECRET")

bus_args=()
if [[ $BUS == 1 ]]; then
  command -v nats-server >/dev/null || [[ -x /usr/sbin/nats-server ]] || die "nats-server is required for BENCH_EVENT_BUS=1 (apt-get install -y nats-server)"
  nats_port=$(free_port)
  PATH=$PATH:/usr/sbin nats-server -js -a 127.0.0.1 -p "$nats_port" -sd "$work/nats" >"$work/nats.log" 2>&1 &
  pids+=("$!")
  for ((i = 0; i < 100; i++)); do grep -q "Server is ready" "$work/nats.log" && break; sleep 0.1; done
  grep -q "Server is ready" "$work/nats.log" || die "nats-server did not start: $(tail -n 5 "$work/nats.log")"
  bus_args=(--event-bus "nats://127.0.0.1:$nats_port")
fi
egw_pid=""
start_egw() {
  "$egw" serve --data-dir "$work/data" --port "$api_port" --manifests "$work/manifests" --events-address 127.0.0.1 "${bus_args[@]}" \
    >>"$work/egw.log" 2>&1 &
  egw_pid=$!; pids+=("$egw_pid")
  local i
  for ((i = 0; i < 300; i++)); do
    curl -sf -o /dev/null "http://127.0.0.1:$egw_port/health" && return 0
    kill -0 "$egw_pid" 2>/dev/null || break
    sleep 0.1
  done
  tail -n 20 "$work/egw.log" >&2
  local status
  status=$(curl -s -H "Authorization: Bearer $(cat "$work/data/admin.token" 2>/dev/null)" "$api/api/v1/event-sources/bench/github" | python3 -c 'import json, sys; print(json.load(sys.stdin)["status"]["listeners"])' 2>&1 || true)
  die "egw's listener on :$egw_port did not come up (listener status: $status)"
}
log_count() { # log_count [API DATA_DIR]: events in an egw's log (default: the egw system's)
  curl -sf -H "Authorization: Bearer $(cat "${2:-$work/data}/admin.token" 2>/dev/null)" "${1:-$api}/api/v1/eventlog" | python3 -c 'import json, sys; print(json.load(sys.stdin)["count"])'
}

# --- egw with tracing on (egw-otlp) -------------------------------------------------------------------
# The same manifests on other ports, its own data dir, and --otlp-endpoint to a local receiver that takes every
# export (otlp-sink.py answers 200 and counts requests and bytes): what tracing costs ingest, exporter included.
egw_otlp_url=http://127.0.0.1:$otlp_egw_port/push
otlp_api=http://127.0.0.1:$otlp_api_port
otlp_pid=""
start_egw_otlp() {
  mkdir -p "$work/manifests-otlp" "$work/data-otlp"
  sed "s/port: \"$egw_port\"/port: \"$otlp_egw_port\"/" "$work/manifests/github.yaml" >"$work/manifests-otlp/github.yaml"
  python3 "$here/otlp-sink.py" "$otlp_sink_port" "$work/otlp-sink.count" >>"$work/otlp-sink.log" 2>&1 &
  pids+=("$!")
  "$egw" serve --data-dir "$work/data-otlp" --port "$otlp_api_port" --manifests "$work/manifests-otlp" --events-address 127.0.0.1 "${bus_args[@]}" \
    --otlp-endpoint "http://127.0.0.1:$otlp_sink_port" >>"$work/egw-otlp.log" 2>&1 &
  otlp_pid=$!; pids+=("$otlp_pid")
  local i
  for ((i = 0; i < 300; i++)); do
    curl -sf -o /dev/null "http://127.0.0.1:$otlp_egw_port/health" && return 0
    kill -0 "$otlp_pid" 2>/dev/null || break
    sleep 0.1
  done
  tail -n 20 "$work/egw-otlp.log" >&2
  die "egw-otlp's listener on :$otlp_egw_port did not come up"
}

# --- adnanh/webhook -----------------------------------------------------------------------------------
# Same check as GitHub's docs ask of a receiver: HMAC-SHA256 of the body against X-Hub-Signature-256, and the
# event type. A mismatch answers 401 (webhook's default would be 200 "Hook rules were not satisfied").
write_hooks() { # write_hooks FILE CAPTURE_OUTPUT
  cat >"$1" <<EOF
[{"id": "push", "execute-command": "/bin/true", "http-methods": ["POST"],
  "include-command-output-in-response": $2,
  "trigger-rule-mismatch-http-response-code": 401,
  "trigger-rule": {"and": [
    {"match": {"type": "payload-hmac-sha256", "secret": "$SECRET", "parameter": {"source": "header", "name": "X-Hub-Signature-256"}}},
    {"match": {"type": "value", "value": "push", "parameter": {"source": "header", "name": "X-GitHub-Event"}}}]}}]
EOF
}
declare -A hook_pid=()
start_webhook() { # start_webhook SYSTEM PORT CAPTURE_OUTPUT
  write_hooks "$work/$1.json" "$3"
  webhook -hooks "$work/$1.json" -ip 127.0.0.1 -port "$2" -nopanic >>"$work/$1.log" 2>&1 &
  hook_pid[$1]=$!; pids+=("$!")
  local i
  for ((i = 0; i < 100; i++)); do
    curl -s -o /dev/null "http://127.0.0.1:$2/" && return 0
    sleep 0.1
  done
  die "webhook ($1) did not come up on :$2"
}

declare -A url=([egw]=$egw_url [egw-otlp]=$egw_otlp_url [webhook]=http://127.0.0.1:$hook_port/hooks/push [webhook-sync]=http://127.0.0.1:$hook_sync_port/hooks/push)
auth_of() { # auth_of SYSTEM: the header name/value pairs it checks
  if [[ $1 == egw* ]]; then printf '%s\n' "${egw_auth[@]}"; else printf '%s\n' X-Hub-Signature-256 "$signature"; fi
}
server_pid() { case $1 in egw) echo "$egw_pid" ;; egw-otlp) echo "$otlp_pid" ;; *) echo "${hook_pid[$1]}" ;; esac; }
count_of() { if [[ $1 == egw-otlp ]]; then log_count "$otlp_api" "$work/data-otlp"; else log_count; fi; }

# Proves each server accepts the signed body and refuses a wrong signature, before measuring anything.
check_server() { # check_server SYSTEM
  local s=$1 good bad args=() h
  mapfile -t h < <(auth_of "$s")
  for ((i = 0; i < ${#h[@]}; i += 2)); do args+=(-H "${h[i]}: ${h[i+1]}"); done
  local common=(-s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -H 'X-GitHub-Event: push'
    --data-binary "@$body")
  good=$(curl "${common[@]}" "${args[@]}" -H "X-GitHub-Delivery: 00000000-check-$s-good" "${url[$s]}")
  local wrong=(-H "X-Hub-Signature-256: sha256=$(printf '%064d' 0)")
  [[ $s == egw* && $source_type == webhook ]] && wrong=(-H "Authorization: Bearer not-the-secret")
  bad=$(curl "${common[@]}" "${wrong[@]}" -H "X-GitHub-Delivery: 00000000-check-$s-bad" "${url[$s]}")
  [[ $good == 2* ]] || die "$s refused the correctly signed push (HTTP $good); see $work/*.log"
  [[ $bad != 2* ]] || die "$s accepted a push with a wrong signature (HTTP $bad)"
  log "$s: signed push answered $good, wrong signature $bad"
}

# --- measurement helpers ------------------------------------------------------------------------------
proc_ticks() { # utime + stime + children's (webhook's commands are reaped, so counted here)
  awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# run_wrk RUN SYSTEM CONNECTIONS SECONDS RATE: one wrk run; its output and counters go to $work/RUN.*
run_wrk() {
  local run=$1 s=$2 c=$3 d=$4 rate=$5 pid h
  pid=$(server_pid "$s")
  mapfile -t h < <(auth_of "$s")
  local run_id; run_id=$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')
  [[ $s == egw* ]] && count_of "$s" >"$work/$run.before"
  read -r b0 t0 < <(busy_ticks); local p0; p0=$(proc_ticks "$pid")
  /usr/bin/time -f '%U %S' -o "$work/$run.wrktime" \
    wrk -t "$THREADS" -c "$c" -d "${d}s" --timeout 10s --latency -s "$here/signed.lua" "${url[$s]}" \
    -- "$body" "$run_id" "$rate" "$THREADS" "${h[@]}" >"$work/$run.out" 2>&1 || echo "wrk exited $?" >>"$work/$run.out"
  local p1; p1=$(proc_ticks "$pid"); read -r b1 t1 < <(busy_ticks)
  echo "$((p1 - p0)) $((b1 - b0)) $((t1 - t0))" >"$work/$run.cpu"
  if [[ $s == egw* ]]; then
    # Acknowledged means durable: the count is final the moment wrk has its answers. In-flight requests
    # wrk abandoned at the end may still land; read again after a moment so they do not look like extras.
    sleep 0.5
    count_of "$s" >"$work/$run.after"
  fi
}

# --- run ----------------------------------------------------------------------------------------------
log "egw source type '$source_type', body $body_bytes bytes, $THREADS wrk threads, ${DURATION}s per run, shapes: ${shapes[*]}; systems: ${systems[*]}"
log "scratch $work ($fs_type); load average $(cut -d' ' -f1-3 /proc/loadavg)"
for s in "${systems[@]}"; do
  case $s in
    egw) start_egw ;;
    egw-otlp) start_egw_otlp ;;
    webhook) start_webhook webhook "$hook_port" false ;;
    webhook-sync) start_webhook webhook-sync "$hook_sync_port" true ;;
  esac
  check_server "$s"
done
if (( WARMUP > 0 )); then
  for s in "${systems[@]}"; do
    log "warm-up: $s, ${WARMUP}s"
    run_wrk "warmup.$s" "$s" "$CONNS" "$WARMUP" 0
  done
fi
runs=()
for shape in "${shapes[@]}"; do
  [[ -n $shape ]] || continue
  for s in "${systems[@]}"; do
    case $shape in
      saturate) c=$CONNS; r=0 ;;
      light) c=$LIGHT; r=0 ;;
      paced) c=$PACED_CONNS; r=$RATE ;;
    esac
    wait_quiet
    if (( r > 0 )); then log "$shape: $s, $c connections, $r requests/s offered, ${DURATION}s"
    else log "$shape: $s, $c connections, ${DURATION}s"; fi
    run_wrk "$shape.$s" "$s" "$c" "$DURATION" "$r"
    runs+=("$shape.$s")
  done
done

# Crash check: SIGKILL under load, then every acknowledged event must be in the file egw left behind.
crash_rows=""
if [[ $CRASH == 1 && " ${systems[*]} " == *" egw "* ]]; then
  wait_quiet
  log "crash check: egw under $CONNS connections for ${CRASH_DURATION}s, SIGKILL after $((CRASH_DURATION / 2))s"
  before=$(log_count)
  run_id=$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')
  mapfile -t h < <(auth_of egw)
  wrk -t "$THREADS" -c "$CONNS" -d "${CRASH_DURATION}s" --timeout 10s -s "$here/signed.lua" "$egw_url" \
    -- "$body" "$run_id" 0 "$THREADS" "${h[@]}" >"$work/crash.out" 2>&1 &
  wrk_pid=$!
  sleep "$(( CRASH_DURATION / 2 ))"
  kill -KILL "$egw_pid"; wait "$egw_pid" 2>/dev/null || true
  wait "$wrk_pid" || true
  echo "$before" >"$work/crash.before"
  if [[ $BUS == 1 ]]; then
    # The bus outlives egw: its count after the restart is what JetStream kept.
    start_egw
    log_count >"$work/crash.rows"
  else
    # The log as the killed process left it (WAL included), read by SQLite itself, not by egw.
    python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM events").fetchone()[0])' \
      "$work/data/events.db" >"$work/crash.rows"
    start_egw
  fi
  log_count >"$work/crash.restarted"
  log "crash check: $(($(cat "$work/crash.rows") - before)) new rows on disk; egw reports $(cat "$work/crash.restarted") after restart"
fi

# --- report -------------------------------------------------------------------------------------------
mkdir -p "$repo/bench/results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
result_file=$repo/bench/results/webhook-$stamp.json
# The commit, read from .git without running git.
commit=unknown
if [[ -f $repo/.git/HEAD ]]; then
  head_ref=$(cat "$repo/.git/HEAD")
  if [[ $head_ref == ref:* ]]; then
    ref=${head_ref#ref: }
    commit=$(cat "$repo/.git/$ref" 2>/dev/null || awk -v r="$ref" '$2 == r { print $1 }' "$repo/.git/packed-refs" 2>/dev/null || echo unknown)
  else commit=$head_ref; fi
  commit=${commit:0:7}
fi

python3 - "$work" "$result_file" "$stamp" "$commit" "$source_type" "$fs_type" "$body_bytes" "$THREADS" "$DURATION" \
  "$CONNS" "$LIGHT" "$PACED_CONNS" "$RATE" "$TARGET_RATE" "$TARGET_P99_MS" "$CRASH" "${runs[@]}" <<'PY'
import json, os, platform, sys

(work, result_file, stamp, commit, source_type, fs_type, body_bytes, threads, duration, conns, light, paced_conns,
 rate, target_rate, target_p99, crash, *runs) = sys.argv[1:]
body_bytes, threads, duration, rate = int(body_bytes), int(threads), int(duration), int(rate)
target_rate, target_p99 = float(target_rate), float(target_p99)
hz = os.sysconf("SC_CLK_TCK")

def read(name):
    p = os.path.join(work, name)
    return open(p).read() if os.path.exists(p) else ""

def parse(run):
    m = {}
    for line in read(run + ".out").splitlines():
        if line.startswith("BENCH "):
            _, k, v = line.split(" ", 2)
            m[k] = v if k == "statuses" else float(v)
    return m

WHAT = {
    "egw": f"egw serve ({source_type} EventSource)",
    "egw-otlp": f"egw serve, tracing on (--otlp-endpoint)",
    "webhook": "webhook (adnanh), async",
    "webhook-sync": "webhook (adnanh), sync",
}
rows, problems = [], []
for run in runs:
    shape, system = run.split(".", 1)
    b = parse(run)
    if "requests" not in b:
        problems.append(f"{run}: wrk printed no results: " + read(run + ".out").strip()[-300:])
        continue
    secs = b["duration_us"] / 1e6
    cpu = read(run + ".cpu").split()
    wrk_cpu = read(run + ".wrktime").split()
    row = {
        "shape": shape, "system": system, "what": WHAT[system],
        "connections": int({"saturate": conns, "light": light, "paced": paced_conns}[shape]),
        "offered_rate": rate if shape == "paced" else None,
        "seconds": round(secs, 2),
        "requests": int(b["requests"]),
        "requests_per_s": round(b["requests"] / secs),
        "acknowledged": int(b["ok"]),
        "acknowledged_per_s": round(b["ok"] / secs),
        "non_2xx": int(b["non2xx"]),
        "statuses": b.get("statuses"),
        "socket_errors": int(b["errors_connect"] + b["errors_read"] + b["errors_write"] + b["errors_timeout"]),
        "p50_ms": round(b["latency_p50_us"] / 1000, 2),
        "p90_ms": round(b["latency_p90_us"] / 1000, 2),
        "p99_ms": round(b["latency_p99_us"] / 1000, 2),
        "p99_9_ms": round(b["latency_p99.9_us"] / 1000, 2),
        "max_ms": round(b["latency_max_us"] / 1000, 2),
    }
    if len(cpu) == 3:
        server, busy, total = (int(x) for x in cpu)
        row["server_cpu_s"] = round(server / hz, 2)
        row["machine_cpu_busy_pct"] = round(100 * busy / total, 1) if total else None
        row["server_cores"] = round(server / hz / secs, 2)
        # CPU per acknowledged event: steadier than wall time on a shared machine.
        row["server_cpu_ms_per_event"] = round(1000 * server / hz / b["ok"], 4) if b["ok"] else None
    if len(wrk_cpu) == 2:
        row["wrk_cpu_s"] = round(float(wrk_cpu[0]) + float(wrk_cpu[1]), 2)
        if len(cpu) == 3:
            # CPU the rest of the machine used meanwhile (other sessions, kernel threads): interference
            row["other_cpu_s"] = round(max(0.0, busy / hz - server / hz - row["wrk_cpu_s"]), 2)
            row["disturbed"] = row["other_cpu_s"] > 0.1 * (os.cpu_count() or 1) * secs
    if system in ("egw", "egw-otlp"):
        before, after = int(read(run + ".before") or 0), int(read(run + ".after") or 0)
        durable = after - before
        row["durable"] = durable
        row["lost"] = max(0, row["acknowledged"] - durable)
        # Requests wrk abandoned when its time was up can be stored without wrk seeing the answer.
        row["stored_unacknowledged"] = max(0, durable - row["acknowledged"])
        if row["lost"]:
            problems.append(f"{run}: egw acknowledged {row['acknowledged']} events but only {durable} are in the log")
        if row["stored_unacknowledged"] > row["connections"]:
            problems.append(f"{run}: {row['stored_unacknowledged']} more events in the log than acknowledged, above the {row['connections']} that can be in flight")
    rows.append(row)

crash_result = None
if crash == "1" and read("crash.out"):
    c = parse("crash")
    before, on_disk, restarted = int(read("crash.before")), int(read("crash.rows")), int(read("crash.restarted") or -1)
    crash_result = {"acknowledged": int(c.get("ok", 0)), "on_disk": on_disk - before, "restarted_count": restarted,
                    "on_disk_total": on_disk, "non_2xx": int(c.get("non2xx", 0)),
                    "socket_errors": int(sum(c.get(k, 0) for k in ("errors_connect", "errors_read", "errors_write", "errors_timeout")))}
    crash_result["lost"] = max(0, crash_result["acknowledged"] - crash_result["on_disk"])
    crash_result["ok"] = crash_result["lost"] == 0 and restarted == on_disk
    if crash_result["lost"]:
        problems.append(f"crash: egw acknowledged {crash_result['acknowledged']} events but {crash_result['on_disk']} are on disk after SIGKILL")
    if restarted != on_disk:
        problems.append(f"crash: {on_disk} events on disk, but egw reports {restarted} after restart")

by = {(r["shape"], r["system"]): r for r in rows}
def ratio(shape, key, other="webhook"):
    a, b = by.get((shape, "egw")), by.get((shape, other))
    return round(a[key] / b[key], 2) if a and b and b[key] else None
ratios = {shape: {"acknowledged_per_s": ratio(shape, "acknowledged_per_s"), "p99": ratio(shape, "p99_ms")}
          for shape in ("saturate", "light", "paced") if (shape, "egw") in by and (shape, "webhook") in by}
# Tracing's overhead: the traced egw over the untraced one, same shape, same run.
def traced(shape, key):
    a, b = by.get((shape, "egw-otlp")), by.get((shape, "egw"))
    return round(a[key] / b[key], 3) if a and b and a.get(key) and b.get(key) else None
tracing = {shape: {k: traced(shape, k) for k in ("acknowledged_per_s", "p50_ms", "p99_ms", "server_cpu_ms_per_event")}
           for shape in ("saturate", "light", "paced") if (shape, "egw") in by and (shape, "egw-otlp") in by}
sink = read("otlp-sink.count").split()

sat, paced = by.get(("saturate", "egw")), by.get(("paced", "egw"))
target = {"rate_min": target_rate, "p99_ms_max": target_p99}
if sat:
    target["max_durable_per_s"] = round(sat["durable"] / sat["seconds"])
if paced:
    # At the target rate: offered >= target, achieved within 2%, p99 under the limit, nothing lost.
    target["paced_achieved_per_s"] = paced["acknowledged_per_s"]
    target["paced_p99_ms"] = paced["p99_ms"]
    target["paced_disturbed"] = bool(paced.get("disturbed"))
    target["met"] = (rate >= target_rate and paced["acknowledged_per_s"] >= 0.98 * target_rate
                     and paced["p99_ms"] < target_p99 and paced["non_2xx"] == 0
                     and all(r["lost"] == 0 for r in rows if r["system"] == "egw")
                     and (crash_result is None or crash_result["ok"]))

def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()

summary = {
    "benchmark": "webhook", "timestamp": stamp, "commit": commit, "egw_source": source_type,
    "body_bytes": body_bytes, "wrk_threads": threads, "seconds_per_run": duration,
    "machine": {"cores": os.cpu_count(), "cpu": cpu_model(), "kernel": platform.release(), "data_fs": fs_type},
    "rows": rows, "ratios_egw_over_webhook": ratios,
    "ratios_traced_over_untraced": tracing, "otlp_sink": {"requests": int(sink[0]), "bytes": int(sink[1])} if len(sink) == 2 else None, "crash": crash_result, "target": target, "errors": problems,
}

def fmt(v, spec):
    return "-" if v is None else format(v, spec)
print()
print(f"webhook ingest: {body_bytes}-byte signed GitHub push, wrk {threads} threads, {duration} s per run, "
      f"{os.cpu_count()} cores ({cpu_model()}), egw data on {fs_type}, commit {commit}")
hdr = (f"{'shape':<9} {'system':<32} {'conns':>5} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'p99.9':>7} {'non-2xx':>7} "
       f"{'acked':>8} {'durable':>8} {'lost':>5} {'srv CPU':>7} {'wrk CPU':>7} {'other':>6}")
print(hdr)
print("-" * len(hdr))
for r in rows:
    shape = r["shape"] + (f"@{r['offered_rate']}" if r["offered_rate"] else "")
    print(f"{shape:<9} {r['what']:<32} {r['connections']:>5} {r['requests_per_s']:>7} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} "
          f"{r['p99_9_ms']:>7.2f} {r['non_2xx']:>7} {r['acknowledged']:>8} {fmt(r.get('durable'), 'd'):>8} "
          f"{fmt(r.get('lost'), 'd'):>5} {fmt(r.get('server_cpu_s'), '.1f'):>7} {fmt(r.get('wrk_cpu_s'), '.1f'):>7} "
          f"{fmt(r.get('other_cpu_s'), '.1f'):>6}" + ("  disturbed" if r.get("disturbed") else ""))
print(f"(srv/wrk CPU: CPU seconds of the server process, with its reaped children, and of wrk; other: CPU seconds the rest "
      f"of the machine used during the run, out of {os.cpu_count()} x {duration} available; over 10% marks the row disturbed)")
print("(webhook stores nothing: its 200 means the signature matched and the command was started (async) or has run (sync))")
for r in rows:
    if r["system"] in ("egw", "egw-otlp"):
        print(f"{r['system']} {r['shape']}: acknowledged {r['acknowledged']}, in the log {r['durable']}, lost {r['lost']} (must be 0)"
              + (f"; {r['stored_unacknowledged']} stored but unacknowledged (in flight when wrk stopped)" if r["stored_unacknowledged"] else ""))
if crash_result:
    print(f"egw crash (SIGKILL under load): acknowledged {crash_result['acknowledged']}, on disk {crash_result['on_disk']}, "
          f"lost {crash_result['lost']} (must be 0); after restart egw reports {crash_result['restarted_count']} "
          f"of {crash_result['on_disk_total']} rows on disk")
for shape, v in ratios.items():
    print(f"egw/webhook {shape}: acknowledged/s x{fmt(v['acknowledged_per_s'], '.2f')}, p99 x{fmt(v['p99'], '.2f')}")
for shape, v in tracing.items():
    print(f"egw traced/untraced {shape}: acknowledged/s x{fmt(v['acknowledged_per_s'], '.3f')}, p50 x{fmt(v['p50_ms'], '.3f')}, "
          f"p99 x{fmt(v['p99_ms'], '.3f')}, server CPU per event x{fmt(v['server_cpu_ms_per_event'], '.3f')}")
for r in rows:
    if r.get("server_cpu_ms_per_event") is not None:
        print(f"server CPU per event, {r['shape']} {r['system']}: {r['server_cpu_ms_per_event']:.4f} ms")
if len(sink) == 2:
    print(f"OTLP receiver (egw-otlp's exports): {sink[0]} requests, {sink[1]} bytes")
if "met" in target:
    print(f"target (>= {target_rate:g} durable events/s with p99 ack < {target_p99:g} ms, nothing lost): "
          f"{'met' if target['met'] else 'NOT met'} -- paced at {rate}/s: {target['paced_achieved_per_s']}/s achieved, "
          f"p99 {target['paced_p99_ms']} ms" + (f"; most egw took (saturating): {target['max_durable_per_s']}/s" if sat else "")
          + (" (the paced run was disturbed by other load on the machine: repeat it)" if target["paced_disturbed"] else ""))
for p in problems:
    print("error: " + p)
with open(result_file, "w") as f:
    json.dump(summary, f, indent=2)
    f.write("\n")
print(f"results: {result_file}")
print(json.dumps(summary, separators=(",", ":")))
sys.exit(1 if problems else 0)
PY

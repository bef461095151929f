#!/usr/bin/env bash
# Sensor pipeline benchmark, end to end: a signed GitHub push webhook -> egw's durable event log -> Sensor ->
# Workflow -> its one step running, side by side with Debian's `webhook` (adnanh/webhook) running a command
# per request, in the same run, with the same body and HMAC check.
#
#   bash bench/sensor/run.sh                          # ~7 minutes
#   BENCH_PHASES=latency BENCH_DURATION=10 bash bench/sensor/run.sh
#
# Phases, each against every system on a fresh instance (egw: new data dir) after a small untimed warm-up:
#   throughput  BENCH_N signed pushes sent as fast as the server accepts them (BENCH_CONNECTIONS keep-alive
#               connections, closed loop), then the time until the last workflow finished (egw: the newest
#               workflow finishedAt) or the last command started (webhook: its own timestamp):
#               end-to-end events/s = acknowledged / (that moment - first send).
#   latency     BENCH_RATE pushes/s on a fixed schedule for BENCH_DURATION s (bench/sensor/sender.py; wrk in Debian
#               has no -R). Per event: from the moment the sender got the 2xx to the moment the step's (webhook:
#               the command's) own `date +%s%N` ran. egw's node startedAt (taken just before egw spawns the step,
#               whole milliseconds) is shown too, and egw's other timestamps split the time by stage.
# Exactly once: every request has its own X-GitHub-Delivery (egw's event id and dedup key); each acknowledged
# delivery must have made exactly one workflow whose step ran once (egw), or run its command once (webhook).
#
# The step (egw) is `sh -c 'echo $(date +%s%N) {{workflow.name}}'`; webhook's command is a sh script appending
# `$(date +%s%N) <delivery>` to a file. Both take the timestamp the same way, as the first thing the command does.
#
# Environment:
#   BENCH_N=2000                 events of the throughput phase
#   BENCH_CONNECTIONS=16         connections of the throughput phase
#   BENCH_RATE=200               events/s offered in the latency phase
#   BENCH_DURATION=30            seconds of the latency phase
#   BENCH_PACED_CONNECTIONS=32   at most this many connections in the latency phase (opened as needed)
#   BENCH_PHASES="throughput latency"
#   BENCH_SYSTEMS="egw egw-nosandbox webhook"   egw-nosandbox: egw serve --no-sandbox (steps as plain processes,
#                                like webhook's commands; tells the sandbox's share from the engine's); egw-bus (not by
#                                default): egw serve --event-bus on a nats-server (JetStream) started per instance
#   BENCH_WARMUP=200             untimed events through each fresh instance first (JIT: with 20, egw still spends
#                                ~20% of its CPU in the tiered JIT during the measured run)
#   BENCH_TIMEOUT=900            seconds to wait for a phase's work to finish; BENCH_STALL=60 gives up earlier
#                                when nothing moved for that long (a lost event must not hang the benchmark)
#   BENCH_NICE=                  e.g. -10: run the servers (with their steps) and the sender at that nice level, so a
#                                machine shared with other work disturbs them less (same for every system; root only)
#   BENCH_QUIET=1                before each measured phase, wait (up to BENCH_QUIET_MAX=120 s) for an idle machine
#   BENCH_TMP=/dev/shm           parent of the scratch directory (egw's data dir) and where the results files go
#                                (/tmp when /dev/shm is missing; BENCH_TMP=/tmp for a disk that really syncs)
#   BENCH_SKIP_BUILD=0           1: use the existing build in BENCH_ARTIFACTS
#   BENCH_ARTIFACTS=/tmp/art-bench  dotnet --artifacts-path of the Release build
#   EGW_BIN=...                  egw binary to measure (skips the build)
#   BENCH_KEEP=0                 1: keep the scratch directory (server logs, egw data, sender outputs)
#
# Output: a table on stdout and one JSON line; the JSON goes to $BENCH_TMP/egw-bench-sensor-<timestamp>.json
# (and bench/results/sensor-<timestamp>.json), every event's timestamps to $BENCH_TMP/egw-bench-sensor-<timestamp>.csv.
# Exit status: 0 if every run completed with nothing lost or doubled (whether or not the target was met), 1 if
# not, 2 for bad settings or a failed build.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
N=${BENCH_N:-2000}
CONNS=${BENCH_CONNECTIONS:-16}
RATE=${BENCH_RATE:-200}
DURATION=${BENCH_DURATION:-30}
PACED_CONNS=${BENCH_PACED_CONNECTIONS:-32}
WARMUP=${BENCH_WARMUP:-200}
TIMEOUT=${BENCH_TIMEOUT:-900}
STALL=${BENCH_STALL:-60}
read -r -a phases <<<"${BENCH_PHASES:-throughput latency}"
read -r -a systems <<<"${BENCH_SYSTEMS:-egw egw-nosandbox webhook}"
artifacts=${BENCH_ARTIFACTS:-/tmp/art-bench}
if [[ -n ${BENCH_TMP:-} ]]; then tmp_parent=$BENCH_TMP
elif [[ -d /dev/shm && -w /dev/shm ]]; then tmp_parent=/dev/shm
else tmp_parent=/tmp; fi
SECRET=bench-webhook-secret
NS=bench

quiet_max_default=120
# shellcheck source=../machine.sh
source "$here/../machine.sh"
log() { printf '[sensor] %s\n' "$*" >&2; }
die() { echo "$*" >&2; exit 2; }

for v in N CONNS RATE DURATION PACED_CONNS TIMEOUT STALL; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer, got '${!v}'"
done
[[ $WARMUP =~ ^[0-9]+$ ]] || die "BENCH_WARMUP must be an integer, got '$WARMUP'"
prio=()
if [[ -n ${BENCH_NICE:-} ]]; then
  [[ $BENCH_NICE =~ ^-?[0-9]+$ ]] || die "BENCH_NICE must be an integer (a nice level), got '$BENCH_NICE'"
  prio=(nice -n "$BENCH_NICE")
fi
for p in "${phases[@]}"; do [[ $p =~ ^(throughput|latency)$ ]] || die "unknown phase '$p' in BENCH_PHASES"; done
for s in "${systems[@]}"; do [[ $s =~ ^(egw|egw-nosandbox|egw-bus|webhook)$ ]] || die "unknown system '$s' in BENCH_SYSTEMS"; done
for tool in webhook openssl python3 curl; do command -v "$tool" >/dev/null || die "$tool is required (apt-get install -y $tool)"; done
[[ -x /usr/bin/time ]] || die "GNU time is required (apt-get install -y time)"
[[ -d $tmp_parent && -w $tmp_parent ]] || die "BENCH_TMP=$tmp_parent is not a writable directory"

# --- build (once) -------------------------------------------------------------------------------------
egw=${EGW_BIN:-$artifacts/bin/egw/release/egw}
if [[ -z ${EGW_BIN:-} && ${BENCH_SKIP_BUILD:-0} != 1 && " ${systems[*]} " == *" egw"* ]]; then
  log "building egw (Release, --artifacts-path $artifacts)"
  out=$(cd "$repo" && dotnet build src/egw -c Release --artifacts-path "$artifacts" -nologo -v q 2>&1) || { printf '%s\n' "$out" >&2; die "egw build failed"; }
fi
[[ " ${systems[*]} " != *" egw"* || -x $egw ]] || die "egw binary not found at $egw"

# --- scratch ------------------------------------------------------------------------------------------
work=$(mktemp -d "$tmp_parent/egw-bench-sensor.XXXXXX")
server_pid=""
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [[ -n ${nats_pid:-} ]]; then kill "$nats_pid" 2>/dev/null || true; wait "$nats_pid" 2>/dev/null || true; fi
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM
# Measure a copy: others may rebuild the artifacts while this runs.
if [[ " ${systems[*]} " == *" egw"* ]]; then cp -r "$(dirname "$egw")" "$work/egw-bin" && egw=$work/egw-bin/$(basename "$egw"); fi
fs_type=$(stat -f -c %T "$work")
dev=$(findmnt -n -o SOURCE --target "$work" 2>/dev/null || true)
if [[ $fs_type == ext2/ext3 && -n $dev && -r /sys/fs/ext4/${dev##*/}/journal_task ]]; then
  fs_type=ext4
  [[ $(cat "/sys/fs/ext4/${dev##*/}/journal_task") != "<none>" ]] || fs_type="ext4 (no journal)"
fi

body=$repo/bench/webhook/push.json
body_bytes=$(stat -c %s "$body")
signature=sha256=$(openssl dgst -sha256 -hmac "$SECRET" -r "$body" | cut -d' ' -f1)
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
proc_ticks() { # utime + stime + reaped children's (the steps and commands are the servers' children)
  awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
new_run_id() { od -An -N4 -tx4 /dev/urandom | tr -d ' \n'; }

# --- egw ----------------------------------------------------------------------------------------------
# The Sensor fires an argoWorkflow submit of a one-step workflow per push; the step prints its own start time
# and its workflow's name (so its output proves which workflow's step ran).
write_egw_manifests() { # DIR EVENTS_PORT
  mkdir -p "$1"
  cat >"$1/bench.yaml" <<EOF
apiVersion: v1
kind: Secret
metadata: {name: github-webhook, namespace: $NS}
stringData: {secret: $SECRET}
---
apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata: {name: github, namespace: $NS}
spec:
  github:
    push:
      repositories:
        - owner: acme-corp
          names: [widget-service]
      events: [push]
      webhook: {port: "$2", endpoint: /push, method: POST}
      webhookSecret: {name: github-webhook, key: secret}
      contentType: json
---
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: push, namespace: $NS}
spec:
  dependencies:
    - {name: push, eventSourceName: github, eventName: push}
  triggers:
    - template:
        name: run
        argoWorkflow:
          operation: submit
          source:
            resource:
              apiVersion: argoproj.io/v1alpha1
              kind: Workflow
              metadata: {generateName: bench-}
              spec:
                entrypoint: main
                templates:
                  - name: main
                    container:
                      image: alpine
                      command: [sh, -c]
                      args: ["echo \$(date +%s%N) {{workflow.name}}"]
EOF
}

api="" url=""
start_egw() { # TAG EXTRA_ARGS...
  local tag=$1; shift
  local dir=$work/$tag api_port events_port i phase=""
  api_port=$(free_port); events_port=$(free_port)
  write_egw_manifests "$dir/manifests" "$events_port"
  "${prio[@]}" "$egw" serve --data-dir "$dir/data" --port "$api_port" --manifests "$dir/manifests" --events-address 127.0.0.1 "$@" \
    >>"$work/$tag.server.log" 2>&1 &
  server_pid=$!
  api=http://127.0.0.1:$api_port url=http://127.0.0.1:$events_port/push
  export EGW_TOKEN_FILE=$dir/data/admin.token # analyze.py authenticates its API calls with the instance's admin token
  for ((i = 0; i < 300; i++)); do
    phase=$(curl -sf -H "Authorization: Bearer $(cat "$dir/data/admin.token" 2>/dev/null)" "$api/api/v1/sensors/$NS/push" 2>/dev/null | python3 -c 'import json, sys; print((json.load(sys.stdin).get("status") or {}).get("phase", ""))' 2>/dev/null || true)
    [[ $phase == Running ]] && curl -s -o /dev/null "http://127.0.0.1:$events_port/health" && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  tail -n 20 "$work/$tag.server.log" >&2
  die "egw did not come up with a Running sensor and an open listener (sensor phase '$phase'); log: $work/$tag.server.log"
}

# --- adnanh/webhook -----------------------------------------------------------------------------------
# The same checks GitHub asks of a receiver (HMAC-SHA256 of the body, the event type); a mismatch is a 401. The
# command runs after the answer (webhook's default: the response does not wait for the command's output).
start_webhook() { # TAG
  local tag=$1 dir=$work/$1 port i
  port=$(free_port)
  mkdir -p "$dir"
  cat >"$dir/command.sh" <<EOF
#!/bin/sh
echo "\$(date +%s%N) \$1" >>$work/$tag.runs.txt
EOF
  chmod +x "$dir/command.sh"
  cat >"$dir/hooks.json" <<EOF
[{"id": "push", "execute-command": "$dir/command.sh", "http-methods": ["POST"],
  "pass-arguments-to-command": [{"source": "header", "name": "X-GitHub-Delivery"}],
  "trigger-rule-mismatch-http-response-code": 401,
  "trigger-rule": {"and": [
    {"match": {"type": "payload-hmac-sha256", "secret": "$SECRET", "parameter": {"source": "header", "name": "X-Hub-Signature-256"}}},
    {"match": {"type": "value", "value": "push", "parameter": {"source": "header", "name": "X-GitHub-Event"}}}]}}]
EOF
  "${prio[@]}" webhook -hooks "$dir/hooks.json" -ip 127.0.0.1 -port "$port" -nopanic >>"$work/$tag.server.log" 2>&1 &
  server_pid=$!
  url=http://127.0.0.1:$port/hooks/push
  for ((i = 0; i < 100; i++)); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0
    sleep 0.1
  done
  die "webhook did not come up on :$port"
}

stop_server() {
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
  if [[ -n $nats_pid ]]; then kill "$nats_pid" 2>/dev/null || true; wait "$nats_pid" 2>/dev/null || true; nats_pid=""; fi
}

# start_nats TAG: a nats-server with JetStream and its store under the instance's directory (egw-bus)
nats_pid="" nats_port=""
start_nats() {
  local dir=$work/$1 i
  command -v nats-server >/dev/null || [[ -x /usr/sbin/nats-server ]] || die "nats-server is required for egw-bus (apt-get install -y nats-server)"
  mkdir -p "$dir"; nats_port=$(free_port)
  "${prio[@]}" env PATH="$PATH:/usr/sbin" nats-server -js -a 127.0.0.1 -p "$nats_port" -sd "$dir/nats" >"$work/$1.nats.log" 2>&1 &
  nats_pid=$!
  for ((i = 0; i < 100; i++)); do grep -q "Server is ready" "$work/$1.nats.log" && return 0; sleep 0.1; done
  die "nats-server did not start: $(tail -n 5 "$work/$1.nats.log")"
}

# A wrong signature must be refused before anything is measured (the right one is proved by the warm-up).
check_refuses_bad_signature() { # SYSTEM
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' \
    -H "X-GitHub-Delivery: bad-signature-check" -H "X-Hub-Signature-256: sha256=$(printf '%064d' 0)" --data-binary "@$body" "$url")
  [[ $code != 2* ]] || die "$1 accepted a push with a wrong signature (HTTP $code)"
}

# wait_done SYSTEM TAG EXPECTED: until EXPECTED firings ran to the end (egw) or EXPECTED commands ran (webhook)
wait_done() {
  if [[ $1 == egw* ]]; then python3 "$here/analyze.py" wait-egw "$api" "$NS" "$3" "$TIMEOUT" "$STALL" "$work/$2.wait.json"
  else python3 "$here/analyze.py" wait-file "$work/$1.runs.txt" "$3" "$TIMEOUT" "$STALL" "$work/$2.wait.json"; fi
}

# measure PHASE SYSTEM: a fresh instance, a warm-up, then the phase; leaves $work/PHASE.SYSTEM.* behind
measure() {
  local phase=$1 s=$2 tag=$1.$2 run_id p0 p1 b0 t0 b1 t1 expected
  case $s in
    egw) start_egw "$tag" ;;
    egw-nosandbox) start_egw "$tag" --no-sandbox ;;
    egw-bus) start_nats "$tag"; start_egw "$tag" --event-bus "nats://127.0.0.1:$nats_port" ;;
    webhook) start_webhook "$s" ;;
  esac
  check_refuses_bad_signature "$s"
  local done_before=0
  if (( WARMUP > 0 )); then
    python3 "$here/sender.py" "$url" "$body" "$SECRET" "$(new_run_id)" "$work/$tag.warmup.csv" burst "$WARMUP" 4 2>>"$work/$tag.sender.log"
    wait_done "$s" "$tag.warmup" "$WARMUP" 2>>"$work/$tag.sender.log" || true
    grep -q '"reason": "done"' "$work/$tag.warmup.wait.json" || { tail -n 20 "$work/$tag.server.log" >&2; die "$s: the warm-up did not complete: $(cat "$work/$tag.warmup.wait.json" | head -c 300)"; }
    done_before=$WARMUP
  fi
  wait_quiet
  run_id=$(new_run_id); echo "$run_id" >"$work/$tag.runid"
  read -r b0 t0 < <(busy_ticks); p0=$(proc_ticks "$server_pid")
  if [[ $phase == throughput ]]; then
    log "$phase: $s, $N events over $CONNS connections"
    /usr/bin/time -f '%U %S' -o "$work/$tag.sendertime" \
      "${prio[@]}" python3 "$here/sender.py" "$url" "$body" "$SECRET" "$run_id" "$work/$tag.sent.csv" burst "$N" "$CONNS" 2>>"$work/$tag.sender.log"
  else
    log "$phase: $s, $RATE events/s for ${DURATION}s"
    /usr/bin/time -f '%U %S' -o "$work/$tag.sendertime" \
      "${prio[@]}" python3 "$here/sender.py" "$url" "$body" "$SECRET" "$run_id" "$work/$tag.sent.csv" paced "$RATE" "$DURATION" "$PACED_CONNS" 2>>"$work/$tag.sender.log"
  fi
  tail -n 1 "$work/$tag.sender.log" | sed 's/^/[sensor]   /' >&2
  expected=$(( done_before + $(awk -F, 'NR > 1 && $5 >= 200 && $5 < 300' "$work/$tag.sent.csv" | wc -l) ))
  wait_done "$s" "$tag" "$expected" 2> >(sed 's/^/[sensor]   /' >&2) || true
  p1=$(proc_ticks "$server_pid"); read -r b1 t1 < <(busy_ticks)
  echo "$((p1 - p0)) $((b1 - b0)) $((t1 - t0))" >"$work/$tag.cpu"
  if [[ $s == egw* ]]; then
    python3 "$here/analyze.py" collect-egw "$api" "$NS" "$run_id" "$work/$tag" 2> >(sed 's/^/[sensor]   /' >&2)
  else
    cp "$work/$s.runs.txt" "$work/$tag.runs.txt" 2>/dev/null || : >"$work/$tag.runs.txt"
    rm -f "$work/$s.runs.txt"
  fi
  stop_server
  [[ ${BENCH_KEEP:-0} == 1 ]] || rm -rf "${work:?}/$tag/data"
}

# --- run ----------------------------------------------------------------------------------------------
log "systems: ${systems[*]}; phases: ${phases[*]}; nice ${BENCH_NICE:-0}; body $body_bytes bytes; scratch $work ($fs_type); load average $(cut -d' ' -f1-3 /proc/loadavg)"
for phase in "${phases[@]}"; do
  for s in "${systems[@]}"; do measure "$phase" "$s"; done
done

# --- report -------------------------------------------------------------------------------------------
stamp=$(date -u +%Y%m%dT%H%M%SZ)
result_file=$tmp_parent/egw-bench-sensor-$stamp.json
raw_file=$tmp_parent/egw-bench-sensor-$stamp.csv
commit=unknown # read from .git without running git
if [[ -f $repo/.git/HEAD ]]; then
  head_ref=$(cat "$repo/.git/HEAD")
  if [[ $head_ref == ref:* ]]; then
    ref=${head_ref#ref: }
    commit=$(cat "$repo/.git/$ref" 2>/dev/null || awk -v r="$ref" '$2 == r { print $1 }' "$repo/.git/packed-refs" 2>/dev/null || echo unknown)
  else commit=$head_ref; fi
  commit=${commit:0:7}
fi
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
BENCH_META=$(python3 -c 'import json, sys; a = sys.argv[1:]; print(json.dumps({
  "timestamp": a[0], "commit": a[1], "cores": int(a[2]), "cpu": a[3], "fs": a[4], "body_bytes": int(a[5]),
  "n": int(a[6]), "connections": int(a[7]), "rate": int(a[8]), "duration": int(a[9]), "paced_connections": int(a[10]),
  "warmup": int(a[11]), "phases": a[12].split(), "systems": a[13].split(), "nice": int(a[14]),
  "label": {"egw": "egw serve", "egw-nosandbox": "egw serve --no-sandbox", "egw-bus": "egw serve --event-bus", "webhook": "webhook (adnanh)"}}))' \
  "$stamp" "$commit" "$(nproc)" "$cpu_model" "$fs_type" "$body_bytes" "$N" "$CONNS" "$RATE" "$DURATION" "$PACED_CONNS" \
  "$WARMUP" "${phases[*]}" "${systems[*]}" "${BENCH_NICE:-0}")
export BENCH_META
rc=0
python3 "$here/analyze.py" report "$work" "$result_file" "$raw_file" || rc=$?
mkdir -p "$repo/bench/results" && cp "$result_file" "$repo/bench/results/sensor-$stamp.json" 2>/dev/null || true
exit "$rc"

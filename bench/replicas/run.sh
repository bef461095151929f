#!/usr/bin/env bash
# Replicas benchmark (issue 14): the embedded mode (one egw, SQLite + local event log) beside egw as replicas
# sharing PostgreSQL (--store) and a NATS JetStream bus (--event-bus), with 1 and with 3 replica processes, in the
# same run. On a 2-core machine the question is correctness at scale (nothing acknowledged lost, every event run
# once) and what the shared parts cost, not a speedup: three replicas share the same two cores.
#
#   bash bench/replicas/run.sh                            # ~3 minutes idle, ~5 on a busy machine
#   BENCH_SYSTEMS="embedded replicas-3" BENCH_DURATION=20 bash bench/replicas/run.sh
#
# Per system, on fresh state (new data dirs, a new PostgreSQL database, a new JetStream store):
#   ingest   wrk flat out (closed loop, BENCH_CONNECTIONS in all) of signed GitHub pushes to an EventSource no
#            Sensor listens to, for BENCH_DURATION s after BENCH_WARMUP s untimed. With 3 replicas one wrk per
#            replica, each with a third of the connections, started together: rates are summed, p99 ack is the
#            worst replica's. Loss check: the log's event count (the bus's, for replicas) must have grown by at
#            least the 2xx count (at most one more per connection: requests wrk abandoned at its end).
#   latency  BENCH_RATE pushes/s for BENCH_LATENCY_SECONDS to a second EventSource that a Sensor turns into a
#            one-step Workflow (bench/sensor/sender.py, spread evenly over the replicas). Per event: from the
#            sender's 2xx to the workflow's Pod node startedAt (taken just before egw spawns the step; whole
#            ms), and from the event's `received` to the same. Exactly once: every acknowledged delivery must
#            have made exactly one workflow (found by the sensor's dedup annotation) whose step Succeeded.
#
# Environment:
#   BENCH_SYSTEMS="embedded replicas-1 replicas-3"
#   BENCH_DURATION=8             seconds of the measured ingest run
#   BENCH_WARMUP=3               seconds of untimed ingest load first (JIT, connection pools)
#   BENCH_CONNECTIONS=48         wrk connections in all (split over the replicas; a multiple of 3 keeps it even)
#   BENCH_THREADS=1              wrk threads per wrk (3 replicas: 3 wrk processes)
#   BENCH_RATE=20                events/s of the latency phase (modest: the sandboxed step, not ingest, is the
#                                limit on 2 cores, see bench/sensor)
#   BENCH_LATENCY_SECONDS=20     seconds of the latency phase
#   BENCH_LATENCY_WARMUP=5       seconds of untimed latency events first (waited on like the measured ones)
#   BENCH_TIMEOUT=120            seconds to wait for the latency phase's workflows to have started
#   BENCH_NICE=                  e.g. -10: servers, PostgreSQL, nats-server and load generators at that nice level
#   BENCH_QUIET=1                wait (up to BENCH_QUIET_MAX=20 s) for an idle machine before each measured run
#   BENCH_TMP=/dev/shm           parent of the scratch directory (data dirs, PostgreSQL cluster, JetStream store);
#                                BENCH_TMP=/tmp for a disk that really syncs
#   BENCH_SKIP_BUILD=0, BENCH_ARTIFACTS=/tmp/art-bench, EGW_BIN=...   as in bench/webhook
#   BENCH_KEEP=0                 1: keep the scratch directory
#
# Output: a table, the ratios to embedded, one JSON line (also bench/results/replicas-<timestamp>.json).
# Exit status: 0 if every system ran with nothing lost or doubled, 1 if not, 2 for bad settings or a failed build.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
DURATION=${BENCH_DURATION:-8}
WARMUP=${BENCH_WARMUP:-3}
CONNS=${BENCH_CONNECTIONS:-48}
THREADS=${BENCH_THREADS:-1}
RATE=${BENCH_RATE:-20}
LAT_SECONDS=${BENCH_LATENCY_SECONDS:-20}
LAT_WARMUP=${BENCH_LATENCY_WARMUP:-5}
TIMEOUT=${BENCH_TIMEOUT:-120}
read -r -a systems <<<"${BENCH_SYSTEMS:-embedded replicas-1 replicas-3}"
artifacts=${BENCH_ARTIFACTS:-/tmp/art-bench}
tmp_parent=${BENCH_TMP:-/dev/shm}
[[ -d $tmp_parent && -w $tmp_parent ]] || tmp_parent=/tmp
SECRET=bench-webhook-secret
NS=bench

quiet_max_default=20 # three waits per system: keeps the default run near 5 minutes on a busy machine
# shellcheck source=../machine.sh
source "$here/../machine.sh"
log() { printf '[replicas] %s\n' "$*" >&2; }
die() { echo "$*" >&2; exit 2; }

for v in DURATION CONNS THREADS RATE LAT_SECONDS TIMEOUT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer, got '${!v}'"
done
[[ $WARMUP =~ ^[0-9]+$ && $LAT_WARMUP =~ ^[0-9]+$ ]] || die "BENCH_WARMUP and BENCH_LATENCY_WARMUP must be integers"
for s in "${systems[@]}"; do [[ $s =~ ^(embedded|replicas-[1-9])$ ]] || die "unknown system '$s' in BENCH_SYSTEMS (embedded, replicas-N)"; done
prio=()
if [[ -n ${BENCH_NICE:-} ]]; then
  [[ $BENCH_NICE =~ ^-?[0-9]+$ ]] || die "BENCH_NICE must be an integer (a nice level), got '$BENCH_NICE'"
  prio=(nice -n "$BENCH_NICE")
fi
export PATH=$PATH:/usr/sbin
for tool in wrk openssl python3 curl nats-server setpriv; do command -v "$tool" >/dev/null || die "$tool is required (apt-get install -y $tool)"; done
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -x $PG_BIN/postgres ]] || die "PostgreSQL is required (apt-get install -y postgresql)"
id postgres >/dev/null 2>&1 || die "the postgres user is missing (apt-get install -y postgresql creates it)"

# --- build (once) -------------------------------------------------------------------------------------
egw=${EGW_BIN:-$artifacts/bin/egw/release/egw}
if [[ -z ${EGW_BIN:-} && ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
  log "building egw (Release, --artifacts-path $artifacts)"
  out=$(cd "$repo" && dotnet build src/egw -c Release --artifacts-path "$artifacts" -nologo -v q 2>&1) || { printf '%s\n' "$out" >&2; die "egw build failed"; }
fi
[[ -x $egw ]] || die "egw binary not found at $egw"

# --- scratch ------------------------------------------------------------------------------------------
work=$(mktemp -d "$tmp_parent/egw-bench-replicas.XXXXXX")
chmod 755 "$work"
pids=() egw_pids=() pg_pid="" nats_pid=""
stop_all() { # stops this script's servers (egw first: they hold PostgreSQL connections and leases)
  local p
  for p in "${egw_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${egw_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  egw_pids=() pids=() nats_pid=""
}
cleanup() {
  stop_all
  for p in $pg_pid ${s3_pid:-}; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM
# Measure a copy: others may rebuild the artifacts while this runs.
cp -r "$(dirname "$egw")" "$work/egw-bin" && egw=$work/egw-bin/$(basename "$egw")
fs_type=$(stat -f -c %T "$work")

body=$repo/bench/webhook/push.json
signature=sha256=$(openssl dgst -sha256 -hmac "$SECRET" -r "$body" | cut -d' ' -f1)
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
new_run_id() { od -An -N4 -tx4 /dev/urandom | tr -d ' \n'; }
token_of() { cat "$work/$1/r1/admin.token" 2>/dev/null; }

# --- PostgreSQL (one cluster for the run; a fresh database per system), as deploy/compose/replicas.sh ------------
pg_port=$(free_port)
start_pg() {
  mkdir -p "$work/pg" && chown postgres "$work/pg"
  setpriv --reuid=postgres --regid=postgres --init-groups "$PG_BIN/initdb" -D "$work/pg" -U egw --auth=trust >"$work/pg-init.log" 2>&1 \
    || die "initdb failed: $(tail -n 5 "$work/pg-init.log")"
  # fsync stays on (the default): an acknowledged write must survive a crash, the thing being measured.
  "${prio[@]}" setpriv --reuid=postgres --regid=postgres --init-groups "$PG_BIN/postgres" -D "$work/pg" -p "$pg_port" -k "$work/pg" \
    -c listen_addresses=127.0.0.1 -c max_connections=300 >"$work/pg.log" 2>&1 &
  pg_pid=$!
  local i
  for ((i = 0; i < 150; i++)); do "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$pg_port" >/dev/null 2>&1 && return 0; sleep 0.2; done
  die "PostgreSQL did not start: $(tail -n 5 "$work/pg.log")"
}

# --- S3 (s3rver): replicas refuse the local artifact repository; the bench's steps write no artifacts ------------
s3_port="" s3_pid=""
start_s3() {
  local script=$repo/tests/tools/node_modules/s3rver/bin/s3rver.js i
  [[ -f $script ]] || die "$script is missing: run npm ci --prefix tests/tools"
  s3_port=$(free_port); mkdir -p "$work/s3"
  node "$script" --directory "$work/s3" --address 127.0.0.1 --port "$s3_port" --silent --configure-bucket egw-artifacts >"$work/s3.log" 2>&1 &
  s3_pid=$!
  for ((i = 0; i < 150; i++)); do curl -s -o /dev/null "http://127.0.0.1:$s3_port/" && break; sleep 0.2; done
  cat >"$work/repository.yaml" <<YAML
s3: {endpoint: "127.0.0.1:$s3_port", bucket: egw-artifacts, insecure: true}
YAML
}

# --- manifests: an ingest source nothing listens to, and a push source a Sensor turns into one-step workflows ------
write_manifests() { # DIR INGEST_PORT PUSH_PORT
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
    ingest:
      repositories: [{owner: acme-corp, names: [widget-service]}]
      events: [push]
      webhook: {port: "$2", endpoint: /push, method: POST}
      webhookSecret: {name: github-webhook, key: secret}
      contentType: json
    push:
      repositories: [{owner: acme-corp, names: [widget-service]}]
      events: [push]
      webhook: {port: "$3", endpoint: /push, method: POST}
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
                    container: {image: alpine, command: [sh, -c], args: ["echo started"]}
EOF
}

# start_system SYSTEM: its processes; sets apis[], ingest_urls[], push_urls[], server_pids
apis=() ingest_urls=() push_urls=()
start_system() {
  local s=$1 n=1 dir=$work/$1 ingest_port push_port i ok extra=()
  [[ $s == replicas-* ]] && n=${s#replicas-}
  ingest_port=$(free_port); push_port=$(free_port)
  write_manifests "$dir/manifests" "$ingest_port" "$push_port"
  apis=() ingest_urls=() push_urls=()
  if [[ $s == replicas-* ]]; then
    local db=egw_${s//-/_}
    "$PG_BIN/psql" -h 127.0.0.1 -p "$pg_port" -U egw -d postgres -qc "CREATE DATABASE $db" >/dev/null
    mkdir -p "$dir/nats"
    local nats_port; nats_port=$(free_port)
    "${prio[@]}" nats-server -js -a 127.0.0.1 -p "$nats_port" -sd "$dir/nats" >"$dir/nats.log" 2>&1 &
    nats_pid=$!; pids+=("$nats_pid")
    for ((i = 0; i < 100; i++)); do grep -qs "Server is ready" "$dir/nats.log" && break; sleep 0.1; done
    grep -q "Server is ready" "$dir/nats.log" || die "nats-server did not start: $(tail -n 5 "$dir/nats.log")"
    extra=(--store "postgres://egw@127.0.0.1:$pg_port/$db" --event-bus "nats://127.0.0.1:$nats_port" --artifact-repository "$work/repository.yaml")
  fi
  for ((i = 1; i <= n; i++)); do
    local api_port; api_port=$(free_port)
    # Each replica on its own loopback address with the same listener ports, as pods on their own IPs.
    "${prio[@]}" "$egw" serve --data-dir "$dir/r$i" --port "$api_port" --manifests "$dir/manifests" --events-address "127.0.0.$i" \
      ${extra[@]+"${extra[@]}"} $([[ $s == replicas-* ]] && echo "--replica-id r$i") >"$dir/r$i.log" 2>&1 &
    egw_pids+=("$!")
    apis+=("http://127.0.0.1:$api_port")
    ingest_urls+=("http://127.0.0.$i:$ingest_port/push") push_urls+=("http://127.0.0.$i:$push_port/push")
  done
  for ((i = 0; i < n; i++)); do
    ok=0
    for ((t = 0; t < 600; t++)); do
      if curl -sf -o /dev/null "${ingest_urls[i]%/push}/health" && curl -sf -o /dev/null "${push_urls[i]%/push}/health"; then ok=1; break; fi
      kill -0 "${egw_pids[i]}" 2>/dev/null || break
      sleep 0.1
    done
    (( ok )) || { tail -n 20 "$dir/r$((i + 1)).log" >&2; die "$s: replica r$((i + 1))'s listeners did not come up; log $dir/r$((i + 1)).log"; }
  done
  log "$s: $n egw process(es) up ($( ((n > 1)) && echo "APIs ${apis[*]}" || echo "API ${apis[0]}"))"
}

log_count() { # SYSTEM: events in the system's log (the bus's stream for replicas), read through replica r1
  curl -sf -H "Authorization: Bearer $(token_of "$1")" "${apis[0]}/api/v1/eventlog" | python3 -c 'import json, sys; print(json.load(sys.stdin)["count"])'
}
ticks_of() { # PID...: CPU ticks (user + system, with reaped children: egw's steps) of those processes
  local p t=0 x
  for p in "$@"; do x=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0); t=$((t + x)); done
  echo "$t"
}
pg_procs() { [[ -z $pg_pid ]] || { echo "$pg_pid"; pgrep -P "$pg_pid" 2>/dev/null || true; }; } # this run's postmaster and backends only
# cpu_split: "EGW POSTGRES NATS" ticks. PostgreSQL's backends come and go; a backend that ended meanwhile is not
# counted (egw keeps a pool, so few do).
cpu_split() { echo "$(ticks_of "${egw_pids[@]}") $(ticks_of $(pg_procs)) $(ticks_of $nats_pid)"; }

# run_ingest SYSTEM TAG SECONDS: one wrk per replica at once, CONNS split evenly
run_ingest() {
  local s=$1 tag=$2 d=$3 n=${#ingest_urls[@]} i c wpids=()
  c=$(( CONNS / n )); (( c >= THREADS )) || c=$THREADS
  local out=$work/$s/$tag; mkdir -p "$out"
  log_count "$s" >"$out/before"
  read -r b0 t0 < <(busy_ticks); local e0 g0 n0; read -r e0 g0 n0 < <(cpu_split)
  for ((i = 0; i < n; i++)); do
    "${prio[@]}" wrk -t "$THREADS" -c "$c" -d "${d}s" --timeout 10s --latency -s "$repo/bench/webhook/signed.lua" "${ingest_urls[i]}" \
      -- "$body" "$(new_run_id)" 0 "$THREADS" X-Hub-Signature-256 "$signature" >"$out/wrk.$i" 2>&1 &
    wpids+=("$!")
  done
  for p in "${wpids[@]}"; do wait "$p" || echo "wrk exited $?" >>"$out/errors"; done
  local e1 g1 n1; read -r e1 g1 n1 < <(cpu_split); read -r b1 t1 < <(busy_ticks)
  echo "$((e1 - e0)) $((g1 - g0)) $((n1 - n0)) $((b1 - b0)) $((t1 - t0)) $c" >"$out/cpu"
  sleep 1 # requests wrk abandoned at its end may still land: count them too, so they do not look like extras
  log_count "$s" >"$out/after"
}

# run_latency SYSTEM TAG SECONDS: BENCH_RATE/s for SECONDS spread over the replicas, then the workflows
run_latency() {
  local s=$1 n=${#push_urls[@]} i run_id out=$work/$s/$2 spids=() secs=$3
  mkdir -p "$out"; run_id=$(new_run_id); echo "$run_id" >"$out/run_id"
  local per; per=$(python3 -c "print($RATE / $n)")
  read -r b0 t0 < <(busy_ticks); local e0 g0 n0; read -r e0 g0 n0 < <(cpu_split)
  for ((i = 0; i < n; i++)); do
    "${prio[@]}" python3 "$repo/bench/sensor/sender.py" "${push_urls[i]}" "$body" "$SECRET" "$run_id$i" "$out/sent.$i.csv" paced "$per" "$secs" 16 \
      2>"$out/sender.$i.log" &
    spids+=("$!")
  done
  for p in "${spids[@]}"; do wait "$p" || echo "sender exited $?" >>"$out/errors"; done
  # Every acknowledged delivery's workflow must have started its step; wait on that, not on a time.
  python3 - "${apis[0]}" "$work/$s/r1/admin.token" "$NS" "$run_id" "$out" "$TIMEOUT" <<'PY'
import glob, http.client, json, sys, time, urllib.parse
api, token_file, ns, run_id, out, timeout = sys.argv[1:7]
u = urllib.parse.urlparse(api)
acked = set()
for f in glob.glob(out + "/sent.*.csv"):
    for line in list(open(f))[1:]:
        d, due, sent, ack, status, *_ = line.rstrip("\n").split(",")
        if 200 <= int(status) < 300:
            acked.add(d)
deadline, last = time.time() + float(timeout), None
while True:
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    c.request("GET", f"/api/v1/workflows/{ns}", headers={"Authorization": "Bearer " + open(token_file).read().strip()})
    r = c.getresponse(); body = r.read()
    items = json.loads(body).get("items") or [] if r.status == 200 else []
    done = set()
    for w in items:
        key = ((w.get("metadata") or {}).get("annotations") or {}).get("eventgateway.io/dedup-key", "")
        pods = [n for n in ((w.get("status") or {}).get("nodes") or {}).values() if n.get("type") == "Pod" and n.get("startedAt")]
        if key.startswith(run_id) and pods and (w.get("status") or {}).get("phase") in ("Succeeded", "Failed", "Error"):
            done.add(key)
    if acked <= done or time.time() > deadline:
        open(out + "/workflows.json", "wb").write(body)
        print(f"{len(done & acked)} of {len(acked)} acknowledged deliveries have a finished workflow", file=sys.stderr)
        break
    time.sleep(0.5)
PY
  local e1 g1 n1; read -r e1 g1 n1 < <(cpu_split); read -r b1 t1 < <(busy_ticks)
  echo "$((e1 - e0)) $((g1 - g0)) $((n1 - n0)) $((b1 - b0)) $((t1 - t0)) 0" >"$out/cpu"
  curl -sf -H "Authorization: Bearer $(token_of "$s")" "${apis[0]}/api/v1/events?namespace=$NS&limit=10000" >"$out/events.json" || echo '{}' >"$out/events.json"
}

# --- run ----------------------------------------------------------------------------------------------
log "systems: ${systems[*]}; ingest ${DURATION}s at $CONNS connections; latency ${RATE}/s for ${LAT_SECONDS}s; scratch $work ($fs_type)"
log "load average $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ " ${systems[*]} " == *" replicas-"* ]]; then start_pg; start_s3; fi
ran=()
for s in "${systems[@]}"; do
  wait_quiet
  start_system "$s"
  if (( WARMUP > 0 )); then run_ingest "$s" warmup "$WARMUP"; fi
  # Latency events untimed too: the sensor, the controller and the sandbox warm up, and with replicas the
  # workflow shards' leases settle (a replica that joined later is handed its share).
  if (( LAT_WARMUP > 0 )); then run_latency "$s" latency-warmup "$LAT_WARMUP"; fi
  wait_quiet
  log "$s: ingest, ${DURATION}s flat out"
  run_ingest "$s" ingest "$DURATION"
  wait_quiet
  log "$s: latency, ${RATE}/s for ${LAT_SECONDS}s"
  run_latency "$s" latency "$LAT_SECONDS"
  ran+=("$s")
  stop_all
done

# --- report -------------------------------------------------------------------------------------------
mkdir -p "$repo/bench/results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
python3 - "$work" "$repo/bench/results/replicas-$stamp.json" "$stamp" "$commit" "$fs_type" "$DURATION" "$CONNS" "$RATE" "$LAT_SECONDS" "${ran[@]}" <<'PY'
import datetime as dt, glob, json, os, platform, re, sys
work, result_file, stamp, commit, fs_type, duration, conns, rate, lat_seconds, *systems = sys.argv[1:]
hz = os.sysconf("SC_CLK_TCK")
problems = []

def ts_ns(text):
    """RFC 3339 to Unix ns (egw writes whole milliseconds)."""
    if not text:
        return None
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    m = re.search(r"\.(\d+)", text)
    frac = int((m.group(1) + "000000000")[:9]) if m else 0
    return int(t.replace(microsecond=0).timestamp()) * 1_000_000_000 + frac

def pct(v, p):
    if not v:
        return None
    v = sorted(v)
    return round(v[min(len(v) - 1, max(0, int(round(p / 100 * len(v) + 0.5)) - 1))], 2)

def wrk(path):
    m = {}
    for line in open(path):
        if line.startswith("BENCH "):
            _, k, val = line.split(" ", 2)
            m[k] = val.strip() if k == "statuses" else float(val)
    return m

def cpu(path, events):
    egw, pg, bus, busy, total, per_conn = (int(x) for x in open(path).read().split())
    per = lambda t: round(1000 * t / hz / events, 3) if events else None
    return {"egw": per(egw), "postgres": per(pg), "nats": per(bus), "all": per(egw + pg + bus),
            "machine_busy_pct": round(100 * busy / total, 1) if total else None}, per_conn

rows = []
for s in systems:
    d = os.path.join(work, s)
    row = {"system": s, "processes": 1 if s == "embedded" else int(s.split("-")[1])}
    # ingest
    parts = [wrk(f) for f in sorted(glob.glob(d + "/ingest/wrk.*"))]
    if not parts or any("ok" not in p for p in parts):
        problems.append(f"{s}: a wrk printed no results")
    else:
        secs = max(p["duration_us"] for p in parts) / 1e6
        ok = int(sum(p["ok"] for p in parts))
        before, after = int(open(d + "/ingest/before").read()), int(open(d + "/ingest/after").read())
        c, per_conn = cpu(d + "/ingest/cpu", ok)
        row.update({
            "ingest_acknowledged": ok, "ingest_non_2xx": int(sum(p["non2xx"] for p in parts)),
            "ingest_socket_errors": int(sum(p[k] for p in parts for k in ("errors_connect", "errors_read", "errors_write", "errors_timeout"))),
            "ingest_per_s": round(ok / secs), "ingest_per_s_by_replica": [round(p["ok"] / (p["duration_us"] / 1e6)) for p in parts],
            "ack_p50_ms": round(max(p["latency_p50_us"] for p in parts) / 1000, 2),
            "ack_p99_ms": round(max(p["latency_p99_us"] for p in parts) / 1000, 2),
            "ack_p99_ms_by_replica": [round(p["latency_p99_us"] / 1000, 2) for p in parts],
            "connections_per_replica": per_conn, "durable": after - before,
            "lost": max(0, ok - (after - before)), "ingest_cpu_ms_per_event": c,
        })
        if row["lost"]:
            problems.append(f"{s}: {ok} events acknowledged, but the log grew by only {after - before}")
        if (after - before) - ok > row["processes"] * per_conn:
            problems.append(f"{s}: the log grew by {after - before}, more than the {ok} acknowledged plus the requests in flight")
    # latency: per acknowledged delivery, its workflow(s) by the sensor's dedup annotation
    sent = {}
    for f in glob.glob(d + "/latency/sent.*.csv"):
        for line in list(open(f))[1:]:
            dl, due, snt, ack, status, *_ = line.rstrip("\n").split(",")
            if 200 <= int(status) < 300:
                sent[dl] = int(ack)
    wf = json.load(open(d + "/latency/workflows.json")) if os.path.exists(d + "/latency/workflows.json") else {}
    try:
        events = {e["id"]: ts_ns(e.get("received")) for e in (json.load(open(d + "/latency/events.json")).get("items") or [])}
    except (ValueError, KeyError, OSError):
        events = {}
    run_id = open(d + "/latency/run_id").read().strip()
    by = {}
    for w in wf.get("items") or []:
        key = ((w.get("metadata") or {}).get("annotations") or {}).get("eventgateway.io/dedup-key", "")
        if key.startswith(run_id):
            by.setdefault(key, []).append(w)
    st_ = {k: [] for k in ("ack_to_step", "received_to_step", "received_to_created", "created_to_step")}
    failed = 0
    for dl, ack in sent.items():
        ws = by.get(dl) or []
        if len(ws) != 1:
            continue
        st = ws[0].get("status") or {}
        if st.get("phase") != "Succeeded":
            failed += 1
        pods = [n for n in (st.get("nodes") or {}).values() if n.get("type") == "Pod" and n.get("startedAt")]
        if not pods:
            continue
        start = min(ts_ns(n["startedAt"]) for n in pods)
        created = ts_ns((ws[0].get("metadata") or {}).get("creationTimestamp"))
        st_["ack_to_step"].append((start - ack) / 1e6)
        if created:
            st_["created_to_step"].append((start - created) / 1e6)
        if events.get(dl):
            st_["received_to_step"].append((start - events[dl]) / 1e6)
            if created:
                st_["received_to_created"].append((created - events[dl]) / 1e6)
    missing = [dl for dl in sent if dl not in by]
    doubled = [dl for dl, ws in by.items() if len(ws) > 1]
    c, _ = cpu(d + "/latency/cpu", len(sent))
    row.update({
        "latency_acknowledged": len(sent), "latency_workflows": sum(len(w) for w in by.values()),
        "latency_missing": len(missing), "latency_doubled": len(doubled), "latency_not_succeeded": failed,
        **{f"{k}_p{p}_ms": pct(v, p) for k, v in st_.items() for p in (50, 99)},
        "latency_cpu_ms_per_event": c,
    })
    if missing or doubled or failed:
        problems.append(f"{s}: latency phase: {len(missing)} acknowledged deliveries without a workflow, {len(doubled)} with more than one, {failed} not Succeeded")
    rows.append(row)

# Ratios to embedded. The step latency's ratio is taken from the event's `received` (egw's clock, as the node's
# startedAt): from the sender's 2xx it can be negative embedded (the sensor is woken by the append, before the 2xx
# reaches the sender), and a ratio of that means nothing.
base = next((r for r in rows if r["system"] == "embedded"), None)
ratios = {}
def q(r, k, sub=None):
    a, b = (r.get(k) or {}).get(sub) if sub else r.get(k), (base.get(k) or {}).get(sub) if sub else base.get(k)
    return round(a / b, 2) if a is not None and b and b > 0 else None
for r in rows:
    if base and r is not base:
        ratios[r["system"]] = {"ingest_per_s": q(r, "ingest_per_s"), "ack_p99_ms": q(r, "ack_p99_ms"),
                               "received_to_step_p50_ms": q(r, "received_to_step_p50_ms"), "received_to_step_p99_ms": q(r, "received_to_step_p99_ms"),
                               "ingest_cpu_ms_per_event": q(r, "ingest_cpu_ms_per_event", "all"),
                               "latency_cpu_ms_per_event": q(r, "latency_cpu_ms_per_event", "all")}

def f(v, spec=".1f"):
    return "-" if v is None else format(v, spec)
cpu_name = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
print(f"\nreplicas: {os.cpu_count()} cores ({cpu_name}), data on {fs_type}, commit {commit}, load average now {' '.join(open('/proc/loadavg').read().split()[:3])}")
print(f"\ndurable ingest: wrk flat out for {duration} s, {conns} connections in all (split over the replicas)")
hdr = f"{'system':<11} {'events/s':>8} {'ack p50':>7} {'ack p99':>7} {'acked':>7} {'durable':>7} {'lost':>4} {'CPU ms/event: egw':>17} {'PG':>6} {'nats':>6} {'busy%':>5}"
print(hdr); print("-" * len(hdr))
for r in rows:
    c = r.get("ingest_cpu_ms_per_event") or {}
    print(f"{r['system']:<11} {f(r.get('ingest_per_s'), 'd'):>8} {f(r.get('ack_p50_ms'), '.2f'):>7} {f(r.get('ack_p99_ms'), '.2f'):>7} "
          f"{f(r.get('ingest_acknowledged'), 'd'):>7} {f(r.get('durable'), 'd'):>7} {f(r.get('lost'), 'd'):>4} {f(c.get('egw'), '.3f'):>17} "
          f"{f(c.get('postgres'), '.3f'):>6} {f(c.get('nats'), '.3f'):>6} {f(c.get('machine_busy_pct')):>5}")
    if r["processes"] > 1 and r.get("ingest_per_s_by_replica"):
        print(f"{'':<11} by replica: {r['ingest_per_s_by_replica']} events/s, ack p99 {r['ack_p99_ms_by_replica']} ms")
print("(events/s: 2xx per second, summed over the replicas; ack p50/p99: the worst replica's; durable: growth of the event log, "
      "the bus's stream for replicas; busy%: the whole machine's CPU, wrk included)")
print(f"\nevent -> first step: {rate} signed pushes/s for {lat_seconds} s through a Sensor to a one-step workflow (ms)")
hdr = (f"{'system':<11} {'2xx->step p50':>13} {'p99':>7} {'rcv->step p50':>13} {'p99':>7} {'rcv->created p50':>16} {'created->step p50':>17} "
       f"{'wf/acked':>9} {'CPU ms/event: egw':>17} {'PG':>6} {'nats':>6}")
print(hdr); print("-" * len(hdr))
for r in rows:
    c = r.get("latency_cpu_ms_per_event") or {}
    print(f"{r['system']:<11} {f(r['ack_to_step_p50_ms']):>13} {f(r['ack_to_step_p99_ms']):>7} {f(r['received_to_step_p50_ms']):>13} "
          f"{f(r['received_to_step_p99_ms']):>7} {f(r['received_to_created_p50_ms']):>16} {f(r['created_to_step_p50_ms']):>17} "
          f"{str(r['latency_workflows']) + '/' + str(r['latency_acknowledged']):>9} {f(c.get('egw'), '.2f'):>17} {f(c.get('postgres'), '.2f'):>6} {f(c.get('nats'), '.2f'):>6}")
print("(2xx: the sender's answer; rcv: the event's `received`; step: the workflow's Pod node startedAt, taken just before the "
      "spawn; egw's timestamps are whole ms. wf/acked: workflows made / deliveries acknowledged, must be equal, each Succeeded)")
print()
for s, v in ratios.items():
    print(f"{s} / embedded: ingest events/s x{f(v['ingest_per_s'], '.2f')}, ack p99 x{f(v['ack_p99_ms'], '.2f')}, "
          f"event -> step p50 x{f(v['received_to_step_p50_ms'], '.2f')}, p99 x{f(v['received_to_step_p99_ms'], '.2f')}, "
          f"CPU per ingested event x{f(v['ingest_cpu_ms_per_event'], '.2f')}, per event -> workflow x{f(v['latency_cpu_ms_per_event'], '.2f')}")
for p in problems:
    print("error: " + p)
if not problems:
    print("nothing acknowledged was lost, and every acknowledged latency event made exactly one workflow that Succeeded")
summary = {"benchmark": "replicas", "timestamp": stamp, "commit": commit,
           "machine": {"cores": os.cpu_count(), "cpu": cpu_name, "kernel": platform.release(), "data_fs": fs_type,
                       "loadavg": open("/proc/loadavg").read().split()[:3]},
           "settings": {"ingest_seconds": int(duration), "connections": int(conns), "latency_rate": int(rate), "latency_seconds": int(lat_seconds)},
           "rows": rows, "ratios_to_embedded": ratios, "errors": problems}
with open(result_file, "w") as fh:
    json.dump(summary, fh, indent=2); fh.write("\n")
print(f"results: {result_file}")
print(json.dumps(summary, separators=(",", ":")))
sys.exit(1 if problems else 0)
PY

#!/usr/bin/env bash
# Workflow throughput benchmark: rounds of BENCH_N one-step workflows (`true`) submitted at once through the REST
# API to one `egw serve`, every workflow holding a semaphore of BENCH_SEMAPHORE (a ConfigMap key), under the
# service-wide process cap BENCH_MAX_PROCESSES. Measures workflows/s per round, the server's RSS after each round
# and its peak (VmHWM), and the reconcile loop's cost from /metrics (wall time per pass, passes per workflow).
# No peer runs the same thing (Argo needs a cluster); the figures stand against the issue's targets:
# >= 100 workflows/s and RSS growth < 100 KB per finished workflow.
#
#   bash bench/workflows/run.sh                  # sandboxed and --no-sandbox, 1 warm-up + 3 rounds of 500 each
#   BENCH_SYSTEMS=egw BENCH_ROUNDS=1 bash bench/workflows/run.sh
#
# Environment:
#   BENCH_N=500  BENCH_ROUNDS=3  BENCH_CONNECTIONS=32  BENCH_SEMAPHORE=20  BENCH_MAX_PROCESSES=32
#   BENCH_SYSTEMS="egw egw-nosandbox"   egw-nosandbox: steps as plain processes (the sandbox's share)
#   BENCH_TMP=/tmp    parent of the scratch dir (egw's data dir)   BENCH_TIMEOUT=600 per round
#   BENCH_QUIET=1     wait for an idle machine before each system (bench/machine.sh)
#   BENCH_SKIP_BUILD=0  BENCH_ARTIFACTS=/tmp/art-bench  EGW_BIN=...  BENCH_KEEP=0
# Output: a table, one JSON line, and bench/results/workflows-<UTC timestamp>.json. Exit 1 if a round lost or
# failed a workflow or the semaphore was exceeded; 2 for bad settings or a failed build.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
N=${BENCH_N:-500}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNECTIONS:-32}
LIMIT=${BENCH_SEMAPHORE:-20}
MAXP=${BENCH_MAX_PROCESSES:-32}
TIMEOUT=${BENCH_TIMEOUT:-600}
read -r -a systems <<<"${BENCH_SYSTEMS:-egw egw-nosandbox}"
artifacts=${BENCH_ARTIFACTS:-/tmp/art-bench}
tmp_parent=${BENCH_TMP:-/tmp}
quiet_max_default=120
# shellcheck source=../machine.sh
source "$here/../machine.sh"
log() { printf '[workflows] %s\n' "$*" >&2; }
die() { echo "$*" >&2; exit 2; }
for v in N ROUNDS CONNS LIMIT MAXP TIMEOUT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer, got '${!v}'"
done

egw=${EGW_BIN:-$artifacts/bin/egw/release/egw}
if [[ -z ${EGW_BIN:-} && ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
  log "building egw (Release, --artifacts-path $artifacts)"
  out=$(cd "$repo" && dotnet build src/egw -c Release --artifacts-path "$artifacts" -nologo -v q 2>&1) || { printf '%s\n' "$out" >&2; die "egw build failed"; }
fi
[[ -x $egw ]] || die "egw binary not found at $egw"

work=$(mktemp -d "$tmp_parent/egw-bench-workflows.XXXXXX")
server_pid=""
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM
# Measure a copy: others may rebuild the artifacts while this runs.
cp -r "$(dirname "$egw")" "$work/bin"
egw="$work/bin/$(basename "$egw")"

mkdir -p "$work/manifests"
cat >"$work/manifests/semaphore.yaml" <<YAML
apiVersion: v1
kind: ConfigMap
metadata: {name: bench-semaphore, namespace: bench}
data: {limit: "$LIMIT"}
YAML

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
results=()
status=0
for system in "${systems[@]}"; do
  case $system in
    egw) extra=() ;;
    egw-nosandbox) extra=(--no-sandbox) ;;
    egw-netnone) extra=(--step-network none) ;;
    *) die "unknown system '$system' (egw, egw-netnone, egw-nosandbox)" ;;
  esac
  wait_quiet
  port=$(free_port)
  data="$work/data-$system"
  "$egw" serve --data-dir "$data" --port "$port" --max-processes "$MAXP" --manifests "$work/manifests" "${extra[@]}" \
    >"$work/serve-$system.log" 2>&1 &
  server_pid=$!
  base="http://127.0.0.1:$port"
  for _ in $(seq 300); do curl -fsS "$base/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fsS -H "Authorization: Bearer $(cat "$data/admin.token" 2>/dev/null)" "$base/api/v1/workflows/bench" >/dev/null || die "egw serve did not come up (see $work/serve-$system.log)"
  log "$system: 1 warm-up + $ROUNDS rounds of $N workflows, semaphore $LIMIT, --max-processes $MAXP"
  if json=$(EGW_TOKEN=$(cat "$data/admin.token") python3 "$here/drive.py" --base "$base" --pid "$server_pid" --n "$N" --rounds "$ROUNDS" --connections "$CONNS" --limit "$LIMIT" --timeout "$TIMEOUT"); then :; else status=1; fi
  results+=("{\"system\":\"$system\",\"result\":$json}")
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
done

all="[$(IFS=,; echo "${results[*]}")]"
python3 - "$all" "$N" <<'PY'
import json, sys
rows, n = json.loads(sys.argv[1]), int(sys.argv[2])
print(f"\n{'system':<16}{'wf/s (median)':>14}{'rounds wf/s':>22}{'peak RSS MB':>13}{'KB/wf growth':>14}{'us/pass':>9}{'passes/wf':>11}{'peak running':>14}{'CPU ms/wf':>11}{'steps':>7}  ok")
for r in rows:
    x = r["result"]
    if "error" in x:
        print(f"{r['system']:<16} {x['error']}"); continue
    m = [q for q in x["rounds"] if not q["warmup"]]
    print(f"{r['system']:<16}{x['workflows_per_s_median']:>14}{' '.join(str(q['workflows_per_s']) for q in m):>22}{x['peak_rss_kb']/1024:>13.1f}"
          f"{x['rss_growth_kb_per_workflow']:>14}{x['us_per_reconcile']:>9}{x['reconciles_per_workflow']:>11}{max(q['peak_concurrent'] for q in m):>14}{x.get('server_cpu_ms_per_wf', 0):>11}{x.get('steps_cpu_ms_per_wf', 0):>7}  {x['ok']}")
print(f"targets: >= 100 workflows/s; RSS growth < 100 KB per finished workflow; peak running <= semaphore")
PY
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$repo/bench/results"
echo "$all" | tee "$repo/bench/results/workflows-$stamp.json"
exit $status

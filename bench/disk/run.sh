#!/usr/bin/env bash
# Disk benchmark: N workflows of S steps (`echo`) submitted to `egw serve` over its REST API; reports how much
# the data directory and its pods/ grew, and the bytes each finished step left behind.
#
#   bash bench/disk/run.sh                        # 3000 two-step workflows (the GitHub CI example's shape)
#   BENCH_N=300 BENCH_STEPS=1 bash bench/disk/run.sh
#
# Environment:
#   BENCH_N=3000          workflows
#   BENCH_STEPS=2         steps per workflow (1 or more; each an `echo` container step, one after the other)
#   BENCH_P=8             concurrent submissions
#   BENCH_SERVE_ARGS=     extra `egw serve` flags, e.g. "--max-finished-workflows 1000" or "--workflow-ttl none"
#   BENCH_TIMEOUT=3600    seconds to wait for every workflow to finish
#   BENCH_SKIP_BUILD=0    1: do not build; use EGW_BIN
#   EGW_BIN=...           egw to measure (default: built here in Release into the scratch directory)
#   BENCH_TMP=...         parent of the scratch directory (default: $TMPDIR or /tmp); the data dir lives there
#   BENCH_KEEP=0          1: keep the scratch directory (data dir, serve log)
#
# Output: a table on stdout (du -sb of the data dir, pods/ and each other top-level entry, before and after;
# bytes per step), then one JSON line (also written to bench/results/disk-<timestamp>.json).
set -euo pipefail

N=${BENCH_N:-3000}
STEPS=${BENCH_STEPS:-2}
P=${BENCH_P:-8}
TIMEOUT=${BENCH_TIMEOUT:-3600}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
scratch=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/egw-disk-XXXXXX")
data="$scratch/data"
serve_pid=

cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept $scratch" >&2; else rm -rf "$scratch"; fi
}
trap cleanup EXIT

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  dotnet build -c Release -o "$scratch/egw" "$repo/src/egw" >"$scratch/build.log" 2>&1 || { tail -20 "$scratch/build.log" >&2; exit 1; }
  EGW_BIN="$scratch/egw/egw"
fi
EGW_BIN=${EGW_BIN:?set EGW_BIN with BENCH_SKIP_BUILD=1}

# The workflow: STEPS sequential echo steps, a generated name each.
body=$(python3 - "$STEPS" <<'PY'
import json, sys
n = int(sys.argv[1])
print(json.dumps({"workflow": {
    "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"generateName": "disk-"},
    "spec": {"entrypoint": "main", "templates": [
        {"name": "main", "steps": [[{"name": f"s{i}", "template": "say"}] for i in range(n)]},
        {"name": "say", "container": {"image": "busybox", "command": ["sh", "-c", "echo hello"]}}]}}}))
PY
)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# shellcheck disable=SC2086
"$EGW_BIN" serve --port "$port" --events-address 127.0.0.1 --data-dir "$data" ${BENCH_SERVE_ARGS:-} >"$scratch/serve.log" 2>&1 &
serve_pid=$!
api="http://127.0.0.1:$port/api/v1/workflows/default"
for _ in $(seq 600); do # until the API answers
  [ -f "$data/admin.token" ] && curl -sf -o /dev/null -H "Authorization: Bearer $(cat "$data/admin.token")" "$api" && break
  kill -0 "$serve_pid" 2>/dev/null || { cat "$scratch/serve.log" >&2; exit 1; }
  sleep 0.1
done
token=$(cat "$data/admin.token")

sizes() { # top-level entries of the data dir and the whole, as "name bytes" lines
  for e in "$data"/*; do [ -e "$e" ] && printf '%s %s\n' "$(basename "$e")" "$(du -sb "$e" | cut -f1)"; done
  printf '%s %s\n' TOTAL "$(du -sb "$data" | cut -f1)"
}
before=$(sizes)

start=$(date +%s)
printf '%s\n' "$body" >"$scratch/body.json"
seq "$N" | xargs -P "$P" -I{} curl -sS --fail-with-body -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  --data-binary @"$scratch/body.json" "$api" || { echo "a submission failed" >&2; exit 1; }

# Every submission is in; done when no workflow the store still holds is unfinished (the cap may delete finished ones).
phases() { # "busy live Phase=count ..."
  curl -sf --max-time 120 -H "Authorization: Bearer $token" "$api" | python3 -c '
import json, sys, collections
items = json.load(sys.stdin).get("items") or []
phases = collections.Counter((w.get("status") or {}).get("phase") or "Pending" for w in items)
busy = sum(v for k, v in phases.items() if k not in ("Succeeded", "Failed", "Error"))
print(busy, len(items), " ".join(f"{k}={v}" for k, v in sorted(phases.items())))'
}
archived() { sqlite3 "$data/archive.db" 'select count(*) from archived_workflows' 2>/dev/null || echo '?'; }
while :; do
  line=$(phases)
  [ "${line%% *}" = 0 ] && break
  [ $(( $(date +%s) - start )) -gt "$TIMEOUT" ] && { echo "timed out: $line" >&2; exit 1; }
  sleep 5
done
elapsed=$(( $(date +%s) - start ))
final=$(phases)
sleep 2 # the reaper archives and trims right after completion
after=$(sizes)

python3 - "$N" "$STEPS" "$elapsed" "${final#* }" "$(archived)" "${BENCH_SERVE_ARGS:-}" "$repo" <<PY
import json, sys, time, os
n, steps, elapsed, final, archived, args, repo = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]
parse = lambda text: {l.split()[0]: int(l.split()[1]) for l in text.strip().splitlines()}
before, after = parse("""$before"""), parse("""$after""")
total_steps = n * steps
print(f"{n} workflows x {steps} step(s) = {total_steps} steps in {elapsed}s; live: {final}; archived: {archived}; serve flags: {args or '(defaults)'}")
print(f"{'entry':<16}{'before':>14}{'after':>14}{'grew':>14}{'per step':>12}")
rows = {}
for name in sorted(set(before) | set(after), key=lambda k: (k == 'TOTAL', k)):
    b, a = before.get(name, 0), after.get(name, 0)
    rows[name] = {"before": b, "after": a, "grew": a - b, "perStep": round((a - b) / total_steps)}
    print(f"{name:<16}{b:>14,}{a:>14,}{a - b:>14,}{(a - b) / total_steps:>12,.0f}")
result = {"n": n, "steps": steps, "seconds": elapsed, "live": final, "archived": archived, "serveArgs": args, "bytes": rows}
os.makedirs(f"{repo}/bench/results", exist_ok=True)
with open(f"{repo}/bench/results/disk-{time.strftime('%Y%m%d-%H%M%S')}.json", "w") as f: json.dump(result, f)
print(json.dumps(result))
PY

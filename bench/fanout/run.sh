#!/usr/bin/env bash
# Fan-out benchmark: N steps of `true` at parallelism P, egw against `xargs -P P` running the same N
# commands on the same machine in the same run. Reports wall time, CPU time and peak RSS of each, the
# egw/xargs wall-time ratio, and checks it against the target (ratio <= 1.5, egw peak RSS < 300 MB).
#
#   bash bench/fanout/run.sh                  # N=10000, P=50
#   BENCH_N=1000 bash bench/fanout/run.sh     # quick run
#
# Environment:
#   BENCH_N=10000        steps
#   BENCH_P=50           parallelism (spec.parallelism of the workflow and xargs -P)
#   BENCH_BREAKDOWN=1    also time xargs running egw's per-step spawn chain (bwrap; setsid+sh+bwrap), so
#                        the engine's own overhead can be told apart from the sandbox's; 0 to skip
#   BENCH_WARMUP=1       one small untimed run of each system first (page cache, dotnet start-up); 0 to skip
#   BENCH_SKIP_BUILD=0   1: do not build, use the existing binary
#   EGW_BIN=...          egw binary (default: src/egw/bin/Release/net10.0/egw, built here in Release)
#   BENCH_TMP=...        parent of the scratch directory (default: $TMPDIR or /tmp); the egw data dir lives there
#   BENCH_KEEP=0         1: keep the scratch directory (egw data dir, outputs, /usr/bin/time reports)
#
# Output: a table on stdout, then one JSON line (the same object written to bench/results/fanout-<timestamp>.json).
# Exit status: 0 if every measured run completed correctly (whether or not the target was met), 1 otherwise.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
N=${BENCH_N:-10000}
P=${BENCH_P:-50}
BREAKDOWN=${BENCH_BREAKDOWN:-1}
WARMUP=${BENCH_WARMUP:-1}
egw=${EGW_BIN:-$repo/src/egw/bin/Release/net10.0/egw}
TARGET_RATIO=1.5
TARGET_RSS_MB=300

[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "BENCH_N must be a positive integer, got '$N'" >&2; exit 2; }
[[ $P =~ ^[1-9][0-9]*$ ]] || { echo "BENCH_P must be a positive integer, got '$P'" >&2; exit 2; }

log() { printf '[fanout] %s\n' "$*" >&2; }

# --- tools --------------------------------------------------------------------------------------------
if [[ ! -x /usr/bin/time ]]; then
  log "installing GNU time (for wall time and peak RSS)"
  if [[ $(id -u) -eq 0 ]]; then apt-get install -y time >/dev/null || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
  else sudo apt-get install -y time >/dev/null; fi
fi
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 2; }

# --- build (once) -------------------------------------------------------------------------------------
if [[ ${BENCH_SKIP_BUILD:-0} != 1 && -z ${EGW_BIN:-} ]]; then
  log "building egw (Release)"
  if ! build_log=$(cd "$repo" && dotnet build -c Release src/egw -nologo -v q 2>&1); then
    printf '%s\n' "$build_log" >&2
    echo "build failed" >&2
    exit 2
  fi
fi
[[ -x $egw ]] || { echo "egw binary not found at $egw" >&2; exit 2; }

# --- scratch ------------------------------------------------------------------------------------------
work=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/egw-bench-fanout.XXXXXX")
cleanup() { if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT
seq "$N" >"$work/seq.txt"

workflow=$here/fanout.yaml
egw_extra=()
if [[ $P != 50 ]]; then
  # spec.parallelism is an integer field (not templatable), so a different P gets a copy of the file.
  sed "s/^  parallelism: 50$/  parallelism: $P/" "$here/fanout.yaml" >"$work/fanout.yaml"
  grep -q "^  parallelism: $P$" "$work/fanout.yaml" || { echo "could not set parallelism in fanout.yaml" >&2; exit 2; }
  workflow=$work/fanout.yaml
  # egw's own process cap defaults to max(4, 32 x cores); make sure it is not the tighter limit.
  egw_extra=(--max-processes "$P")
fi

# Sandbox-off run, only if this egw has such an option (it does not yet: EventGatewayOptions.Sandbox is not exposed).
nosandbox_args=()
if [[ -n ${BENCH_EGW_NOSANDBOX_ARGS:-} ]]; then read -r -a nosandbox_args <<<"$BENCH_EGW_NOSANDBOX_ARGS"
elif "$egw" run --help 2>/dev/null | grep -q -- '--no-sandbox'; then nosandbox_args=(--no-sandbox)
fi

# The argv egw gives each step (src/EventGateway/Execution/Sandbox.cs + LocalProcessExecutor.cs), rebuilt
# here for the breakdown rows: every top-level directory except the private ones read-only, symlinks kept.
wrapper='d=$1; shift; "$@" </dev/null >"$d/stdout" 2>"$d/stderr"; echo $? >"$d/exitcode"'
bwrap_binds=()
if [[ $BREAKDOWN == 1 ]]; then
  if [[ -x /usr/bin/bwrap ]]; then
    for e in /*; do
      name=${e#/}
      case $name in tmp|proc|dev|sys|run|lost+found|mnt|media) continue ;; esac
      if [[ -L $e ]]; then bwrap_binds+=(--symlink "$(readlink "$e")" "$e")
      elif [[ -d $e ]]; then bwrap_binds+=(--ro-bind "$e" "$e"); fi
    done
  else
    log "no /usr/bin/bwrap: skipping the breakdown rows"
    BREAKDOWN=0
  fi
fi

# --- measurement helpers ------------------------------------------------------------------------------
# timed NAME CMD...: runs CMD under /usr/bin/time -v; stdout to $work/NAME.out, stderr to $work/NAME.err,
# report to $work/NAME.time, exit status to $work/NAME.rc.
timed() {
  local name=$1; shift
  local rc=0
  /usr/bin/time -v -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
  echo "$rc" >"$work/$name.rc"
  return 0
}

# One node directory per step for the breakdown rows (egw makes its own; made here outside the timing).
make_step_dirs() {
  local base=$1
  mkdir -p "$base"
  (cd "$base" && xargs -a "$work/seq.txt" -n 1000 printf '%s/root/tmp\n' | xargs mkdir -p)
}

run_xargs_true() { timed "$1" xargs -a "$work/seq.txt" -P "$P" -I{} true; }

run_xargs_bwrap() {
  make_step_dirs "$work/$1.d"
  timed "$1" xargs -a "$work/seq.txt" -P "$P" -I{} \
    /usr/bin/bwrap --bind "$work/$1.d/{}/root" / "${bwrap_binds[@]}" \
    --proc /proc --dev /dev --unshare-pid --unshare-ipc --unshare-uts --die-with-parent --chdir / -- true
}

run_xargs_chain() {
  make_step_dirs "$work/$1.d"
  timed "$1" xargs -a "$work/seq.txt" -P "$P" -I{} \
    /usr/bin/setsid /bin/sh -c "$wrapper" egw-step "$work/$1.d/{}" \
    /usr/bin/bwrap --bind "$work/$1.d/{}/root" / "${bwrap_binds[@]}" \
    --proc /proc --dev /dev --unshare-pid --unshare-ipc --unshare-uts --die-with-parent --chdir / -- true
}

run_egw() {
  local name=$1; shift
  local count=$1; shift
  timed "$name" "$egw" run "$workflow" -q --data-dir "$work/$name.data" -p "count=$count" -o json "${egw_extra[@]}" "$@"
  du -sk "$work/$name.data" 2>/dev/null | cut -f1 >"$work/$name.du" || true
  rm -rf "$work/$name.data"
}

# --- run ----------------------------------------------------------------------------------------------
log "N=$N P=$P on $(nproc) cores; scratch $work"
if [[ $WARMUP == 1 ]]; then
  log "warm-up (untimed)"
  head -n 100 "$work/seq.txt" | xargs -P "$P" -I{} true
  "$egw" run "$workflow" -q --data-dir "$work/warmup.data" -p "count=$(( N < 100 ? N : 100 ))" "${egw_extra[@]}" >/dev/null 2>&1 \
    || log "warning: warm-up egw run failed"
  rm -rf "$work/warmup.data"
fi

rows=(xargs)
log "xargs -P $P: $N x true"
run_xargs_true xargs
if [[ $BREAKDOWN == 1 ]]; then
  log "xargs -P $P: $N x bwrap ... true"
  run_xargs_bwrap xargs-bwrap
  log "xargs -P $P: $N x setsid sh -c <wrapper> bwrap ... true  (egw's per-step spawn chain)"
  run_xargs_chain xargs-chain
  rows+=(xargs-bwrap xargs-chain)
fi
log "egw run: $N steps"
run_egw egw "$N"
rows+=(egw)
if (( ${#nosandbox_args[@]} )); then
  log "egw run ${nosandbox_args[*]}: $N steps"
  run_egw egw-nosandbox "$N" "${nosandbox_args[@]}"
  rows+=(egw-nosandbox)
else
  log "egw run without sandbox: skipped (egw run has no option to turn the sandbox off)"
fi

# --- report -------------------------------------------------------------------------------------------
mkdir -p "$repo/bench/results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
result_file=$repo/bench/results/fanout-$stamp.json
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$repo" --no-optional-locks status --porcelain -- src 2>/dev/null | head -c1 | wc -c)

python3 - "$work" "$N" "$P" "$TARGET_RATIO" "$TARGET_RSS_MB" "$result_file" "$commit" "$dirty" "$stamp" "${rows[@]}" <<'PY'
import json, os, platform, re, sys

work, n, p, target_ratio, target_rss, result_file, commit, dirty, stamp, *rows = sys.argv[1:]
n, p, target_ratio, target_rss = int(n), int(p), float(target_ratio), float(target_rss)

LABELS = {
    "xargs": f"xargs -P {p} true",
    "xargs-bwrap": f"xargs -P {p} bwrap true",
    "xargs-chain": f"xargs -P {p} setsid sh bwrap true",
    "egw": "egw run",
    "egw-nosandbox": "egw run, no sandbox",
}

def parse_time(path):
    t = {}
    for line in open(path):
        k, _, v = line.strip().rpartition(": ")
        t[k] = v
    parts = [float(x) for x in t["Elapsed (wall clock) time (h:mm:ss or m:ss)"].split(":")]
    wall = 0.0
    for x in parts:
        wall = wall * 60 + x
    return {
        "wall_s": round(wall, 2),
        "user_s": float(t["User time (seconds)"]),
        "sys_s": float(t["System time (seconds)"]),
        "max_rss_mb": round(int(t["Maximum resident set size (kbytes)"]) / 1024, 1),
        "voluntary_ctx_switches": int(t["Voluntary context switches"]),
        "involuntary_ctx_switches": int(t["Involuntary context switches"]),
    }

def check_egw(name):
    """egw must exit 0 with N Pod nodes Succeeded."""
    rc = int(open(os.path.join(work, name + ".rc")).read())
    problems = []
    if rc != 0:
        problems.append(f"exit status {rc}")
    pods = succeeded = 0
    phase = None
    try:
        doc = json.load(open(os.path.join(work, name + ".out")))
        wfs = doc if isinstance(doc, list) else [doc]
        phase = wfs[0].get("status", {}).get("phase")
        for wf in wfs:
            for node in (wf.get("status", {}).get("nodes") or {}).values():
                if node.get("type") == "Pod":
                    pods += 1
                    succeeded += node.get("phase") == "Succeeded"
    except (ValueError, OSError) as e:
        problems.append(f"unreadable -o json output: {e}")
    if succeeded != n:
        problems.append(f"{succeeded} of {n} steps Succeeded ({pods} Pod nodes)")
    du = os.path.join(work, name + ".du")
    data_mb = round(int(open(du).read()) / 1024, 1) if os.path.exists(du) and open(du).read().strip() else None
    return rc, problems, {"phase": phase, "pods": pods, "succeeded": succeeded, "data_dir_mb": data_mb}

results, errors = [], []
for name in rows:
    r = {"system": name, "command": LABELS[name]}
    r.update(parse_time(os.path.join(work, name + ".time")))
    if name.startswith("egw"):
        rc, problems, extra = check_egw(name)
        r.update(extra)
    else:
        rc = int(open(os.path.join(work, name + ".rc")).read())
        problems = [] if rc == 0 else [f"exit status {rc}"]
    r["exit"] = rc
    r["ok"] = not problems
    if problems:
        err = open(os.path.join(work, name + ".err")).read().strip().splitlines()[-5:]
        errors.append(f"{name}: " + "; ".join(problems) + ("\n    " + "\n    ".join(err) if err else ""))
    results.append(r)

base = next(r for r in results if r["system"] == "xargs")
for r in results:
    r["ratio_vs_xargs"] = round(r["wall_s"] / base["wall_s"], 2) if base["wall_s"] > 0 else None
    r["cpu_s"] = round(r["user_s"] + r["sys_s"], 2)
    r["cpu_ms_per_step"] = round(1000 * r["cpu_s"] / n, 3)
    r["wall_ms_per_step"] = round(1000 * r["wall_s"] / n, 3)

egw = next(r for r in results if r["system"] == "egw")
ratio = egw["ratio_vs_xargs"]
target = {
    "ratio_max": target_ratio,
    "rss_mb_max": target_rss,
    "ratio_met": ratio is not None and ratio <= target_ratio,
    "rss_met": egw["max_rss_mb"] < target_rss,
}
target["met"] = target["ratio_met"] and target["rss_met"] and egw["ok"]

def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()

def mem_mb():
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        return None

summary = {
    "benchmark": "fanout",
    "timestamp": stamp,
    "n": n,
    "parallelism": p,
    "machine": {"cores": os.cpu_count(), "cpu": cpu_model(), "mem_mb": mem_mb(), "kernel": platform.release()},
    "commit": commit + ("+dirty" if dirty.strip() not in ("", "0") else ""),
    "ratio": ratio,
    "egw_wall_s": egw["wall_s"],
    "xargs_wall_s": base["wall_s"],
    "egw_max_rss_mb": egw["max_rss_mb"],
    "target": target,
    "rows": results,
    "errors": errors,
}

hdr = f"{'system':<34} {'wall s':>8} {'user s':>8} {'sys s':>8} {'peak RSS MB':>12} {'ms/step':>8} {'x xargs':>8}"
print()
print(f"fan-out of {n} x true at parallelism {p}  ({summary['machine']['cores']} cores, {summary['machine']['cpu']})")
print(hdr)
print("-" * len(hdr))
for r in results:
    flag = "" if r["ok"] else "  FAILED"
    print(f"{r['command']:<34} {r['wall_s']:>8.2f} {r['user_s']:>8.2f} {r['sys_s']:>8.2f} {r['max_rss_mb']:>12.1f} "
          f"{r['wall_ms_per_step']:>8.3f} {r['ratio_vs_xargs']:>8.2f}{flag}")
print()
print(f"egw/xargs wall-time ratio: {ratio}  (target <= {target_ratio}: {'met' if target['ratio_met'] else 'NOT met'})")
print(f"egw peak RSS: {egw['max_rss_mb']} MB  (target < {target_rss:g} MB: {'met' if target['rss_met'] else 'NOT met'})")
for e in errors:
    print("error: " + e)
os.makedirs(os.path.dirname(result_file), exist_ok=True)
with open(result_file, "w") as f:
    json.dump(summary, f, indent=2)
    f.write("\n")
print(f"results: {result_file}")
print(json.dumps(summary, separators=(",", ":")))
sys.exit(1 if errors else 0)
PY

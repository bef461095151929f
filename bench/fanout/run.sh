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
#   BENCH_P=50           parallelism (spec.parallelism of the workflow, and xargs -P)
#   BENCH_REPEAT=1       rounds; each round runs every system once, in the same order, and the table shows
#                        each system's median round (use 3 or more on a machine that is not quiet)
#   BENCH_BREAKDOWN=1    also time, to tell the engine's own overhead from the sandbox's:
#                          xargs running egw's per-step launch without egw (sh wrapper; bwrap; both),
#                          and the engine through bench/fanout/harness with the sandbox off, and with no
#                          processes at all (steps that "run" 5 ms, and steps that end at once);
#                          0 for just xargs and egw
#   BENCH_QUIET=1        before each timed run, wait (up to BENCH_QUIET_MAX=900 s) until the machine is idle
#                        (under 15% CPU busy over 2 s), since other work on the machine skews the figures;
#                        each run also records how much CPU the rest of the machine used meanwhile
#   BENCH_TIMEOUT=1800   seconds before a run is killed and counted as failed (a stuck workflow must not
#                        hang the benchmark)
#   BENCH_WARMUP=1       one small untimed run of each system first (page cache, dotnet start-up); 0 to skip
#   BENCH_SKIP_BUILD=0   1: do not build, use the existing binaries
#   EGW_BIN=...          egw binary to measure (default: src/egw/bin/Release/net10.0/egw, built here in Release)
#   BENCH_TMP=...        parent of the scratch directory (default: $TMPDIR or /tmp); the egw data dir lives there
#   BENCH_KEEP=0         1: keep the scratch directory (outputs, /usr/bin/time reports)
#
# Output: a table on stdout, then one JSON line (the object also written to bench/results/fanout-<timestamp>.json).
# Exit status: 0 if every measured run completed correctly (whether or not the target was met), 1 if not,
# 2 for bad settings or a failed build.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
N=${BENCH_N:-10000}
P=${BENCH_P:-50}
REPEAT=${BENCH_REPEAT:-1}
BREAKDOWN=${BENCH_BREAKDOWN:-1}
WARMUP=${BENCH_WARMUP:-1}
egw=${EGW_BIN:-$repo/src/egw/bin/Release/net10.0/egw}
harness=$here/harness/bin/Release/net10.0/egw-bench
TARGET_RATIO=1.5
TARGET_RSS_MB=300

for v in N P REPEAT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "BENCH_$v must be a positive integer, got '${!v}'" >&2; exit 2; }
done

quiet_max_default=900
# shellcheck source=../machine.sh
source "$(dirname "${BASH_SOURCE[0]}")/../machine.sh"
log() { printf '[fanout] %s\n' "$*" >&2; }

# --- tools --------------------------------------------------------------------------------------------
if [[ ! -x /usr/bin/time ]]; then
  log "installing GNU time (for wall time and peak RSS)"
  sudo=(); [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get install -y time >/dev/null || { "${sudo[@]}" apt-get update >/dev/null && "${sudo[@]}" apt-get install -y time >/dev/null; }
fi
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 2; }

# --- build (once) -------------------------------------------------------------------------------------
build() { # build PROJECT: Release build, output shown only on failure
  local out
  if ! out=$(cd "$repo" && dotnet build -c Release "$1" -nologo -v q 2>&1); then
    printf '%s\n' "$out" >&2
    return 1
  fi
}
if [[ ${BENCH_SKIP_BUILD:-0} != 1 && -z ${EGW_BIN:-} ]]; then
  log "building egw (Release)"
  build src/egw || { echo "egw build failed" >&2; exit 2; }
fi
[[ -x $egw ]] || { echo "egw binary not found at $egw" >&2; exit 2; }
use_harness=0
if [[ $BREAKDOWN == 1 ]]; then
  if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
    log "building bench/fanout/harness (Release)"
    build bench/fanout/harness || log "warning: harness build failed; its rows are skipped"
  fi
  [[ -x $harness ]] && use_harness=1
fi

# --- scratch ------------------------------------------------------------------------------------------
work=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/egw-bench-fanout.XXXXXX")
cleanup() {
  ip netns delete "egw-bench-$$" 2>/dev/null || true
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM
seq "$N" >"$work/seq.txt"

# Measure copies: others may rebuild src/ while this runs, and a binary must not change between rounds.
cp -r "$(dirname "$egw")" "$work/egw-bin" && egw=$work/egw-bin/$(basename "$egw")
if [[ $use_harness == 1 ]]; then cp -r "$(dirname "$harness")" "$work/harness-bin" && harness=$work/harness-bin/$(basename "$harness"); fi

# Where the steps' files go matters: egw creates ~25 inodes per sandboxed step (node directory, sandbox root,
# mount points bwrap makes in it, pod.json, pid, stdout, stderr, exitcode). On ext4 without a journal every
# inode allocation skips inodes deleted in the last minutes (ext4 recently_deleted()), so after a big run is
# deleted, creating files there is far slower for a while. Record the filesystem so results can be compared.
fs_type=$(stat -f -c %T "$work")
fs_note=""
dev=$(findmnt -n -o SOURCE --target "$work" 2>/dev/null || true)
if [[ $fs_type == ext2/ext3 && -n $dev && -r /sys/fs/ext4/${dev##*/}/journal_task ]]; then
  fs_type=ext4
  if [[ $(cat "/sys/fs/ext4/${dev##*/}/journal_task") == "<none>" ]]; then
    fs_type="ext4 (no journal)"
    fs_note="ext4 without a journal: file creation slows down after mass deletions (BENCH_TMP=/dev/shm avoids it)"
  fi
fi

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

# egw run with the sandbox off, only if this egw has such an option (EventGatewayOptions.Sandbox is not
# exposed on the command line yet; the harness row "engine, no sandbox" stands in for it meanwhile).
nosandbox_args=()
if [[ -n ${BENCH_EGW_NOSANDBOX_ARGS:-} ]]; then read -r -a nosandbox_args <<<"$BENCH_EGW_NOSANDBOX_ARGS"
elif "$egw" run --help 2>/dev/null | grep -q -- '--no-sandbox'; then nosandbox_args=(--no-sandbox)
fi

wrapper=$EGW_LEGACY_WRAPPER   # "today's command line": the wrapper and bwrap arguments before the hardened sandbox
hardened_wrapper=$(egw_wrapper)
launch=()
egw_launch launch
binds=()
hbinds=(); hetc=()
if [[ $BREAKDOWN == 1 ]]; then
  if [[ -x /usr/bin/bwrap ]]; then egw_binds binds; egw_hardened_binds hbinds; egw_hardened_etc hetc
  else log "no /usr/bin/bwrap: skipping the xargs breakdown rows"; fi
fi
# The hardened row runs its steps in one workflow network namespace, as egw does (made here with ip and pasta).
netns=egw-bench-$$
if [[ ${#hbinds[@]} -gt 0 ]]; then
  if ip netns add "$netns" && ip -n "$netns" link set lo up; then
    if command -v pasta >/dev/null; then
      env --default-signal=PIPE pasta --runas 0:0 --netns "/run/netns/$netns" --config-net --no-map-gw -t none -u none -T none -U none -q </dev/null >/dev/null 2>&1 \
        || log "warning: pasta failed; the hardened row's namespace has loopback only"
    fi
  else
    log "cannot create a network namespace: skipping the hardened row"; hbinds=()
  fi
fi

# --- measurement helpers ------------------------------------------------------------------------------

# timed RUN CMD...: runs CMD under /usr/bin/time -v; stdout to $work/RUN.out, stderr to $work/RUN.err,
# the report to $work/RUN.time, exit status to $work/RUN.rc; load average and /proc/stat busy ticks
# before and after to $work/RUN.load and $work/RUN.stat.
timed() {
  local run=$1; shift
  local rc=0
  wait_quiet
  cut -d' ' -f1 /proc/loadavg >"$work/$run.load"
  busy_ticks >"$work/$run.stat"
  /usr/bin/time -v -o "$work/$run.time" timeout -k 10 "${BENCH_TIMEOUT:-1800}" "$@" >"$work/$run.out" 2>"$work/$run.err" || rc=$?
  (( rc != 124 )) || log "  killed after ${BENCH_TIMEOUT:-1800} s: counted as failed"
  busy_ticks >>"$work/$run.stat"
  cut -d' ' -f1 /proc/loadavg >>"$work/$run.load"
  echo "$rc" >"$work/$run.rc"
}

# One fresh node directory per step (egw makes its own, and bwrap writes mount points into the root).
make_step_dirs() {
  rm -rf "$1"; mkdir -p "$1"
  (cd "$1" && xargs -a "$work/seq.txt" -n 1000 printf '%s/root/tmp\n' | xargs mkdir -p)
}

# The hardened sandbox's step directories: root handed to the step's uid, and the step's own /etc.
make_hardened_step_dirs() {
  make_step_dirs "$1"
  python3 - "$1" "$N" "$EGW_STEP_UID" "$EGW_STEP_GID" <<'PY'
import os, sys
base, n, uid, gid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
resolv = open("/etc/resolv.conf").read() if os.path.exists("/etc/resolv.conf") else ""
files = {
    "passwd": f"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nstep:x:{uid}:{gid}:step:/tmp:/bin/sh\n",
    "group": f"root:x:0:\nnogroup:x:65534:\nstep:x:{gid}:\n",
    "hosts": "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
    "hostname": "step\n",
    "nsswitch.conf": "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n",
    "resolv.conf": resolv,
}
for i in range(1, n + 1):
    step = os.path.join(base, str(i))
    os.makedirs(os.path.join(step, "etc"), exist_ok=True)
    for name, text in files.items():
        with open(os.path.join(step, "etc", name), "w") as f:
            f.write(text)
    for d in (os.path.join(step, "root"), os.path.join(step, "root", "tmp")):
        os.chown(d, uid, gid)
PY
}

run_system() { # run_system SYSTEM RUN
  local system=$1 run=$2
  case $system in
    xargs)
      timed "$run" xargs -a "$work/seq.txt" -P "$P" -I{} true ;;
    xargs-wrapper)
      make_step_dirs "$work/steps"
      timed "$run" xargs -a "$work/seq.txt" -P "$P" -I{} \
        "${launch[@]}" /bin/sh -c "$wrapper" egw-step "$work/steps/{}" true ;;
    xargs-bwrap)
      make_step_dirs "$work/steps"
      timed "$run" xargs -a "$work/seq.txt" -P "$P" -I{} \
        /usr/bin/bwrap --bind "$work/steps/{}/root" / "${binds[@]}" "${EGW_BWRAP_TAIL[@]}" true ;;
    xargs-chain)
      make_step_dirs "$work/steps"
      timed "$run" xargs -a "$work/seq.txt" -P "$P" -I{} \
        "${launch[@]}" /bin/sh -c "$wrapper" egw-step "$work/steps/{}" \
        /usr/bin/bwrap --bind "$work/steps/{}/root" / "${binds[@]}" "${EGW_BWRAP_TAIL[@]}" true ;;
    xargs-hardened)
      make_hardened_step_dirs "$work/steps"
      timed "$run" xargs -a "$work/seq.txt" -P "$P" -I{} \
        /bin/sh -c "$hardened_wrapper" egw-step "$work/steps/{}" "${EGW_LIMIT_ARGS[@]}" \
        /usr/bin/nsenter "--net=/run/netns/$netns" -- \
        /usr/bin/bwrap --bind "$work/steps/{}/root" / "${hbinds[@]}" --bind "$work/steps/{}/etc" /etc "${hetc[@]}" "${EGW_SETPRIV[@]}" true ;;
    egw)
      timed "$run" "$egw" run "$workflow" -q --data-dir "$work/data" -p "count=$N" -o json "${egw_extra[@]}" ;;
    egw-nosandbox)
      timed "$run" "$egw" run "$workflow" -q --data-dir "$work/data" -p "count=$N" -o json "${egw_extra[@]}" "${nosandbox_args[@]}" ;;
    engine-nosandbox)
      timed "$run" "$harness" "$workflow" --count "$N" --executor nosandbox --data-dir "$work/data" "${egw_extra[@]}" ;;
    engine-null)
      timed "$run" "$harness" "$workflow" --count "$N" --executor null --data-dir "$work/data" "${egw_extra[@]}" ;;
    engine-delay)
      timed "$run" "$harness" "$workflow" --count "$N" --executor delay:5 --data-dir "$work/data" "${egw_extra[@]}" ;;
  esac
  if [[ -d $work/data ]]; then du -sk "$work/data" | cut -f1 >"$work/$run.du"; fi
  rm -rf "$work/data" "$work/steps"
}

systems=(xargs)
if [[ $BREAKDOWN == 1 ]]; then systems+=(xargs-wrapper); fi
if [[ $BREAKDOWN == 1 && ${#binds[@]} -gt 0 ]]; then systems+=(xargs-bwrap xargs-chain); fi
if [[ $BREAKDOWN == 1 && ${#hbinds[@]} -gt 0 ]]; then systems+=(xargs-hardened); fi
systems+=(egw)
if (( ${#nosandbox_args[@]} )); then systems+=(egw-nosandbox); fi
if [[ $use_harness == 1 ]]; then
  # the harness stands in for `egw run --no-sandbox` when the CLI has no such option
  (( ${#nosandbox_args[@]} )) || systems+=(engine-nosandbox)
  systems+=(engine-delay engine-null)
fi

declare -A describe=(
  [xargs]="xargs -P $P: $N x true"
  [xargs-wrapper]="xargs -P $P: $N x ${launch[*]}${launch:+ }sh -c <egw's wrapper> true"
  [xargs-bwrap]="xargs -P $P: $N x bwrap <egw's sandbox> true"
  [xargs-chain]="xargs -P $P: $N x ${launch[*]}${launch:+ }sh -c <egw's wrapper> bwrap <egw's sandbox> true"
  [xargs-hardened]="xargs -P $P: $N x sh -c <egw's wrapper with limits> nsenter bwrap <hardened sandbox> setpriv true"
  [egw]="egw run: $N steps"
  [egw-nosandbox]="egw run ${nosandbox_args[*]}: $N steps"
  [engine-nosandbox]="harness, real executor with the sandbox off: $N steps"
  [engine-delay]="harness, no processes, each step 'runs' 5 ms: $N steps"
  [engine-null]="harness, null executor (no processes): $N steps"
)

# --- run ----------------------------------------------------------------------------------------------
log "N=$N P=$P repeat=$REPEAT on $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); scratch $work ($fs_type)"
[[ -z $fs_note ]] || log "note: $fs_note"
(( ${#nosandbox_args[@]} )) || log "egw run without sandbox: not available (egw run has no option to turn the sandbox off)"
if [[ $WARMUP == 1 ]]; then
  log "warm-up (untimed)"
  head -n 100 "$work/seq.txt" | xargs -P "$P" -I{} true
  "$egw" run "$workflow" -q --data-dir "$work/warmup" -p "count=$(( N < 100 ? N : 100 ))" "${egw_extra[@]}" >/dev/null 2>&1 \
    || log "warning: warm-up egw run failed"
  rm -rf "$work/warmup"
fi
for ((r = 1; r <= REPEAT; r++)); do
  for s in "${systems[@]}"; do
    log "round $r/$REPEAT: ${describe[$s]}"
    run_system "$s" "$s.$r"
  done
done

# --- report -------------------------------------------------------------------------------------------
mkdir -p "$repo/bench/results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
result_file=$repo/bench/results/fanout-$stamp.json
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$repo" --no-optional-locks status --porcelain -- src 2>/dev/null | head -c1 | wc -c)

python3 - "$work" "$N" "$P" "$REPEAT" "$TARGET_RATIO" "$TARGET_RSS_MB" "$result_file" "$commit" "$dirty" "$stamp" "$fs_type" "${launch[*]}" "${systems[@]}" <<'PY'
import json, os, platform, statistics, sys

work, n, p, repeat, target_ratio, target_rss, result_file, commit, dirty, stamp, fs_type, launch, *systems = sys.argv[1:]
launch = "setsid " if launch.strip() else ""
n, p, repeat, target_ratio, target_rss = int(n), int(p), int(repeat), float(target_ratio), float(target_rss)

LABELS = {
    "xargs": f"xargs -P {p} true",
    "xargs-wrapper": f"xargs -P {p} {launch}sh true",
    "xargs-bwrap": f"xargs -P {p} bwrap true",
    "xargs-chain": f"xargs -P {p} {launch}sh bwrap true",
    "xargs-hardened": f"xargs -P {p} sh hardened true",
    "egw": "egw run",
    "egw-nosandbox": "egw run, no sandbox",
    "engine-nosandbox": "engine, no sandbox (harness)",
    "engine-delay": "engine, no processes, 5 ms steps",
    "engine-null": "engine, no processes (harness)",
}

def read(run, ext):
    path = os.path.join(work, f"{run}.{ext}")
    return open(path).read() if os.path.exists(path) else ""

def parse_time(run):
    t = {}
    for line in read(run, "time").splitlines():
        k, _, v = line.strip().rpartition(": ")
        t[k] = v
    wall = 0.0
    for x in t["Elapsed (wall clock) time (h:mm:ss or m:ss)"].split(":"):
        wall = wall * 60 + float(x)
    return {
        "wall_s": round(wall, 2),
        "user_s": float(t["User time (seconds)"]),
        "sys_s": float(t["System time (seconds)"]),
        "max_rss_mb": round(int(t["Maximum resident set size (kbytes)"]) / 1024, 1),
        "voluntary_ctx_switches": int(t["Voluntary context switches"]),
        "involuntary_ctx_switches": int(t["Involuntary context switches"]),
    }

def check_egw(run):
    """`egw run -o json` must print the workflow with N Pod nodes Succeeded."""
    problems, extra = [], {}
    text = read(run, "out")
    # The document should be all of stdout; tolerate (and report) log lines printed before it.
    starts = [i for i in (text.find("\n{"), text.find("\n[")) if i >= 0]
    if text[:1] not in ("{", "[") and starts:
        extra["stdout_noise"] = text[:min(starts)].strip()[:300]
        text = text[min(starts) + 1:]
    try:
        doc = json.loads(text)
        wfs = doc if isinstance(doc, list) else [doc]
        nodes = [nd for wf in wfs for nd in ((wf.get("status") or {}).get("nodes") or {}).values()]
        extra["phase"] = (wfs[0].get("status") or {}).get("phase")
        extra["pods"] = sum(nd.get("type") == "Pod" for nd in nodes)
        extra["succeeded"] = sum(nd.get("type") == "Pod" and nd.get("phase") == "Succeeded" for nd in nodes)
    except ValueError as e:
        problems.append(f"unreadable -o json output: {e}")
        return problems, extra
    if extra["succeeded"] != n:
        problems.append(f"{extra['succeeded']} of {n} steps Succeeded ({extra['pods']} Pod nodes)")
    return problems, extra

def check_harness(run):
    """The harness prints one JSON line with pods/succeeded and its own CPU, GC and store figures."""
    try:
        extra = json.loads(read(run, "out").strip().splitlines()[-1])
    except (ValueError, IndexError) as e:
        return [f"unreadable harness output: {e}"], {}
    extra.pop("count", None); extra.pop("executor", None)
    problems = [] if extra.get("succeeded") == n else [f"{extra.get('succeeded')} of {n} steps Succeeded"]
    return problems, {"harness": extra}

def measure(system, r):
    run = f"{system}.{r}"
    m = {"round": r}
    m.update(parse_time(run))
    rc = int(read(run, "rc") or 1)
    problems = [] if rc == 0 else [f"exit status {rc}"]
    if system.startswith("egw"):
        pr, extra = check_egw(run); problems += pr; m.update(extra)
    elif system.startswith("engine"):
        pr, extra = check_harness(run); problems += pr; m.update(extra)
    du = read(run, "du").strip()
    if du:
        m["data_dir_mb"] = round(int(du) / 1024, 1)
    load = read(run, "load").split()
    if load:
        m["load_before"], m["load_after"] = float(load[0]), float(load[-1])
    stat = read(run, "stat").split()
    if len(stat) == 4:
        # CPU the whole machine used during the run, less what this run's processes were charged: other
        # work on the machine, plus kernel work done on the run's behalf outside its processes (for
        # bwrap: namespace and mount teardown in kernel threads), so an upper bound on interference.
        hz = os.sysconf("SC_CLK_TCK")
        machine = (int(stat[2]) - int(stat[0])) / hz
        m["machine_cpu_s"] = round(machine, 2)
        m["other_cpu_s"] = round(max(0.0, machine - m["user_s"] - m["sys_s"]), 2)
    if rc == 124:
        problems.append(f"did not finish within {os.environ.get('BENCH_TIMEOUT', '1800')} s (killed)")
    m["exit"] = rc
    m["ok"] = not problems
    if problems:
        tail = read(run, "err").strip().splitlines()[-5:]
        m["errors"] = problems + tail
    m["cpu_s"] = round(m["user_s"] + m["sys_s"], 2)
    m["cpu_ms_per_step"] = round(1000 * m["cpu_s"] / n, 3)
    m["wall_ms_per_step"] = round(1000 * m["wall_s"] / n, 3)
    return m

rows, errors = [], []
for system in systems:
    runs = [measure(system, r) for r in range(1, repeat + 1)]
    for m in runs:
        if not m["ok"]:
            errors.append(f"{system} round {m['round']}: " + "; ".join(m["errors"]))
    # the median of the rounds that completed correctly (of all rounds if none did)
    good = [m for m in runs if m["ok"]] or runs
    med = statistics.median_low([m["wall_s"] for m in good])
    shown = next(m for m in good if m["wall_s"] == med)
    row = {"system": system, "command": LABELS[system], **{k: v for k, v in shown.items() if k != "round"},
           "median_of": len(good), "failed_rounds": sum(not m["ok"] for m in runs), "ok": all(m["ok"] for m in runs),
           "max_rss_mb_all_rounds": max(m["max_rss_mb"] for m in runs)}
    if repeat > 1:
        row["rounds"] = runs
    rows.append(row)

base = next(r for r in rows if r["system"] == "xargs")
for r in rows:
    r["ratio_vs_xargs"] = round(r["wall_s"] / base["wall_s"], 2) if base["wall_s"] > 0 else None

egw = next(r for r in rows if r["system"] == "egw")
ratio = egw["ratio_vs_xargs"]
egw_rss = egw["max_rss_mb_all_rounds"]
target = {
    "ratio_max": target_ratio,
    "rss_mb_max": target_rss,
    "ratio_met": ratio is not None and ratio <= target_ratio,
    "rss_met": egw_rss < target_rss,
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

by = {r["system"]: r for r in rows}
def rel(a, b):
    return round(by[a]["wall_s"] / by[b]["wall_s"], 2) if a in by and b in by and by[b]["wall_s"] > 0 else None
def per_step_ms(a, b):
    return round(1000 * (by[a]["wall_s"] - by[b]["wall_s"]) / n, 3) if a in by and b in by else None
nosb = "egw-nosandbox" if "egw-nosandbox" in by else "engine-nosandbox"
derived = {k: v for k, v in {
    # egw against xargs running the very command line egw runs per step: the engine's own share
    "egw_vs_xargs_same_sandboxed_command": rel("egw", "xargs-chain"),
    "engine_ms_per_step_over_same_command": per_step_ms("egw", "xargs-chain"),
    # what the sandboxed launch (sh wrapper + bwrap) costs over plain `true`, with no engine at all
    "sandboxed_launch_vs_true": rel("xargs-chain", "xargs"),
    "sandboxed_launch_ms_per_step_over_true": per_step_ms("xargs-chain", "xargs"),
    # the hardened sandbox's command line against today's (goal: at most 1.10)
    "hardened_vs_todays_command": rel("xargs-hardened", "xargs-chain"),
    "hardened_ms_per_step_over_todays": per_step_ms("xargs-hardened", "xargs-chain"),
    # the engine with the sandbox off against xargs running the same unsandboxed wrapper
    "engine_nosandbox_vs_xargs_same_command": rel(nosb, "xargs-wrapper"),
    "engine_nosandbox_vs_xargs_true": rel(nosb, "xargs"),
}.items() if v is not None}

summary = {
    "benchmark": "fanout",
    "timestamp": stamp,
    "n": n,
    "parallelism": p,
    "repeat": repeat,
    "machine": {"cores": os.cpu_count(), "cpu": cpu_model(), "mem_mb": mem_mb(), "kernel": platform.release(),
                "scratch_dir": os.path.dirname(work), "scratch_fs": fs_type},
    "commit": commit + ("+dirty" if dirty.strip() not in ("", "0") else ""),
    "ratio": ratio,
    "egw_wall_s": egw["wall_s"],
    "xargs_wall_s": base["wall_s"],
    "egw_max_rss_mb": egw_rss,
    "target": target,
    "derived": derived,
    "rows": rows,
    "errors": errors,
}

hdr = (f"{'system':<32} {'wall s':>8} {'user s':>8} {'sys s':>8} {'peak RSS MB':>12} {'wall ms/step':>13} {'x xargs':>8}"
       f" {'other CPU s':>12}")
print()
print(f"fan-out of {n} x true at parallelism {p}, {summary['machine']['cores']} cores ({summary['machine']['cpu']}), "
      f"{'median of ' + str(repeat) + ' rounds' if repeat > 1 else '1 round'}, data on {os.path.dirname(work)} ({fs_type})")
print(hdr)
print("-" * len(hdr))
for r in rows:
    flag = "" if r["ok"] else f"  {r['failed_rounds']} of {repeat} FAILED"
    print(f"{r['command']:<32} {r['wall_s']:>8.2f} {r['user_s']:>8.2f} {r['sys_s']:>8.2f} {r['max_rss_mb']:>12.1f} "
          f"{r['wall_ms_per_step']:>13.3f} {r['ratio_vs_xargs']:>8.2f} {r.get('other_cpu_s', float('nan')):>12.2f}{flag}")
for r in rows:
    if "harness" in r:
        h = r["harness"]
        print(f"  {r['command']}: engine process alone {h['self_cpu_s']} s CPU, {h['gc_allocated_mb']} MB allocated, "
              f"{h['store_updates']} status saves in {h['store_update_s']} s, final status {h['final_status_json_mb']} MB")
print("(other CPU s: CPU the rest of the machine used during the run, including kernel threads working for it)")
print()
print(f"egw/xargs wall-time ratio: {ratio}  (target <= {target_ratio:g}: {'met' if target['ratio_met'] else 'NOT met'})")
print(f"egw peak RSS: {egw_rss} MB  (target < {target_rss:g} MB: {'met' if target['rss_met'] else 'NOT met'})")
if "egw_vs_xargs_same_sandboxed_command" in derived:
    print(f"egw vs xargs running egw's own sandboxed command line: {derived['egw_vs_xargs_same_sandboxed_command']}x "
          f"({derived['engine_ms_per_step_over_same_command']} ms/step of engine); that command line vs plain true: "
          f"{derived['sandboxed_launch_vs_true']}x (+{derived['sandboxed_launch_ms_per_step_over_true']} ms/step)")
if "hardened_vs_todays_command" in derived:
    print(f"hardened sandbox's command line vs today's: {derived['hardened_vs_todays_command']}x "
          f"({derived['hardened_ms_per_step_over_todays']:+} ms/step; goal <= 1.10x)")
if "engine_nosandbox_vs_xargs_same_command" in derived:
    print(f"engine with the sandbox off vs xargs running the same unsandboxed wrapper: {derived['engine_nosandbox_vs_xargs_same_command']}x; "
          f"vs plain true: {derived['engine_nosandbox_vs_xargs_true']}x")
for e in errors:
    print("error: " + e)
with open(result_file, "w") as f:
    json.dump(summary, f, indent=2)
    f.write("\n")
print(f"results: {result_file}")
print(json.dumps(summary, separators=(",", ":")))
sys.exit(1 if errors else 0)
PY

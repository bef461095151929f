#!/usr/bin/env bash
# Per-spawn cost of the pieces of egw's step launch, without egw: plain `true`, bubblewrap in a few
# configurations (down to the exact argv egw uses), and the sh wrapper egw puts around it (see lib.sh).
# Each variant runs K times one after another (latency per spawn) and M times under xargs -P P
# (throughput per spawn at the benchmark's parallelism). Companion to run.sh, for the overhead breakdown.
#
#   bash bench/fanout/spawn-cost.sh            # K=200, M=1000, P=50
#   SPAWN_K=500 SPAWN_M=2000 bash bench/fanout/spawn-cost.sh
#   BENCH_TMP=/dev/shm bash bench/fanout/spawn-cost.sh   # node directories on tmpfs (see README)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

K=${SPAWN_K:-200}
M=${SPAWN_M:-1000}
P=${BENCH_P:-50}
bwrap=/usr/bin/bwrap
[[ -x $bwrap ]] || { echo "no $bwrap" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "needs GNU time (apt-get install -y time)" >&2; exit 2; }

work=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/egw-spawn-cost.XXXXXX")
trap 'rm -rf "$work"' EXIT

# egw's sandbox argv and step wrapper (lib.sh). The sandbox's writable root gets mount points and
# symlinks written into it, so, as in egw, every spawn gets a fresh node directory: @D@ below stands for
# it (made outside the timing).
binds=()
egw_binds binds
egw_bwrap=("$bwrap" --bind @D@/root / "${binds[@]}" "${EGW_BWRAP_TAIL[@]}")
wrapper=$EGW_LEGACY_WRAPPER  # the unhardened launch these configurations compare
launch=()
egw_launch launch

declare -A cmds
names=()
add() { local name=$1; shift; names+=("$name"); cmds[$name]=$(printf '%q ' "$@"); }
minimal=(--ro-bind /usr /usr --ro-bind /etc /etc)
for l in /bin /lib /lib64 /sbin; do [[ -L $l ]] && minimal+=(--symlink "$(readlink "$l")" "$l"); done
add "true"                                   /usr/bin/true
add "sh -c true"                             /bin/sh -c true
add "sh -c <egw's wrapper> true"             "${launch[@]}" /bin/sh -c "$wrapper" egw-step @D@ /usr/bin/true
add "bwrap --ro-bind / / true"               "$bwrap" --ro-bind / / /usr/bin/true
add "bwrap egw binds only"                   "$bwrap" --bind @D@/root / "${binds[@]}" --chdir / -- /usr/bin/true
add "bwrap egw binds + dev"                  "$bwrap" --bind @D@/root / "${binds[@]}" --dev /dev --chdir / -- /usr/bin/true
add "bwrap egw binds + dev + proc/pid ns"    "$bwrap" --bind @D@/root / "${binds[@]}" --proc /proc --dev /dev --unshare-pid --chdir / -- /usr/bin/true
add "bwrap as egw runs it"                   "${egw_bwrap[@]}" /usr/bin/true
add "sh <wrapper> bwrap (egw's whole launch)" "${launch[@]}" /bin/sh -c "$wrapper" egw-step @D@ "${egw_bwrap[@]}" /usr/bin/true
# What-ifs for cheaper sandboxes with the same namespaces, /proc and /dev:
add "what-if: only /usr + /etc bound"        "$bwrap" --bind @D@/root / "${minimal[@]}" "${EGW_BWRAP_TAIL[@]}" /usr/bin/true
add "what-if: / read-only, writable /tmp"    "$bwrap" --ro-bind / / --bind @D@/root/tmp /tmp "${EGW_BWRAP_TAIL[@]}" /usr/bin/true

dirs() { # dirs BASE COUNT: fresh node directories BASE/1..COUNT with root/tmp
  rm -rf "$1"; mkdir -p "$1"
  (cd "$1" && seq "$2" | xargs -n 1000 printf '%s/root/tmp\n' | xargs mkdir -p)
}

busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# measure SCRIPT -> "wall charged machine" in seconds: wall time, CPU charged to the script's processes
# (user + sys of reaped children), and CPU the whole machine used meanwhile. bubblewrap's pid-namespace
# children and its mount teardown (kernel threads, RCU) are not charged to the caller, so for sandboxes
# "machine" is the honest cost; run on an idle machine. A failing variant is reported, not timed.
measure() {
  local b0 b1
  b0=$(busy_ticks)
  if ! /usr/bin/time -f '%e %U %S' -o "$work/t" bash -c "$1" >/dev/null 2>"$work/err"; then
    echo "failed: $(sort "$work/err" | uniq -c | sort -rn | head -3 | tr '\n' ';')" >&2
    echo "nan nan nan"; return
  fi
  b1=$(busy_ticks)
  awk -v hz="$(getconf CLK_TCK)" -v b="$((b1 - b0))" '{ print $1, $2 + $3, b / hz }' "$work/t"
}

printf 'load average: %s; %s cores\n' "$(cut -d' ' -f1-3 /proc/loadavg)" "$(nproc)"
printf '%-42s | %-32s | %-32s\n' "" "one at a time (K=$K), ms/spawn" "xargs -P $P (M=$M), ms/spawn"
printf '%-42s | %10s %10s %10s | %10s %10s %10s\n' "variant" wall charged machine wall charged machine
for name in "${names[@]}"; do
  cmd=${cmds[$name]}
  dirs "$work/s" "$K"; dirs "$work/p" "$M"
  sleep 1
  read -r sw sc sm < <(measure "for ((i=1;i<=$K;i++)); do ${cmd//@D@/$work/s/\$i}; done")
  sleep 1
  read -r pw pc pm < <(measure "seq $M | xargs -P $P -I{} ${cmd//@D@/$work/p/\{\}}")
  awk -v n="$name" -v k="$K" -v m="$M" -v sw="$sw" -v sc="$sc" -v sm="$sm" -v pw="$pw" -v pc="$pc" -v pm="$pm" \
    'BEGIN { printf "%-42s | %10.2f %10.2f %10.2f | %10.2f %10.2f %10.2f\n", n, 1000*sw/k, 1000*sc/k, 1000*sm/k, 1000*pw/m, 1000*pc/m, 1000*pm/m }'
done
printf 'load average: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/env bash
# Per-spawn cost of the pieces of egw's step launch, without egw: plain `true`, bubblewrap in a few
# configurations (down to the exact argv egw uses), and the setsid + sh wrapper egw puts around it.
# Each variant runs K times one after another (latency per spawn) and M times under xargs -P P
# (throughput per spawn at the benchmark's parallelism). Companion to run.sh, for the overhead breakdown.
#
#   bash bench/fanout/spawn-cost.sh            # K=200, M=1000, P=50
#   SPAWN_K=500 SPAWN_M=2000 bash bench/fanout/spawn-cost.sh
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

work=$(mktemp -d "${TMPDIR:-/tmp}/egw-spawn-cost.XXXXXX")
trap 'rm -rf "$work"' EXIT

# egw's sandbox argv and step wrapper (lib.sh). The sandbox's writable root gets mount points and
# symlinks written into it, so, as in egw, every spawn gets a fresh node directory: @D@ below stands for
# it (made outside the timing).
binds=()
egw_binds binds
egw_bwrap=("$bwrap" --bind @D@/root / "${binds[@]}" "${EGW_BWRAP_TAIL[@]}")
wrapper=$(egw_wrapper)

declare -A cmds
names=()
add() { local name=$1; shift; names+=("$name"); cmds[$name]=$(printf '%q ' "$@"); }
add "true"                                 /usr/bin/true
add "sh -c true"                           /bin/sh -c true
add "setsid sh -c <wrapper> true"          /usr/bin/setsid /bin/sh -c "$wrapper" egw-step @D@ /usr/bin/true
add "bwrap --ro-bind / / true"             "$bwrap" --ro-bind / / /usr/bin/true
add "bwrap egw binds only"                 "$bwrap" --bind @D@/root / "${binds[@]}" --dev /dev --chdir / -- /usr/bin/true
add "bwrap egw binds + proc + unshare-pid" "$bwrap" --bind @D@/root / "${binds[@]}" --proc /proc --dev /dev --unshare-pid --chdir / -- /usr/bin/true
add "bwrap as egw runs it"                 "${egw_bwrap[@]}" /usr/bin/true
add "setsid sh <wrapper> bwrap (egw chain)" /usr/bin/setsid /bin/sh -c "$wrapper" egw-step @D@ "${egw_bwrap[@]}" /usr/bin/true

dirs() { # dirs BASE COUNT: fresh node directories BASE/1..COUNT with root/tmp
  rm -rf "$1"; mkdir -p "$1"
  (cd "$1" && seq "$2" | xargs -n 1000 printf '%s/root/tmp\n' | xargs mkdir -p)
}

measure() { # measure SCRIPT -> "wall user sys"; a failing variant is reported, not timed
  if ! /usr/bin/time -f '%e %U %S' -o "$work/t" bash -c "$1" >/dev/null 2>"$work/err"; then
    echo "failed: $(sort "$work/err" | uniq -c | sort -rn | head -3 | tr '\n' ';')" >&2
    echo "nan nan nan"; return
  fi
  tail -n 1 "$work/t"
}

printf 'load average: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-46s %14s %14s %14s %14s\n' "variant" "seq ms/spawn" "seq cpu ms" "P=$P ms/spawn" "P=$P cpu ms"
for name in "${names[@]}"; do
  cmd=${cmds[$name]}
  dirs "$work/s" "$K"; dirs "$work/p" "$M"
  read -r sw su ss < <(measure "for ((i=1;i<=$K;i++)); do ${cmd//@D@/$work/s/\$i}; done")
  read -r pw pu ps < <(measure "seq $M | xargs -P $P -I{} ${cmd//@D@/$work/p/\{\}}")
  awk -v n="$name" -v k="$K" -v m="$M" -v sw="$sw" -v su="$su" -v ss="$ss" -v pw="$pw" -v pu="$pu" -v ps="$ps" \
    'BEGIN { printf "%-46s %14.2f %14.2f %14.2f %14.2f\n", n, 1000*sw/k, 1000*(su+ss)/k, 1000*pw/m, 1000*(pu+ps)/m }'
done
printf 'load average: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"

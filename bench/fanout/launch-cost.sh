#!/usr/bin/env bash
# What starting one sandboxed step costs, without egw: M spawns of `true` under xargs -P P, side by side in one
# run, as
#   true                      the command alone
#   bwrap command line        the hardened sandbox as egw started it before egw-step: sh (limits, logs, exit
#                             code) -> nsenter (workflow network) -> bwrap (namespaces, binds, per-step /etc
#                             with host entries bound in) -> setpriv (uid drop) -> true
#   egw-step                  egw's launcher, the same isolation in one static process: overlay root on a
#                             shared base, shared /etc, same namespaces and uid drop -> true
# Every spawn gets a fresh node directory (made outside the timing), all in one workflow network namespace (as
# egw's steps of one workflow share one). Reports wall and CPU per spawn and each row against `true`.
#
#   bash bench/fanout/launch-cost.sh                 # M=2000, P=50
#   LAUNCH_M=500 bash bench/fanout/launch-cost.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
M=${LAUNCH_M:-2000}
P=${BENCH_P:-50}
[[ $(id -u) -eq 0 ]] || { echo "needs root (namespaces, uid drop)" >&2; exit 2; }
for t in bwrap nsenter setpriv ip; do command -v "$t" >/dev/null || { echo "needs $t" >&2; exit 2; }; done
[[ -x /usr/bin/time ]] || { echo "needs GNU time (apt-get install -y time)" >&2; exit 2; }
(cd "$repo" && dotnet build src/EventGateway.Workflows -nologo -v q >/dev/null) || { echo "build failed" >&2; exit 2; }
launcher=$repo/src/EventGateway.Workflows/obj/egw-step
[[ -x $launcher ]] || { echo "no $launcher" >&2; exit 2; }

work=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/egw-launch-cost.XXXXXX")
netns=egw-launch-cost-$$
cleanup() { ip netns delete "$netns" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
[[ ${LAUNCH_KEEP:-0} == 1 ]] && trap - EXIT
ip netns add "$netns"
ip -n "$netns" link set lo up

# Shared parts: egw-step's base and /etc; the bwrap line's per-step /etc is copied from one made here.
egw_step_base "$work/base"
mkdir -p "$work/etc"
printf '127.0.0.1 localhost\n' >"$work/etc/hosts"
ln -s /run/egw/passwd "$work/etc/passwd"; ln -s /run/egw/group "$work/etc/group"
cp /etc/ld.so.cache "$work/etc/" 2>/dev/null || true
mkdir -p "$work/bwrap-etc"
printf 'root:x:0:0::/root:/bin/sh\nstep:x:%s:%s::/tmp:/bin/sh\n' "$EGW_STEP_UID" "$EGW_STEP_GID" >"$work/bwrap-etc/passwd"
printf '127.0.0.1 localhost\n' >"$work/bwrap-etc/hosts"

hbinds=(); egw_hardened_binds hbinds
hetc=(); egw_hardened_etc hetc
ro=(); egw_step_ro ro

prepare() { # ROW: M fresh node directories, each with a root owned by the step's uid
  local i
  mkdir -p "$work/$1"
  for ((i = 0; i < M; i++)); do
    mkdir -p "$work/$1/$i/root"
    [[ $1 == bwrap ]] && cp -r "$work/bwrap-etc" "$work/$1/$i/etc" # its /etc was per step (bwrap writes into it)
  done
  chown -R "$EGW_STEP_UID:$EGW_STEP_GID" "$work/$1"
  chown root:root "$work/$1"/*
}

# Each row is a script xargs runs with one node directory per spawn.
cat >"$work/true.sh" <<'SH'
exec true
SH
{
  printf 'd=$1\n'
  printf 'exec /bin/sh -c %q egw-step "$d" %s nsenter --net=/run/netns/%s -- bwrap --bind "$d/root" / %s --bind "$d/etc" /etc %s -- %s true\n' \
    "$EGW_HARDENED_WRAPPER" "${EGW_LIMIT_ARGS[*]}" "$netns" "${hbinds[*]}" "${hetc[*]}" "${EGW_SETPRIV[*]:1}"
} >"$work/bwrap.sh"
{
  printf 'd=$1\n'
  printf 'exec %q --dir "$d" --chdir / --data %s --nproc %s --nofile %s --root "$d/root" --base %q --etc %q --uid %s --gid %s --netns /run/netns/%s %s -- true\n' \
    "$launcher" "${EGW_LIMIT_ARGS[@]}" "$work/base" "$work/etc" "$EGW_STEP_UID" "$EGW_STEP_GID" "$netns" "${ro[*]}"
} >"$work/egw-step.sh"

printf '%-22s %8s %10s %12s %9s\n' row "wall s" "ms/spawn" "CPU ms/spawn" "x true"
base_ms=""
for row in true bwrap egw-step; do
  prepare "$row"
  seq 0 $((M - 1)) | sed "s|^|$work/$row/|" >"$work/$row.list"
  /usr/bin/time -f '%e %U %S' -o "$work/$row.time" xargs -a "$work/$row.list" -P "$P" -n 1 /bin/sh "$work/$row.sh"
  read -r wall user sys <"$work/$row.time"
  if [[ $row == true ]]; then ok=$M; else ok=$(cat "$work/$row"/*/exitcode 2>/dev/null | grep -cx 0 || true); fi
  ms=$(python3 -c "print(f'{$wall * 1000 / $M:.3f}')")
  cpu=$(python3 -c "print(f'{($user + $sys) * 1000 / $M:.3f}')")
  [[ -z $base_ms ]] && base_ms=$ms
  printf '%-22s %8s %10s %12s %9s%s\n' "$row" "$wall" "$ms" "$cpu" "$(python3 -c "print(f'{$ms / $base_ms:.2f}')")" "$([[ $ok -eq $M ]] || echo "  ($ok of $M exited 0)")"
done

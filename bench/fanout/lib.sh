# Shared by run.sh and spawn-cost.sh: egw's per-step launch, rebuilt outside egw so it can be timed alone.
# Source it with $repo set to the repository root.

# executor_source: LocalProcessExecutor.cs in the checkout at $repo (moved into src/EventGateway.Workflows
# when the code split into projects; older checkouts keep it under src/EventGateway).
executor_source() {
  local f
  for f in "$repo/src/EventGateway.Workflows/Execution/LocalProcessExecutor.cs" "$repo/src/EventGateway/Execution/LocalProcessExecutor.cs"; do
    [[ -f $f ]] && { printf '%s' "$f"; return; }
  done
}

# egw_wrapper: the `sh -c` script LocalProcessExecutor runs each step under (read from the source, so a
# change there is picked up; falls back to the last known text).
egw_wrapper() {
  local src w=""
  src=$(executor_source)
  if [[ -f $src ]]; then
    w=$(python3 - "$src" <<'PY'
import re, sys
m = re.search(r'const string Wrapper = "((?:[^"\\]|\\.)*)";', open(sys.argv[1]).read())
print(m.group(1).encode().decode("unicode_escape") if m else "", end="")
PY
)
  fi
  if [[ -z $w ]]; then
    w=$EGW_LEGACY_WRAPPER
  fi
  printf '%s' "$w"
}

# The wrapper before the hardened sandbox (no limits): "today's command line" rows run it.
EGW_LEGACY_WRAPPER='d=$1; shift; "$@" >"$d/stdout" 2>"$d/stderr"; echo $? >"$d/exitcode"'

# The hardened wrapper's limit arguments (memory KiB, pids, open files): egw's defaults.
EGW_LIMIT_ARGS=(1048576 512 1024)

# egw_launch ARRAY_NAME: what comes before `sh -c <wrapper>` when egw starts a step. Since 8778f39 the
# executor posix_spawns sh itself in a new session (nothing before it); before that it exec'd setsid.
# xargs gives its children the session it has, so the new-session part is not reproduced either way.
egw_launch() {
  local -n out=$1
  if grep -q 'PosixSpawn.Start' "$(executor_source)" 2>/dev/null; then out=()
  else out=(/usr/bin/setsid); fi
}

# egw_binds ARRAY_NAME: fills the array with the bind arguments Sandbox.Detect built before the hardened
# sandbox ("today's command line"): every top-level directory except the private ones read-only,
# top-level symlinks recreated.
egw_binds() {
  local -n out=$1
  local e
  out=()
  for e in /*; do
    case ${e#/} in tmp|proc|dev|sys|run|lost+found|mnt|media) continue ;; esac
    if [[ -L $e ]]; then out+=(--symlink "$(readlink "$e")" "$e")
    elif [[ -d $e ]]; then out+=(--ro-bind "$e" "$e"); fi
  done
}

# The options Sandbox.Wrap puts after the binds (the working directory is "/" for these steps).
EGW_BWRAP_TAIL=(--proc /proc --dev /dev --unshare-pid --unshare-ipc --unshare-uts --die-with-parent --chdir / --)

# The hardened sandbox (src/EventGateway.Workflows/Execution/Sandbox.cs, SandboxEtc.cs), rebuilt here:
# allow-listed system directories, a per-step /etc with a few host entries bound in, a private /run,
# the workflow's network namespace entered with nsenter, and setpriv dropping to the step's uid.
EGW_STEP_UID=2000001
EGW_STEP_GID=2000000

# egw_hardened_binds ARRAY_NAME: system directories and /etc's host entries, as Sandbox.Detect and SandboxEtc build them.
egw_hardened_binds() {
  local -n out=$1
  local e
  out=()
  for e in usr bin sbin lib lib32 lib64 libx32 opt; do
    if [[ -L /$e ]]; then out+=(--symlink "$(readlink "/$e")" "/$e")
    elif [[ -d /$e ]]; then out+=(--ro-bind "/$e" "/$e"); fi
  done
}

# egw_hardened_etc ARRAY_NAME: what follows `--bind <step etc> /etc`.
egw_hardened_etc() {
  local -n out=$1
  local e
  out=()
  for e in ld.so.cache ld.so.conf ld.so.conf.d alternatives ssl/certs ssl/openssl.cnf ca-certificates ca-certificates.conf \
           timezone protocols services host.conf gai.conf mime.types; do
    [[ -e /etc/$e ]] && out+=(--ro-bind "/etc/$e" "/etc/$e")
  done
  [[ -L /etc/localtime ]] && out+=(--symlink "$(readlink /etc/localtime)" /etc/localtime)
  out+=(--remount-ro /etc --tmpfs /run --dir /run/egw/bin)
  [[ ! -e /usr/bin/python && -e /usr/bin/python3 ]] && out+=(--symlink /usr/bin/python3 /run/egw/bin/python)
  out+=(--proc /proc --dev /dev --unshare-pid --unshare-ipc --unshare-uts --unshare-cgroup-try --hostname step --die-with-parent --chdir /)
}

# What follows bwrap's own arguments: the drop to the step's uid.
EGW_SETPRIV=(-- /usr/bin/setpriv --reuid "$EGW_STEP_UID" --regid "$EGW_STEP_GID" --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs --)

# The wrapper egw ran each hardened step under (until egw-step replaced it): limits, logs, exit code.
EGW_HARDENED_WRAPPER='d=$1; m=$2; p=$3; n=$4; shift 4; [ "$m" = - ] || ulimit -d "$m"; [ "$p" = - ] || ulimit -p "$p"; [ "$n" = - ] || ulimit -n "$n"; umask 002; "$@" >"$d/stdout" 2>"$d/stderr"; echo $? >"$d/exitcode"'

# egw_step_base DIR: the shared base of every sandboxed step's root, as Sandbox.WriteBase makes it.
egw_step_base() {
  local dir=$1 e
  mkdir -p "$dir"/{etc,proc,dev,run,tmp}
  chmod 1777 "$dir/tmp"
  for e in usr bin sbin lib lib32 lib64 libx32 opt; do
    if [[ -L /$e ]]; then ln -s "$(readlink "/$e")" "$dir/$e"
    elif [[ -d /$e ]]; then mkdir -p "$dir/$e"; fi
  done
}

# egw_step_ro ARRAY_NAME: egw-step's --ro arguments (the system directories that are not symlinks).
egw_step_ro() {
  local -n out=$1
  local e
  out=()
  for e in usr bin sbin lib lib32 lib64 libx32 opt; do
    [[ -d /$e && ! -L /$e ]] && out+=(--ro "/$e")
  done
}

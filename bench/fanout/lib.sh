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
    w='d=$1; shift; "$@" >"$d/stdout" 2>"$d/stderr"; echo $? >"$d/exitcode"'
  fi
  printf '%s' "$w"
}

# egw_launch ARRAY_NAME: what comes before `sh -c <wrapper>` when egw starts a step. Since 8778f39 the
# executor posix_spawns sh itself in a new session (nothing before it); before that it exec'd setsid.
# xargs gives its children the session it has, so the new-session part is not reproduced either way.
egw_launch() {
  local -n out=$1
  if grep -q 'PosixSpawn.Start' "$(executor_source)" 2>/dev/null; then out=()
  else out=(/usr/bin/setsid); fi
}

# egw_binds ARRAY_NAME: fills the array with the bind arguments Sandbox.Detect builds on this machine
# (src/EventGateway.Workflows/Execution/Sandbox.cs): every top-level directory except the private ones read-only,
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

# Shared by the benchmarks: how busy the machine is, and waiting until it is quiet enough to measure.
# The caller defines log(); BENCH_QUIET=0 skips the wait, BENCH_QUIET_MAX bounds it (default: $quiet_max_default).

# busy_ticks: "BUSY TOTAL" CPU ticks since boot, from /proc/stat.
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }

# wait_quiet: until the machine's CPUs are under 15% busy over 2 s (or BENCH_QUIET_MAX seconds passed).
wait_quiet() {
  [[ ${BENCH_QUIET:-1} == 1 ]] || return 0
  local start=$SECONDS said=0 b0 t0 b1 t1 pct
  while :; do
    read -r b0 t0 < <(busy_ticks); sleep 2; read -r b1 t1 < <(busy_ticks)
    pct=$(( (b1 - b0) * 100 / (t1 - t0 > 0 ? t1 - t0 : 1) ))
    (( pct < 15 )) && { (( said )) && log "machine idle after $((SECONDS - start)) s"; return 0; }
    if (( SECONDS - start >= ${BENCH_QUIET_MAX:-${quiet_max_default:-60}} )); then log "warning: machine still ${pct}% busy; measuring anyway"; return 0; fi
    (( said )) || log "waiting for the machine to be idle (${pct}% busy; other processes would skew the figures)"
    said=1
  done
}

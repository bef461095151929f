#!/usr/bin/env bash
# Kafka ingest benchmark: N small JSON messages in a topic of librdkafka's mock cluster (loopback), read
# in the same run by (a) `kcat -C -e` (the whole topic to stdout) and (b) `egw serve` with a kafka
# EventSource (consumer group, oldest first, jsonBody) until its durable event log holds N events.
# Prints a table of msgs/s and the egw/kcat ratio.
#
#   bash bench/kafka/run.sh                   # N=200000
#   BENCH_N=20000 bash bench/kafka/run.sh     # quick run
#
# Environment:
#   BENCH_N=200000       messages
#   BENCH_PARTITIONS=4   partitions of the topic (the mock broker keeps only ~5 MB per partition and drops
#                        the oldest messages beyond that; the run checks that all N are still there)
#   BENCH_KCAT_ROUNDS=3  kcat reads the topic this many times; the table shows the median
#   BENCH_TIMEOUT=600    seconds egw may take before the run counts as failed
#   BENCH_SKIP_BUILD=0   1: use the existing Release binaries
#   BENCH_TMP=...        parent of the scratch directory (default: $TMPDIR or /tmp); egw's data dir lives there
#   BENCH_KEEP=0         1: keep the scratch directory (egw's log, the data dir)
#
# Output: the table, then one JSON line (also written to bench/results/kafka-<timestamp>.json).
# Exit status: 0 if both readers got exactly N messages, 1 if not, 2 for bad settings or a failed build.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
N=${BENCH_N:-200000}
PARTITIONS=${BENCH_PARTITIONS:-4}
KCAT_ROUNDS=${BENCH_KCAT_ROUNDS:-3}
TIMEOUT=${BENCH_TIMEOUT:-600}
TOPIC=bench

for v in N PARTITIONS TIMEOUT KCAT_ROUNDS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "BENCH_$v must be a positive integer, got '${!v}'" >&2; exit 2; }
done
log() { printf '[kafka] %s\n' "$*" >&2; }
command -v kcat >/dev/null || { echo "kcat is required (apt-get install kcat)" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is required" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 2; }
[[ -e /usr/lib/x86_64-linux-gnu/librdkafka.so.1 || -n $(ldconfig -p | grep librdkafka.so.1) ]] ||
  { echo "librdkafka.so.1 is required (apt-get install librdkafka1)" >&2; exit 2; }

scratch=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/egw-kafka-bench.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [[ ${BENCH_KEEP:-0} == 1 ]] && log "kept $scratch" || rm -rf "$scratch"
}
trap cleanup EXIT

# --- build (once), then measure copies: others may rebuild src/ meanwhile ----------------------------
build() {
  local out
  if ! out=$(cd "$repo" && dotnet build -c Release "$1" -nologo -v q 2>&1); then printf '%s\n' "$out" >&2; return 1; fi
}
if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
  log "building egw and the mock cluster (Release)"
  build src/egw || { echo "egw build failed" >&2; exit 2; }
  build bench/kafka/mockcluster || { echo "mock cluster build failed" >&2; exit 2; }
fi
cp -r "$repo/src/egw/bin/Release/net10.0" "$scratch/egw-bin"
cp -r "$here/mockcluster/bin/Release/net10.0" "$scratch/mock-bin"
egw=$scratch/egw-bin/egw
[[ -x $egw ]] || { echo "egw binary not found" >&2; exit 2; }

now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.3f}')"; }
rate() { python3 -c "print(f'{$1 / ($2) if $2 > 0 else 0:.0f}')"; }

# --- the cluster and the messages ---------------------------------------------------------------------
"$scratch/mock-bin/egw-kafka-mock" "$TOPIC" "$PARTITIONS" >"$scratch/mock.out" 2>"$scratch/mock.err" &
pids+=($!)
for _ in $(seq 100); do [[ -s $scratch/mock.out ]] && break; sleep 0.1; done
broker=$(head -1 "$scratch/mock.out")
[[ -n $broker ]] || { echo "mock cluster did not start: $(cat "$scratch/mock.err")" >&2; exit 1; }
log "mock cluster at $broker, topic $TOPIC with $PARTITIONS partition(s)"

awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"n\":%d,\"kind\":\"order\",\"amount\":%d.5}\n", i, i % 1000 }' >"$scratch/messages.jsonl"
log "producing $N messages with kcat"
t0=$(now)
# kcat's producer queue holds 100,000 messages by default and drops what does not fit.
kcat -b "$broker" -t "$TOPIC" -P -l -X queue.buffering.max.messages=$((N + 1000)) -X queue.buffering.max.kbytes=2097151 "$scratch/messages.jsonl" \
  2>"$scratch/kcat-produce.err" || { echo "kcat produce failed: $(cat "$scratch/kcat-produce.err")" >&2; exit 1; }
produce_s=$(elapsed "$t0" "$(now)")
held=0
for ((p = 0; p < PARTITIONS; p++)); do
  low=$(kcat -b "$broker" -Q -t "$TOPIC:$p:-2" | awk '{ print $NF }')
  high=$(kcat -b "$broker" -Q -t "$TOPIC:$p:-1" | awk '{ print $NF }')
  held=$((held + high - low))
done
[[ $held -eq $N ]] || { echo "the topic holds $held of $N messages: the mock broker drops the oldest beyond ~5 MB per partition; raise BENCH_PARTITIONS" >&2; exit 2; }

# --- (a) kcat reads the whole topic -------------------------------------------------------------------
log "kcat -C -e: reading the topic ($KCAT_ROUNDS times)"
kcat_times=()
for ((r = 0; r < KCAT_ROUNDS; r++)); do
  t0=$(now)
  kcat_count=$(kcat -b "$broker" -t "$TOPIC" -C -e -q -o beginning 2>"$scratch/kcat-consume.err" | wc -l)
  kcat_times+=("$(elapsed "$t0" "$(now)")")
  [[ $kcat_count -eq $N ]] || break
done
kcat_s=$(printf '%s\n' "${kcat_times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
[[ $kcat_count -eq $N ]] || { echo "kcat read $kcat_count messages, expected $N: $(head -c 500 "$scratch/kcat-produce.err" "$scratch/kcat-consume.err")" >&2; exit 1; }

# --- (b) egw ingests the topic into its durable log ---------------------------------------------------
mkdir -p "$scratch/manifests" "$scratch/data"
cat >"$scratch/manifests/kafka.yaml" <<EOF
apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata:
  name: bench
spec:
  kafka:
    orders:
      url: $broker
      topic: $TOPIC
      jsonBody: true
      consumerGroup:
        groupName: egw-bench
        oldest: true
EOF
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log "egw serve: ingesting into $scratch/data"
t_start=$(now)
"$egw" serve --data-dir "$scratch/data" --port "$port" --manifests "$scratch/manifests" --events-address 127.0.0.1 --no-sandbox \
  >"$scratch/egw.out" 2>"$scratch/egw.err" &
egw_pid=$!
pids+=("$egw_pid")
count() { curl -fsS -H "Authorization: Bearer $(cat "$scratch/data/admin.token" 2>/dev/null)" "http://127.0.0.1:$port/api/v1/eventlog" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])' 2>/dev/null || echo 0; }
t_first=""; t_done=""; c=0; first_count=0
deadline=$(python3 -c "print($t_start + $TIMEOUT)")
while :; do
  c=$(count)
  t=$(now)
  if [[ -z $t_first && $c -gt 0 ]]; then t_first=$t; first_count=$c; fi
  if [[ $c -ge $N ]]; then t_done=$t; break; fi
  kill -0 "$egw_pid" 2>/dev/null || { echo "egw exited: $(tail -5 "$scratch/egw.err")" >&2; exit 1; }
  python3 -c "import sys; sys.exit(0 if $t < $deadline else 1)" || { echo "egw timed out with $c of $N events" >&2; exit 1; }
  sleep ${BENCH_POLL:-0.05}
done
sleep 1
final=$(count)
rss_mb=$(awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$egw_pid/status" 2>/dev/null || echo "?")
sample=$(curl -fsS -H "Authorization: Bearer $(cat "$scratch/data/admin.token" 2>/dev/null)" "http://127.0.0.1:$port/api/v1/events/1" | python3 -c 'import json,sys; e=json.load(sys.stdin); print(json.dumps({k: e.get(k) for k in ("id","type","subject")}), json.dumps(e.get("data"))[:200])' 2>/dev/null || echo "?")
egw_total_s=$(elapsed "$t_start" "$t_done")
egw_ingest_s=$(elapsed "$t_first" "$t_done")

# --- report -------------------------------------------------------------------------------------------
kcat_rate=$(rate "$kcat_count" "$kcat_s")
egw_total_rate=$(rate "$N" "$egw_total_s")
egw_ingest_rate=$(rate "$((N - first_count))" "$egw_ingest_s")
ratio_ingest=$(python3 -c "print(f'{$egw_ingest_rate / $kcat_rate:.3f}')")
ratio_total=$(python3 -c "print(f'{$egw_total_rate / $kcat_rate:.3f}')")
commit=$(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo "?")

printf '\nKafka ingest, N=%d messages (~%d bytes each), %d partition(s), librdkafka mock cluster on loopback\n\n' \
  "$N" "$(($(wc -c <"$scratch/messages.jsonl") / N))" "$PARTITIONS"
printf '| %-52s | %9s | %8s | %10s | %9s |\n' "reader" "messages" "wall s" "msgs/s" "x kcat"
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..54})" "----------:" "---------:" "-----------:" "----------:"
printf '| %-52s | %9d | %8s | %10s | %9s |\n' "kcat -C -e (to stdout; median of $KCAT_ROUNDS)" "$kcat_count" "$kcat_s" "$kcat_rate" "1.000"
printf '| %-52s | %9d | %8s | %10s | %9s |\n' "egw, first event to N durable (steady ingest)" "$((N - first_count))" "$egw_ingest_s" "$egw_ingest_rate" "$ratio_ingest"
printf '| %-52s | %9d | %8s | %10s | %9s |\n' "egw, process start to N durable (incl. start, join)" "$N" "$egw_total_s" "$egw_total_rate" "$ratio_total"
printf '\nproduce with kcat -P: %s s; egw final log count %s (expected %d); egw peak RSS %s MB\n' "$produce_s" "$final" "$N" "$rss_mb"
printf 'first event: %s\n\n' "$sample"

ok=1
[[ $kcat_count -eq $N && $final -eq $N ]] || ok=0
json=$(python3 -c "import json; print(json.dumps({'benchmark':'kafka','n':$N,'partitions':$PARTITIONS,'commit':'$commit',
  'kcat':{'messages':$kcat_count,'seconds':$kcat_s,'rounds':[$(IFS=,; echo "${kcat_times[*]}")],'msgs_per_s':$kcat_rate},
  'egw':{'final_count':$final,'ingest_seconds':$egw_ingest_s,'ingest_msgs_per_s':$egw_ingest_rate,'total_seconds':$egw_total_s,'total_msgs_per_s':$egw_total_rate,'peak_rss_mb':'$rss_mb'},
  'ratio_egw_to_kcat':{'ingest':$ratio_ingest,'total':$ratio_total},'produce_seconds':$produce_s,'ok':bool($ok)}))")
echo "$json"
mkdir -p "$repo/bench/results"
echo "$json" >"$repo/bench/results/kafka-$(date -u +%Y%m%dT%H%M%SZ).json"
[[ $ok == 1 ]] || { echo "FAILED: kcat read $kcat_count, egw logged $final, expected $N" >&2; exit 1; }

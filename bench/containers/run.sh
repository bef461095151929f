#!/usr/bin/env bash
# Container executor fan-out: N steps of `true` in a busybox image at parallelism P, `egw run --executor container`
# beside `xargs -P P podman run --rm IMAGE true` of the same image, in the same run on the same engine.
#
#   BENCH_N=500 BENCH_P=10     steps and parallelism (the workflow's spec.parallelism is set to P)
#   BENCH_NICE=19              run both under `nice -n` (0: not niced)
#   BENCH_CONTAINER_HOST=URI   an engine already serving the Docker API (default: a `podman system service` started here)
#   EGW_BIN=...                egw.dll to measure (default: built here in Release into a scratch directory)
#
# Prints wall seconds and peak RSS of each, the ratio egw/xargs (target <= 1.3), and a JSON line (also written to
# bench/results/containers-<UTC>.json). Needs podman, runc and busybox-static (apt-get install -y podman runc busybox-static).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
N=${BENCH_N:-500}
P=${BENCH_P:-10}
NICE=${BENCH_NICE:-19}
IMAGE=egw-bench/busybox:1
scratch=$(mktemp -d /tmp/egw-bench-containers-XXXXXX)
service=
cleanup() {
  [[ -n $service ]] && kill "$service" 2>/dev/null && wait "$service" 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT
for tool in podman runc busybox /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "needs $tool: apt-get install -y podman runc busybox-static time" >&2; exit 2; }
done
podman_=(podman --runtime runc)
# Limits within the machine's hard limits (runc's setrlimit fails otherwise), as the executor sets them.
limits=(--ulimit nofile=1024:1024 --ulimit nproc=4096:4096)

if ! "${podman_[@]}" image exists "$IMAGE"; then
  rootfs=$scratch/rootfs
  mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/etc"
  cp "$(command -v busybox)" "$rootfs/bin/busybox"
  for a in $(busybox --list); do [[ $a == busybox ]] || ln -s busybox "$rootfs/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$rootfs/etc/passwd"
  tar -C "$rootfs" -c . | "${podman_[@]}" import - "$IMAGE" >/dev/null
fi

host=${BENCH_CONTAINER_HOST:-}
if [[ -z $host ]]; then
  sock=$scratch/podman.sock
  # Niced like both runs: the engine does the container work for egw, the CLI does it itself for xargs.
  nice -n "$NICE" "${podman_[@]}" system service --time=0 "unix://$sock" 2>"$scratch/service.log" &
  service=$!
  for _ in $(seq 100); do [[ -S $sock ]] && break; sleep 0.1; done
  host=unix://$sock
fi

egw=${EGW_BIN:-}
if [[ -z $egw ]]; then
  (cd "$repo" && dotnet build -c Release src/egw -nologo -v q -o "$scratch/egw" >/dev/null)
  egw=$scratch/egw/egw.dll
fi
sed "s/parallelism: 10/parallelism: $P/" "$here/fanout.yaml" > "$scratch/fanout.yaml"

timed() { # label, command...: wall seconds and peak RSS (KB) into $scratch/$label.time
  local label=$1; shift
  nice -n "$NICE" /usr/bin/time -f '%e %M' -o "$scratch/$label.time" "$@"
}

# Warm: the image's layers and the engine's caches, for both.
"${podman_[@]}" run --rm "${limits[@]}" "$IMAGE" true

# A failed `podman run --rm` (Podman 4.3 races its own cleanup under load: "container has already been removed") is
# counted, not fatal: the baseline's time is still the time of N launches.
touch "$scratch/xargs.failed"
timed xargs sh -c "seq $N | xargs -P $P -I{} sh -c '${podman_[*]} run --rm ${limits[*]} $IMAGE true 2>>$scratch/xargs.err || echo {} >> $scratch/xargs.failed'"
xfail=$(wc -l < "$scratch/xargs.failed")
timed egw dotnet "$egw" run "$scratch/fanout.yaml" -q --data-dir "$scratch/data" --executor container --container-host "$host" \
  -p count="$N" -p image="$IMAGE" -o json > "$scratch/egw.json"
ok=$(python3 -c "import json,sys; w=json.load(open(sys.argv[1])); w=w[0] if isinstance(w,list) else w; print(sum(1 for n in w['status']['nodes'].values() if n.get('type')=='Pod' and n.get('phase')=='Succeeded'))" "$scratch/egw.json")
[[ $ok == "$N" ]] || { echo "egw run: $ok of $N steps Succeeded" >&2; exit 1; }

read -r xw xr < "$scratch/xargs.time"
read -r ew er < "$scratch/egw.time"
ratio=$(python3 -c "print(f'{$ew/$xw:.2f}')")
printf '%-52s %8s %12s %8s\n' system "wall s" "peak RSS MB" "x xargs"
printf '%-52s %8s %12.1f %8s\n' "xargs -P $P podman run --rm $IMAGE true" "$xw" "$(python3 -c "print($xr/1024)")" 1.00
printf '%-52s %8s %12.1f %8s\n' "egw run --executor container" "$ew" "$(python3 -c "print($er/1024)")" "$ratio"
echo "N=$N P=$P nice=$NICE engine=$host target: <= 1.3x; podman run failures in the xargs row: $xfail"
mkdir -p "$repo/bench/results"
json="{\"bench\":\"containers\",\"n\":$N,\"p\":$P,\"nice\":$NICE,\"xargs_wall_s\":$xw,\"egw_wall_s\":$ew,\"ratio\":$ratio,\"xargs_failed\":$xfail}"
echo "$json" | tee "$repo/bench/results/containers-$(date -u +%Y%m%dT%H%M%SZ).json"

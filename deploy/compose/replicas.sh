#!/bin/sh
# Three egw replicas on one machine over nats-server (JetStream) and PostgreSQL, for trying the multi-replica mode
# (Debian: apt-get install nats-server postgresql s3rver-or-any-S3). Everything lives under $DIR; Ctrl-C stops it all.
# Each replica serves its API on 2746+i and takes webhooks on its own loopback address 127.0.0.i (the same ports
# everywhere, as pods on their own IPs). Usage: deploy/compose/replicas.sh [MANIFEST_DIR] (S3 endpoint in $EGW_S3).
set -eu
DIR=${DIR:-/tmp/egw-replicas}
MANIFESTS=${1:-}
EGW=${EGW:-egw}
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort | tail -n 1)
mkdir -p "$DIR"
pids=""
trap 'kill $pids 2>/dev/null; wait' INT TERM EXIT

nats-server -js -a 127.0.0.1 -p 4222 -sd "$DIR/nats" >"$DIR/nats.log" 2>&1 & pids="$pids $!"

if [ ! -d "$DIR/pg" ]; then
  mkdir -p "$DIR/pg" && chown postgres "$DIR/pg"
  setpriv --reuid=postgres --regid=postgres --init-groups "$PG_BIN/initdb" -D "$DIR/pg" -U egw --auth=trust >/dev/null
fi
setpriv --reuid=postgres --regid=postgres --init-groups "$PG_BIN/postgres" -D "$DIR/pg" -p 5433 -k "$DIR/pg" \
  -c listen_addresses=127.0.0.1 >"$DIR/pg.log" 2>&1 & pids="$pids $!"
until "$PG_BIN/pg_isready" -h 127.0.0.1 -p 5433 >/dev/null 2>&1; do sleep 0.2; done
"$PG_BIN/psql" -h 127.0.0.1 -p 5433 -U egw -d postgres -tc "SELECT 1 FROM pg_database WHERE datname = 'egw'" | grep -q 1 \
  || "$PG_BIN/psql" -h 127.0.0.1 -p 5433 -U egw -d postgres -c "CREATE DATABASE egw" >/dev/null

cat >"$DIR/repository.yaml" <<YAML
s3: {endpoint: ${EGW_S3:-127.0.0.1:9000}, bucket: egw-artifacts, insecure: true}
YAML

for i in 1 2 3; do
  $EGW serve --data-dir "$DIR/r$i" --port $((2746 + i)) --events-address 127.0.0.$i --replica-id "r$i" \
    --store postgres://egw@127.0.0.1:5433/egw --event-bus nats://127.0.0.1:4222 \
    --artifact-repository "$DIR/repository.yaml" ${MANIFESTS:+--manifests "$MANIFESTS"} >"$DIR/r$i.log" 2>&1 & pids="$pids $!"
done
echo "replicas r1..r3: API on 127.0.0.1:2747..2749 (tokens in $DIR/r*/), webhooks on 127.0.0.1..3; logs in $DIR"
wait

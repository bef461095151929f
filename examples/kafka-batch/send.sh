#!/usr/bin/env bash
# Sends one batch request to the topic "batches" with kcat: bash send.sh [BATCH] [ITEM...]
#   BROKER=localhost:9092 (the EventSource's url)
set -euo pipefail
batch=${1:-batch-$(date +%s)}
shift || true
items=("$@")
[ ${#items[@]} -gt 0 ] || items=(alpha beta gamma)
json=$(printf '"%s",' "${items[@]}")
printf '{"batch":"%s","items":[%s]}\n' "$batch" "${json%,}" | kcat -P -b "${BROKER:-localhost:9092}" -t batches
echo "sent $batch with ${#items[@]} items"

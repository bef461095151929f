#!/usr/bin/env bash
# Sends one signed GitHub push to the example, as GitHub would: bash send-push.sh [COMMIT]
#   PORT=12000  SECRET=change-me (the Secret's value)  HOST=localhost
set -euo pipefail
commit=${1:-$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')}
body=$(printf '{"ref":"refs/heads/main","after":"%s","repository":{"full_name":"acme/api"},"head_commit":{"id":"%s"}}' "$commit" "$commit")
signature=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "${SECRET:-change-me}" | sed 's/^.* //')
curl -sS --fail-with-body -X POST "http://${HOST:-localhost}:${PORT:-12000}/push" \
  -H "Content-Type: application/json" -H "X-GitHub-Event: push" \
  -H "X-GitHub-Delivery: $(cat /proc/sys/kernel/random/uuid)" \
  -H "X-Hub-Signature-256: sha256=$signature" \
  --data-binary "$body"
echo

#!/usr/bin/env bash
# Uploads a small CSV to s3://uploads/incoming/ with curl (SigV4): bash upload.sh [NAME]
#   S3=http://localhost:4568  ACCESS_KEY=S3RVER  SECRET_KEY=S3RVER (the Secret's values)
set -euo pipefail
name=${1:-batch-$(date +%s).csv}
file=$(mktemp)
trap 'rm -f "$file"' EXIT
printf 'region,total\nnorth,42\n' >"$file"
curl -sS --fail-with-body --aws-sigv4 "aws:amz:us-east-1:s3" --user "${ACCESS_KEY:-S3RVER}:${SECRET_KEY:-S3RVER}" \
  -H "x-amz-content-sha256: $(sha256sum "$file" | cut -d' ' -f1)" \
  -T "$file" "${S3:-http://localhost:4568}/uploads/incoming/$name"
echo "uploaded incoming/$name"

#!/usr/bin/env bash
# `npm run bench`: prints speed and memory numbers (never asserts them). Each bench/*.ts is standalone.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-docker.sh
bin/labrun images
npm run --silent build
status=0
for f in bench/*.ts; do
  echo "=== $f"
  node --import tsx "$f" || { echo "!!! $f failed"; status=1; }
done
exit $status

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
  # Exit 3 (bench/measure.ts): ran to the end but printed "could not measure …" lines.
  node --import tsx "$f" || { rc=$?; [ "$rc" -eq 3 ] && echo "!!! $f: some measurements could not be made (see above)" || echo "!!! $f failed (exit $rc)"; status=1; }
done
exit $status

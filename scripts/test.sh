#!/usr/bin/env bash
# `npm test`: makes sure both Docker engines answer and the labs' images exist, builds the client,
# runs unit, integration and end-to-end tests with node's test runner, then fails if any sandbox,
# volume, network or mounted disk was left behind (scripts/leftovers.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-docker.sh
bin/labrun images
npm run --silent build

shopt -s nullglob
files=(test/unit/*.test.ts test/integration/*.test.ts test/e2e/*.test.ts)
# One test file at a time: integration and e2e files each start sandboxes, and two cores are enough
# for one file's sandboxes but not for several files' at once.
# What was there before (another labrun's sandboxes, an earlier run cut short) is not this run's leak.
before=$(bash scripts/leftovers.sh || true)
status=0
node --import tsx --test --test-concurrency=1 "${files[@]}" "$@" || status=$?
leaked=$(comm -13 <(sort <<< "$before") <(bash scripts/leftovers.sh | sort))
if [ -n "$leaked" ]; then
  printf '%s\n' "$leaked" >&2
  echo "npm test: the tests left the sandbox resources above behind" >&2
  status=1
fi
exit "$status"

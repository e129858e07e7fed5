#!/usr/bin/env bash
# `npm test`: makes sure a Docker engine answers and the labs' images exist, builds the client,
# then runs unit, integration and end-to-end tests with node's test runner.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-docker.sh
bin/labrun images
npm run --silent build

shopt -s nullglob
files=(test/unit/*.test.ts test/integration/*.test.ts test/e2e/*.test.ts)
# One test file at a time: integration and e2e files each start sandboxes, and two cores are enough
# for one file's sandboxes but not for several files' at once.
exec node --import tsx --test --test-concurrency=1 "${files[@]}" "$@"

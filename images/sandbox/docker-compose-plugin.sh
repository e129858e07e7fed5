#!/bin/sh
# `docker compose …` for a Docker CLI that only has compose v1 (Debian 12 ships no v2 plugin):
# answer the CLI's plugin handshake, then hand every other invocation to docker-compose unchanged.
if [ "$1" = docker-cli-plugin-metadata ]; then
  printf '%s\n' '{"SchemaVersion":"0.1.0","Vendor":"labrun","Version":"1.29.2","ShortDescription":"Docker Compose (v1, via the labrun shim)"}'
  exit 0
fi
# The CLI invokes a plugin as `<plugin> <name> <args…>`; drop the name.
[ "$1" = compose ] && shift
exec docker-compose "$@"

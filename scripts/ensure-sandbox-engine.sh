#!/usr/bin/env bash
# Makes labrun's own sandbox engine answer: a second dockerd, beside the host's, used only for
# learners' sandboxes. It remaps user namespaces (root in a sandbox is an unprivileged id on the host),
# keeps its state, sockets and pid files apart from the host engine's, touches no iptables, and owns a
# bridge of its own (labrun0): a second engine started with --bridge=none deletes the host's docker0.
# The host engine and the user's containers are never changed. Quiet when the engine already answers.
# Where it cannot run one (not root, not Linux), it says so and exits 0: `labrun serve` then explains
# the choice between fixing that and --isolation=trusted.
set -euo pipefail

readonly SOCKET=/run/labrun-engine.sock
readonly EXEC_ROOT=/run/labrun-engine
readonly PIDFILE=/run/labrun-engine.pid
readonly DATA_ROOT=/var/lib/labrun-engine
readonly LOG=/var/log/labrun-engine.log
readonly REMAP_USER=labrun-sandbox
# One sandbox's ids: root and the 65535 users its inner containers may run as.
readonly REMAP_COUNT=65536
readonly BRIDGE=labrun0
# Sandboxes have no network of their own; the bridge only has to exist and not clash with anything.
readonly BRIDGE_ADDRESS=10.213.255.1/24
readonly WAIT_SECONDS=60

say() { echo "ensure-sandbox-engine: $*" >&2; }

engine_answers() {
  timeout 10 docker -H "unix://$SOCKET" info --format '{{.SecurityOptions}}' 2>/dev/null | grep -q userns
}

[ "${LABRUN_ISOLATION:-isolated}" = trusted ] && exit 0
if [ -n "${LABRUN_SANDBOX_ENGINE:-}" ] && [ "$LABRUN_SANDBOX_ENGINE" != "unix://$SOCKET" ]; then
  exit 0 # an engine the user runs themselves; labrun serve checks it answers and remaps
fi
engine_answers && exit 0

cannot() {
  say "cannot start labrun's isolated sandbox engine: $1."
  say "labrun serve will say what to do (run this as root on Linux, or choose --isolation=trusted)."
  exit 0
}
[ "$(uname -s)" = Linux ] || cannot "it needs Linux user namespaces (this is $(uname -s))"
[ "$(id -u)" -eq 0 ] || cannot "starting a Docker engine needs root"
command -v dockerd >/dev/null 2>&1 || cannot "dockerd is not installed (scripts/ensure-docker.sh installs Debian's docker.io)"

# The remap user and its subordinate id range, placed after every range already handed out.
if ! getent passwd "$REMAP_USER" >/dev/null; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$REMAP_USER"
fi
touch /etc/subuid /etc/subgid
if ! grep -q "^$REMAP_USER:" /etc/subuid || ! grep -q "^$REMAP_USER:" /etc/subgid; then
  # The same start in both files, so a sandbox's uid and gid of 0 are one host id.
  start=$(awk -F: 'BEGIN { top = 300000 } { end = $2 + $3; if (end > top) top = end } END { print top }' /etc/subuid /etc/subgid)
  sed -i "/^$REMAP_USER:/d" /etc/subuid /etc/subgid
  echo "$REMAP_USER:$start:$REMAP_COUNT" | tee -a /etc/subuid >> /etc/subgid
fi

if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
  ip link add "$BRIDGE" type bridge
  ip addr add "$BRIDGE_ADDRESS" dev "$BRIDGE"
  ip link set "$BRIDGE" up
fi

# A dockerd killed without a clean shutdown leaves pid files that stop the next one from starting.
for pidfile in "$PIDFILE" "$EXEC_ROOT/containerd/containerd.pid"; do
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then rm -f "$pidfile"; fi
  fi
done

started=
if ! pgrep -f -- "--exec-root $EXEC_ROOT" >/dev/null 2>&1; then
  say "starting labrun's sandbox engine (socket $SOCKET, log $LOG)"
  mkdir -p "$DATA_ROOT" "$EXEC_ROOT"
  # setsid + nohup: the daemon must outlive this script and the terminal or CI step that ran it.
  setsid nohup dockerd \
    --userns-remap="$REMAP_USER" \
    --data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT" --pidfile "$PIDFILE" -H "unix://$SOCKET" \
    --containerd-namespace labrun --containerd-plugins-namespace labrun-plugins \
    --bridge="$BRIDGE" --iptables=false --ip-masq=false --ip-forward=false \
    >>"$LOG" 2>&1 </dev/null &
  started=$!
fi

for _ in $(seq 1 "$WAIT_SECONDS"); do
  engine_answers && exit 0
  if [ -n "$started" ] && ! kill -0 "$started" 2>/dev/null; then break; fi
  sleep 1
done
say "labrun's sandbox engine did not answer within ${WAIT_SECONDS}s. Last lines of $LOG:"
tail -n 20 "$LOG" >&2 2>/dev/null || true
exit 1

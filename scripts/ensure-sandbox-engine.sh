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
# Sandboxes of labs that declare `egress: true` join this network: they reach outside addresses
# (to pull or build) through NAT, but never this host, private ranges, or each other.
readonly EGRESS_NETWORK=labrun-egress
readonly EGRESS_BRIDGE=labrun-egress0
readonly EGRESS_SUBNET=10.214.0.0/16

say() { echo "ensure-sandbox-engine: $*" >&2; }

engine_answers() {
  timeout 10 docker -H "unix://$SOCKET" info --format '{{.SecurityOptions}}' 2>/dev/null | grep -q userns
}

[ "${LABRUN_ISOLATION:-isolated}" = trusted ] && exit 0
if [ -n "${LABRUN_SANDBOX_ENGINE:-}" ] && [ "$LABRUN_SANDBOX_ENGINE" != "unix://$SOCKET" ]; then
  exit 0 # an engine the user runs themselves; labrun serve checks it answers and remaps
fi
# The egress network and the host's filter rules for it; idempotent, run on every call since a host
# engine restart or a reboot can drop the rules.
setup_egress() {
  if ! command -v iptables >/dev/null 2>&1; then
    say "no iptables on this host: sandboxes of labs that ask for egress will not start"
    return 0
  fi
  if ! docker -H "unix://$SOCKET" network inspect "$EGRESS_NETWORK" >/dev/null 2>&1; then
    # Packets leave through the host's uplink, which may carry less than Ethernet's 1500 bytes.
    uplink=$(ip route show default 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
    mtu=$(cat "/sys/class/net/${uplink:-none}/mtu" 2>/dev/null || echo 1500)
    docker -H "unix://$SOCKET" network create --driver bridge --subnet "$EGRESS_SUBNET" \
      -o com.docker.network.bridge.name="$EGRESS_BRIDGE" -o com.docker.network.driver.mtu="$mtu" \
      --label labrun.egress=1 "$EGRESS_NETWORK" >/dev/null
  fi
  # Traffic between two sandboxes on the bridge must pass the filter below, not just be bridged.
  [ -w /proc/sys/net/bridge/bridge-nf-call-iptables ] && echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables
  # In place already: leave it, rather than flush it and leave a moment with no rules.
  if iptables -C FORWARD -j LABRUN-EGRESS 2>/dev/null && iptables -C INPUT -j LABRUN-EGRESS-IN 2>/dev/null &&
    iptables -C LABRUN-EGRESS-IN -i "$EGRESS_BRIDGE" -j DROP 2>/dev/null &&
    iptables -t nat -C POSTROUTING -s "$EGRESS_SUBNET" ! -o "$EGRESS_BRIDGE" -j MASQUERADE 2>/dev/null; then
    return 0
  fi
  iptables -N LABRUN-EGRESS 2>/dev/null || iptables -F LABRUN-EGRESS
  iptables -N LABRUN-EGRESS-IN 2>/dev/null || iptables -F LABRUN-EGRESS-IN
  # Forwarded: answers come back; nothing else may start a connection to a sandbox or between two.
  iptables -A LABRUN-EGRESS -o "$EGRESS_BRIDGE" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
  iptables -A LABRUN-EGRESS -o "$EGRESS_BRIDGE" -j DROP
  # Name lookups go to the resolvers the host uses, wherever they are (often a private address).
  for ns in $(awk '/^nameserver/ { print $2 }' /etc/resolv.conf | grep -E '^[0-9.]+$' | grep -v '^127\.'); do
    iptables -A LABRUN-EGRESS -i "$EGRESS_BRIDGE" -d "$ns" -p udp --dport 53 -j ACCEPT
    iptables -A LABRUN-EGRESS -i "$EGRESS_BRIDGE" -d "$ns" -p tcp --dport 53 -j ACCEPT
  done
  for net in 0.0.0.0/8 10.0.0.0/8 100.64.0.0/10 127.0.0.0/8 169.254.0.0/16 172.16.0.0/12 192.168.0.0/16 224.0.0.0/4 240.0.0.0/4; do
    iptables -A LABRUN-EGRESS -i "$EGRESS_BRIDGE" -d "$net" -j DROP
  done
  iptables -A LABRUN-EGRESS -i "$EGRESS_BRIDGE" -j ACCEPT
  # To this host itself (labrun, the engines' sockets are not on the network, any service): nothing.
  iptables -A LABRUN-EGRESS-IN -i "$EGRESS_BRIDGE" -j DROP
  iptables -C FORWARD -j LABRUN-EGRESS 2>/dev/null || iptables -I FORWARD 1 -j LABRUN-EGRESS
  iptables -C INPUT -j LABRUN-EGRESS-IN 2>/dev/null || iptables -I INPUT 1 -j LABRUN-EGRESS-IN
  iptables -t nat -C POSTROUTING -s "$EGRESS_SUBNET" ! -o "$EGRESS_BRIDGE" -j MASQUERADE 2>/dev/null ||
    iptables -t nat -A POSTROUTING -s "$EGRESS_SUBNET" ! -o "$EGRESS_BRIDGE" -j MASQUERADE
}

if engine_answers; then
  [ "$(id -u)" -eq 0 ] && setup_egress
  exit 0
fi

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
  if engine_answers; then
    setup_egress
    exit 0
  fi
  if [ -n "$started" ] && ! kill -0 "$started" 2>/dev/null; then break; fi
  sleep 1
done
say "labrun's sandbox engine did not answer within ${WAIT_SECONDS}s. Last lines of $LOG:"
tail -n 20 "$LOG" >&2 2>/dev/null || true
exit 1

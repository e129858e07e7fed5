#!/usr/bin/env bash
# Makes a Docker engine answer on this machine, or says exactly what to install; then makes labrun's own
# isolated sandbox engine answer beside it (scripts/ensure-sandbox-engine.sh).
# Quiet and changes nothing when both already answer. As root on Debian without systemd
# (containers, CI VMs) it installs what is missing (docker.io, docker-compose, debootstrap), clears
# pid files a killed dockerd left behind, and starts dockerd detached so it outlives this script.
set -euo pipefail

# Bounded wait for a fresh dockerd; on this kind of machine it answers in about 2 s.
readonly WAIT_SECONDS=60
readonly LOG=/var/log/labrun-dockerd.log
readonly PACKAGES=(docker.io docker-compose debootstrap)

docker_answers() {
  command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1
}

say() { echo "ensure-docker: $*" >&2; }

# The host engine answers: on to the sandbox engine, whose exit status is ours.
host_engine_ready() {
  exec bash "$(dirname "${BASH_SOURCE[0]}")/ensure-sandbox-engine.sh"
}

if docker_answers; then
  host_engine_ready
fi

explain_manual_install() {
  say "no Docker engine answers, and this script can only install one as root on Debian ($1)."
  cat >&2 <<'EOF'
Install and start a Docker engine yourself, then run this again:
  - Debian/Ubuntu: sudo apt-get install docker.io docker-compose debootstrap && sudo systemctl start docker
    (and add yourself to the docker group: sudo usermod -aG docker "$USER", then log in again)
  - macOS/Windows: start Docker Desktop and wait until `docker info` answers.
  - Other Linux: https://docs.docker.com/engine/install/
EOF
  exit 1
}

if [ -n "${DOCKER_HOST:-}" ] && [ "$DOCKER_HOST" != unix:///var/run/docker.sock ]; then
  say "DOCKER_HOST=$DOCKER_HOST does not answer; start that engine (or unset DOCKER_HOST to use a local one)."
  exit 1
fi
[ "$(id -u)" -eq 0 ] || explain_manual_install "not running as root"
[ -r /etc/debian_version ] && command -v apt-get >/dev/null 2>&1 || explain_manual_install "not Debian"

# With systemd managing Docker, starting a second dockerd by hand would fight it.
if [ -d /run/systemd/system ] && systemctl cat docker.service >/dev/null 2>&1; then
  say "Docker is installed as a systemd service but does not answer; starting it"
  systemctl start docker
  for _ in $(seq 1 "$WAIT_SECONDS"); do docker_answers && host_engine_ready; sleep 1; done
  say "docker.service did not answer within ${WAIT_SECONDS}s; see: journalctl -u docker --no-pager | tail -50"
  exit 1
fi

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]} (of ${PACKAGES[*]})"
  export DEBIAN_FRONTEND=noninteractive
  # apt is chatty even when all goes well: keep its output for the failure message only.
  apt_log=$(mktemp)
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$apt_log" 2>&1; then
    tail -n 20 "$apt_log" >&2
    rm -f "$apt_log"
    say "installing ${missing[*]} failed (above). Check that apt reaches its mirror: apt-get update"
    exit 1
  fi
  rm -f "$apt_log"
fi

# A dockerd killed without a clean shutdown leaves these behind, and the next one refuses to start
# ("pid file found") or times out waiting for containerd. Remove them only if their process is gone.
for pidfile in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      say "a process ($pid, from $pidfile) is still running but Docker does not answer; waiting for it"
    else
      rm -f "$pidfile"
    fi
  fi
done

started=
if ! pgrep -x dockerd >/dev/null 2>&1; then
  say "starting dockerd (log: $LOG)"
  # setsid + nohup: the daemon must outlive this script and the terminal or CI step that ran it.
  setsid nohup dockerd >>"$LOG" 2>&1 </dev/null &
  started=$!
fi

for _ in $(seq 1 "$WAIT_SECONDS"); do
  if docker_answers; then
    host_engine_ready
  fi
  # A daemon that already exited will not answer later: report at once instead of waiting.
  if [ -n "$started" ] && ! kill -0 "$started" 2>/dev/null; then
    break
  fi
  sleep 1
done

if [ -n "$started" ] && ! kill -0 "$started" 2>/dev/null; then
  say "dockerd exited during startup. Last lines of $LOG:"
else
  say "dockerd did not answer within ${WAIT_SECONDS}s. Last lines of $LOG:"
fi
tail -n 20 "$LOG" >&2 2>/dev/null || true
cat >&2 <<EOF
What to try: look for the error above; if it says "pid file found" or "timeout waiting for containerd",
make sure no old dockerd/containerd runs (pgrep -a dockerd; pgrep -a containerd), remove
/var/run/docker.pid and /var/run/docker/containerd/containerd.pid, and run this script again.
EOF
exit 1

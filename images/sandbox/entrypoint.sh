#!/bin/bash
# Starts the sandbox's inner Docker daemon as PID 1, in one of two settings the driver chooses:
# - isolated: this container runs in a user namespace (root here is an unprivileged id on the host),
#   with no network, a read-only root filesystem, and /var/lib/docker, /root and /tmp on a size-limited
#   disk of its own. dockerd cannot create cgroups there on a cgroup v1 host, so it runs in rootless
#   mode (no cgroups of its own; the sandbox's limits still hold from outside); where a cgroup v2
#   subtree is delegated to the sandbox it uses that instead.
# - trusted: host root with broad capabilities (--privileged where the host allows it). Docker mounts
#   /sys and the cgroup tree read-only without --privileged; dockerd needs them writable.
set -euo pipefail

in_user_namespace() {
  # The initial user namespace maps all 2^32 ids starting at 0; a remapped one starts elsewhere.
  local inside outside count
  read -r inside outside count < /proc/self/uid_map
  [ "$outside" != 0 ] || [ "$count" != 4294967295 ]
}

args=(
  --host=unix:///var/run/docker.sock
  --bip=10.200.0.1/24
  --default-address-pool base=10.201.0.0/16,size=24
)

# Inner containers' packets travel inside the sandbox's own interface (when it has one: isolated
# sandboxes have none unless their lab asks for egress), so they must not be larger.
[ -e /sys/class/net/eth0/mtu ] && args+=(--mtu="$(cat /sys/class/net/eth0/mtu)")

# cgroup v2 (most current hosts): dockerd can only delegate controllers from a cgroup with no
# processes of its own, so move ours into a child group first (as moby's hack/dind does).
nest_cgroup_v2() {
  mkdir -p /sys/fs/cgroup/init
  xargs -rn1 < /sys/fs/cgroup/cgroup.procs > /sys/fs/cgroup/init/cgroup.procs 2>/dev/null || true
  sed -e 's/ / +/g' -e 's/^/+/' < /sys/fs/cgroup/cgroup.controllers > /sys/fs/cgroup/cgroup.subtree_control || true
}

if in_user_namespace; then
  if [ -f /sys/fs/cgroup/cgroup.controllers ] && [ -w /sys/fs/cgroup/cgroup.procs ]; then
    # A cgroup v2 subtree delegated to this sandbox: the inner engine can limit its containers itself.
    nest_cgroup_v2
  else
    # cgroup v1 (or nothing delegated): no cgroups of its own; the sandbox's limits still hold from outside.
    args+=(--rootless)
  fi
else
  # Under --privileged they are writable already and remounting them read-write changes nothing.
  mount -o remount,rw /sys 2>/dev/null || true
  mount -o remount,rw /sys/fs/cgroup 2>/dev/null || true
  # cgroup v1: one read-only bind mount per controller below the tmpfs (v2 has just the one above).
  # A plain remount of a cgroup mount fails ("busy"); a bind remount flips only this mount's ro flag.
  for m in /sys/fs/cgroup/*; do
    if mountpoint -q "$m"; then mount -o remount,bind,rw "$m" 2>/dev/null || true; fi
  done
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then nest_cgroup_v2; fi
fi

# An isolated sandbox's /root is an empty folder on its own disk at first: give it the shell setup.
[ -e /root/.bashrc ] || cp /etc/labrun/bashrc /root/.bashrc
[ -e /root/.profile ] || cp /etc/skel/.profile /root/.profile 2>/dev/null || true

# A container restarted after its daemon was killed keeps the old pid files; no old daemon can be
# alive in this fresh PID namespace, and dockerd refuses to start while they exist.
rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid

# Trusted sandboxes, first start only: seed the daemon's state from the golden copy the driver
# bind-mounts (images already loaded). Isolated sandboxes get theirs as a copy of a disk image instead.
# Before containerd starts: the copy holds containerd's metadata database, and overwriting it under a
# running containerd replaces the file it has open and mapped into memory, and dockerd at times
# never came up.
if [ -d /labrun/golden ] && [ ! -e /var/lib/docker/.labrun-seeded ]; then
  cp -a /labrun/golden/. /var/lib/docker/
  touch /var/lib/docker/.labrun-seeded
fi
# The golden copy is shared by every sandbox: once seeded, take it out of the learner's reach (root
# here could remount it read-write and poison the next learners' images).
if mountpoint -q /labrun/golden; then umount /labrun/golden; fi

# dockerd starting its own containerd dials it before containerd has made its socket, then waits a
# second to retry (measured: 1.0 of 1.6 s to ready). Start containerd first, where dockerd would,
# with the settings dockerd would give it (containerd.toml), not the distribution's.
containerd_sock=/run/docker/containerd/containerd.sock
mkdir -p /run/docker/containerd
containerd --config /etc/labrun/containerd.toml --root /var/lib/docker/containerd/daemon \
  --state /run/docker/containerd/daemon --address "$containerd_sock" &
for _ in $(seq 1 250); do [ -S "$containerd_sock" ] && break; sleep 0.02; done
args+=(--containerd="$containerd_sock")

# The host reaches the inner Engine API through a socket in a folder it bind-mounts here.
if [ -d /run/labrun ]; then
  rm -f /run/labrun/docker.sock
  args+=(--host=unix:///run/labrun/docker.sock)
  if [ -n "${LABRUN_SOCKET_OWNER:-}" ]; then
    # dockerd creates the socket root-owned; hand it to the host user running labrun.
    ( for _ in $(seq 1 600); do
        [ -S /run/labrun/docker.sock ] && { chown "$LABRUN_SOCKET_OWNER" /run/labrun/docker.sock; exit 0; }
        sleep 0.05
      done ) &
  fi
fi

exec dockerd "${args[@]}" "$@"

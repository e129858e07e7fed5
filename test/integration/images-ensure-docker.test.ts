// scripts/ensure-docker.sh (and the sandbox engine it hands over to) for real: quiet no-op when the engine answers, clear refusals when it cannot
// help, and — inside a throwaway Docker-in-Docker container that has docker.io but no running daemon
// and stale pid files from a "killed" one — it installs what is missing and starts dockerd.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SANDBOX_IMAGE, ensureImages } from '../../server/images/ensure-images.ts';
import { requireDocker } from '../support/require.ts';

const SCRIPT = fileURLToPath(new URL('../../scripts/ensure-docker.sh', import.meta.url));
const LABEL = `labrun.test=images-ensure-docker-${process.pid}`;
// The capability set that runs a nested dockerd without --privileged (see RUNTIME-FACTS).
const DIND_FLAGS = [
  '--cap-add', 'ALL', '--cap-drop', 'SYS_RESOURCE',
  '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined',
  '--security-opt', 'systempaths=unconfined',
];

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, cwd?: string) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, cwd, timeout: 180_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

after(() => {
  const ids = sh('docker', ['ps', '-aq', '--filter', `label=${LABEL}`]).stdout.split('\n').filter(Boolean);
  if (ids.length) sh('docker', ['rm', '-f', '-v', ...ids]);
});

test('ensure-docker.sh is a silent no-op when the engine answers', (t) => {
  if (!requireDocker(t)) return;
  const r = sh('bash', [SCRIPT]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout + r.stderr, '');
});

test('ensure-docker.sh refuses to start a local daemon for a DOCKER_HOST that does not answer', () => {
  const r = sh('bash', [SCRIPT], { ...process.env, DOCKER_HOST: 'unix:///nonexistent/labrun-test.sock' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /DOCKER_HOST=unix:\/\/\/nonexistent\/labrun-test\.sock does not answer/);
});

test('ensure-docker.sh tells a non-root user what to install', (t) => {
  if (process.getuid?.() !== 0 || !existsSync('/usr/sbin/runuser')) {
    t.skip('needs root and runuser to act as an unprivileged user');
    return;
  }
  // A copy nobody can read: the checkout may sit below a directory only root may enter (mktemp -d's 0700).
  const dir = mkdtempSync(path.join(tmpdir(), 'labrun-ensure-docker-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  const script = path.join(dir, 'ensure-docker.sh');
  copyFileSync(SCRIPT, script);
  chmodSync(script, 0o644);
  // nobody cannot use the root-owned engine socket, so for nobody no engine answers.
  const r = sh('runuser', ['-u', 'nobody', '--', 'bash', script], { ...process.env, DOCKER_HOST: '' }, dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /not running as root/);
  assert.match(r.stderr, /apt-get install docker\.io docker-compose debootstrap/);
});

test('ensure-docker.sh installs what is missing and starts dockerd past stale pid files', async (t) => {
  if (!requireDocker(t)) return;
  await ensureImages([SANDBOX_IMAGE]);
  const run = sh('docker', [
    'run', '-d', '--label', LABEL, ...DIND_FLAGS,
    '-v', '/var/lib/docker',
    '-v', '/var/lib/labrun-engine',
    // The whole folder: ensure-docker.sh hands over to ensure-sandbox-engine.sh beside it.
    '-v', `${path.dirname(path.resolve(SCRIPT))}:/labrun-scripts:ro`,
    '--entrypoint', 'sleep', SANDBOX_IMAGE, 'infinity',
  ]);
  assert.equal(run.code, 0, run.stderr);
  const id = run.stdout.trim();
  const inside = (script: string) => sh('docker', ['exec', id, 'bash', '-c', script]);

  // Docker mounts /sys and the cgroup tree read-only without --privileged; a daemon needs them writable
  // (the sandbox entrypoint does the same). Then: a "killed" daemon's pid files, and no debootstrap.
  const prep = inside(`
    set -e
    mount -o remount,rw /sys
    if [ "$(stat -fc %T /sys/fs/cgroup)" = tmpfs ]; then
      mount -o remount,rw /sys/fs/cgroup
      for m in /sys/fs/cgroup/*; do mountpoint -q "$m" && mount -o remount,rw "$m" 2>/dev/null || true; done
    else
      mount -o remount,rw /sys/fs/cgroup
    fi
    mkdir -p /var/run/docker/containerd
    echo 999999 > /var/run/docker.pid
    echo 999998 > /var/run/docker/containerd/containerd.pid
    echo 999997 > /run/labrun-engine.pid
    dpkg -r debootstrap >/dev/null 2>&1 || true
    ! command -v debootstrap
    ! docker info >/dev/null 2>&1
  `);
  assert.equal(prep.code, 0, prep.stdout + prep.stderr);

  const first = inside('bash /labrun-scripts/ensure-docker.sh');
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assert.match(first.stderr, /installing debootstrap/);
  assert.match(first.stderr, /starting dockerd/);
  assert.match(first.stderr, /starting labrun's sandbox engine/);

  const after = inside('docker info --format "{{.ServerVersion}}" && command -v debootstrap && echo "$(cat /var/run/docker.pid)" && pgrep -x dockerd');
  assert.equal(after.code, 0, after.stdout + after.stderr);
  const [, , pidFile, running] = after.stdout.trim().split('\n');
  assert.notEqual(pidFile, '999999');
  assert.equal(pidFile, running, 'the pid file names the running dockerd');
  // The sandbox engine came up past its own stale pid file, remapping to the user it created.
  const engine = inside("docker -H unix:///run/labrun-engine.sock info --format '{{.SecurityOptions}} {{.DockerRootDir}}' && grep '^labrun-sandbox:' /etc/subuid && ip -br link show labrun0");
  assert.equal(engine.code, 0, engine.stdout + engine.stderr);
  assert.match(engine.stdout, /name=userns/);
  assert.match(engine.stdout, /\/var\/lib\/labrun-engine\/(\d+)\.\1\b/);
  assert.match(engine.stdout, /^labrun-sandbox:\d+:65536$/m);
  assert.match(engine.stdout, /^labrun0\s/m);

  const second = inside('bash /labrun-scripts/ensure-docker.sh');
  assert.equal(second.code, 0);
  assert.equal(second.stdout + second.stderr, '', 'quiet when nothing is needed');
});

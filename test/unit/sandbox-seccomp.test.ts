// labrun's seccomp profile for isolated sandboxes: what nested container runtimes need stays allowed,
// what no learner's machine needs is refused, on every ABI of the architecture.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { sandboxSeccompProfile } from '../../server/sandbox/seccomp.ts';

const Profile = z.object({
  defaultAction: z.string(),
  architectures: z.array(z.string()),
  syscalls: z.array(z.object({ names: z.array(z.string()), action: z.string(), errnoRet: z.number() })),
});

test('nested runtimes keep mount, unshare, setns, pivot_root and keyctl; modules, kexec, clock and the kernel log are refused', () => {
  const p = Profile.parse(JSON.parse(sandboxSeccompProfile('x64')));
  assert.equal(p.defaultAction, 'SCMP_ACT_ALLOW');
  const refused = new Set(p.syscalls.flatMap((s) => (s.action === 'SCMP_ACT_ERRNO' ? s.names : [])));
  for (const needed of ['mount', 'umount2', 'unshare', 'setns', 'pivot_root', 'keyctl', 'clone', 'clone3', 'seccomp']) {
    assert.equal(refused.has(needed), false, `${needed} must stay allowed for the inner runtime`);
  }
  for (const name of ['init_module', 'finit_module', 'kexec_load', 'reboot', 'clock_settime', 'settimeofday', 'syslog', 'open_by_handle_at', 'bpf', 'io_uring_setup']) {
    assert.equal(refused.has(name), true, `${name} must be refused`);
  }
  assert.ok(p.syscalls.every((s) => s.errnoRet === 1), 'refusals read as EPERM, "Operation not permitted"');
});

test('every ABI a process can call the kernel with is covered, so 32-bit calls do not bypass the rules', () => {
  assert.deepEqual(Profile.parse(JSON.parse(sandboxSeccompProfile('x64'))).architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  assert.deepEqual(Profile.parse(JSON.parse(sandboxSeccompProfile('arm64'))).architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
});

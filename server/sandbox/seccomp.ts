// The seccomp profile of isolated sandboxes. Docker's default profile cannot be used as it is: a
// sandbox runs its own container runtime, which needs mount, unshare, setns, pivot_root and keyctl
// (runc joins a session keyring), all of which the default refuses. So this profile allows what a
// nested runtime needs and refuses, like the default, what no learner's machine has a use for: module
// loading, kexec and reboot, setting the clock, swap and accounting, raw port I/O, the kernel log,
// open_by_handle_at (the classic container escape), and interfaces with a long record of kernel bugs
// (perf events, bpf, userfaultfd, io_uring). The user namespace already refuses most of these; the
// profile is a second wall in case a kernel bug lets one through. Inner containers inherit it.

/** Syscalls refused with EPERM, grouped by why. */
const REFUSED: Record<string, readonly string[]> = {
  modules: ['init_module', 'finit_module', 'delete_module', 'create_module', 'query_module', 'get_kernel_syms'],
  'kexec and reboot': ['kexec_load', 'kexec_file_load', 'reboot'],
  clock: ['settimeofday', 'clock_settime', 'clock_adjtime', 'adjtimex', 'stime'],
  'swap and accounting': ['swapon', 'swapoff', 'acct', 'quotactl', 'quotactl_fd'],
  'raw I/O': ['iopl', 'ioperm', 'vm86', 'vm86old'],
  'kernel log': ['syslog'],
  'file handles': ['open_by_handle_at', 'name_to_handle_at'],
  'bug-prone interfaces': ['perf_event_open', 'bpf', 'userfaultfd', 'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'lookup_dcookie'],
  obsolete: ['uselib', 'nfsservctl', '_sysctl'],
};

/** EPERM: what a caller without the privilege gets, so tools print "Operation not permitted". */
const EPERM = 1;

/** Every ABI a process on this architecture can call the kernel with, so none bypasses the rules. */
function architectures(arch: string): string[] {
  if (arch === 'x64') return ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'];
  if (arch === 'arm64') return ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'];
  return [];
}

export function refusedSyscalls(): string[] {
  return Object.values(REFUSED).flat();
}

/** The profile as Docker's API takes it in `SecurityOpt: ['seccomp=<json>']`. */
export function sandboxSeccompProfile(arch: string = process.arch): string {
  return JSON.stringify({
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: architectures(arch),
    syscalls: [{ names: refusedSyscalls(), action: 'SCMP_ACT_ERRNO', errnoRet: EPERM }],
  });
}

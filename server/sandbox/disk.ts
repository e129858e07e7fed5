// An isolated sandbox's own disk: one sparse ext4 image file, loop-mounted by the host, that holds the
// inner engine's state (/var/lib/docker), the workspace (/root) and /tmp. Its size is the most the
// sandbox can write, so a learner cannot fill the host's disk; the rest of the sandbox's root
// filesystem is read-only. A prepared ("golden") disk with the lab's images is copied as one sparse
// file, which is far faster than copying thousands of files.
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { SandboxError } from './sandbox.ts';
import type { RemapIds } from './engines.ts';
import { errorMessage } from './docker-errors.ts';

const run = promisify(execFile);
const stderrSchema = z.object({ stderr: z.string() });

/** Folders of the disk and where the sandbox sees them. */
export const DISK_FOLDERS = [
  { name: 'docker', target: '/var/lib/docker', mode: 0o710 },
  { name: 'root', target: '/root', mode: 0o700 },
  { name: 'tmp', target: '/tmp', mode: 0o1777 },
] as const;

/**
 * One inode per 64 KiB: a lab's images and stacks are thousands of files, not millions, and fewer
 * inode tables keep a fresh image's real size small (about 200 MB of tables at ext4's default for 10 GiB).
 */
const BYTES_PER_INODE = 65536;
/** mount/umount/mkfs of a loop file take well under a second; bound them anyway. */
const COMMAND_TIMEOUT_MS = 60_000;

async function sh(cmd: string, args: string[]): Promise<void> {
  try {
    await run(cmd, args, { timeout: COMMAND_TIMEOUT_MS });
  } catch (err) {
    const stderr = stderrSchema.safeParse(err).data?.stderr.trim();
    throw new SandboxError(
      `${cmd} ${args.join(' ')} failed: ${stderr || errorMessage(err)}`,
      'Isolated sandboxes need root on a Linux host with loop devices and mkfs.ext4 (e2fsprogs).',
    );
  }
}

/** Makes an empty disk image of `sizeBytes` whose root belongs to the sandbox's root. */
export async function createEmptyDisk(image: string, sizeBytes: number, owner: RemapIds): Promise<void> {
  await sh('truncate', ['-s', String(sizeBytes), image]);
  // -m 0: ext4 reserves 5% for host uid 0, which a remapped sandbox never is.
  await sh('mkfs.ext4', ['-q', '-F', '-m', '0', '-i', String(BYTES_PER_INODE), '-E', `root_owner=${owner.uid}:${owner.gid}`, image]);
}

/** Copies a prepared disk image; sparse, and a reflink where the host filesystem has them. */
export async function copyDisk(from: string, image: string): Promise<void> {
  await sh('cp', ['--sparse=always', '--reflink=auto', from, image]);
}

/** Whether something is mounted at `path` (read from this process's mount table). */
export async function isMounted(path: string): Promise<boolean> {
  const table = await readFile('/proc/self/mountinfo', 'utf8');
  // Field 5 is the mount point, with spaces and the like octal-escaped.
  const escaped = path.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return table.split('\n').some((line) => line.split(' ')[4] === escaped);
}

/** Loop-mounts the image at `mountPoint` and makes the folders the sandbox binds, owned by its root. */
export async function mountDisk(image: string, mountPoint: string, owner: RemapIds): Promise<void> {
  await mkdir(mountPoint, { recursive: true });
  if (!(await isMounted(mountPoint))) await sh('mount', ['-o', 'loop', image, mountPoint]);
  for (const f of DISK_FOLDERS) {
    const dir = join(mountPoint, f.name);
    const exists = await stat(dir).then(() => true, () => false);
    if (exists) continue;
    await mkdir(dir, { mode: f.mode });
    await sh('chown', [`${owner.uid}:${owner.gid}`, dir]);
    await sh('chmod', [f.mode.toString(8), dir]);
  }
}

/** Unmounts (lazily if something still holds it open) and removes the mount point; idempotent. */
export async function unmountDisk(mountPoint: string): Promise<void> {
  if (await isMounted(mountPoint)) {
    await sh('umount', [mountPoint]).catch(() => sh('umount', ['-l', mountPoint]));
  }
  await rm(mountPoint, { recursive: true, force: true });
}

/** Binds of a mounted disk's folders into the sandbox, in Docker's `source:target` form. */
export function diskBinds(mountPoint: string): string[] {
  return DISK_FOLDERS.map((f) => `${join(mountPoint, f.name)}:${f.target}`);
}

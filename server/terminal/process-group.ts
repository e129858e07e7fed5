// Signals every process of a pty's session, not just the shell: the shell is the session leader
// (node-pty calls setsid), so its pid is the session id; jobs started with job control live in
// their own process groups of the same session and would survive a signal to the shell's group.
import { readdirSync, readFileSync } from 'node:fs';

/** Fields after the command name of /proc/PID/stat (state first), or undefined if PID is gone. */
function statFields(pid: string): string[] | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited while we looked
  }
  // The command name (field 2) is in parentheses and may contain spaces; fields after it are plain.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Dead-but-unreaped processes: where PID 1 does not reap orphans (as on this VM) they linger. */
const isDead = (state: string | undefined): boolean => state === 'Z' || state === 'X';

/** Live (non-zombie) pids whose session id (field 6 of /proc/PID/stat) is `sid`; empty without /proc. */
function sessionMembers(sid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const members: number[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const fields = statFields(name);
    if (fields && !isDead(fields[0]) && Number(fields[3]) === sid) members.push(Number(name));
  }
  return members;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    // Already gone (ESRCH) is the normal race with exit; anything else is a real fault.
    if (!(err instanceof Error && 'code' in err && err.code === 'ESRCH')) throw err;
  }
}

/** Sends `sig` to the process group `pid` and every other process in session `pid`. */
export function signalSession(pid: number, sig: NodeJS.Signals): void {
  if (!Number.isInteger(pid) || pid <= 1) return;
  signal(-pid, sig);
  for (const member of sessionMembers(pid)) signal(member, sig);
}

/** Whether any live process of session `pid` remains (zombies do not count). */
export function sessionAlive(pid: number): boolean {
  return sessionMembers(pid).length > 0;
}

/** Whether `pid` is a live process (not gone, not a zombie). */
export function processAlive(pid: number): boolean {
  const fields = statFields(String(pid));
  return fields !== undefined && !isDead(fields[0]);
}

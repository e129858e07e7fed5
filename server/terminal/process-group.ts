// Signals every process of a pty's session, not just the shell: the shell is the session leader
// (node-pty calls setsid), so its pid is the session id; jobs started with job control live in
// their own process groups of the same session and would survive a signal to the shell's group.
import { readdirSync, readFileSync } from 'node:fs';

/** Pids whose session id (field 6 of /proc/PID/stat) is `sid`; empty where /proc is unavailable. */
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
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // The command name (field 2) is in parentheses and may contain spaces; fields after it are plain.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[3]) === sid) members.push(Number(name));
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

/** Whether any process of session `pid` (or the group `pid`) is still alive. */
export function sessionAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return sessionMembers(pid).length > 0;
  }
}

// Pure parsing of what Linux's /proc says about processes and sockets: the listening TCP sockets of a
// network namespace (/proc/<pid>/net/tcp and tcp6), and a process's parent, start time and pids per
// PID namespace (/proc/<pid>/stat and status). No I/O, so the table-driven tests need no sandbox.

/** The socket state number the kernel writes for LISTEN (include/net/tcp_states.h: TCP_LISTEN = 10). */
const TCP_LISTEN = '0A';

export interface ListenSocket {
  address: string;
  port: number;
  /** The socket's inode, which links it to the file descriptors of the process that owns it. */
  inode: string;
}

/** An IPv4 address as /proc writes it (hex, host byte order = little-endian on the machines we run on). */
function ipv4(hex: string): string {
  const n = Number.parseInt(hex, 16);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff].join('.');
}

/** An IPv6 address as /proc writes it: four 32-bit words, each little-endian; shown in the short form. */
function ipv6(hex: string): string {
  const words: string[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    const bytes = word.match(/../g)?.reverse().join('') ?? '00000000';
    words.push(bytes.slice(0, 4), bytes.slice(4, 8));
  }
  const groups = words.map((g) => Number.parseInt(g, 16).toString(16));
  const full = groups.join(':');
  // IPv4-mapped (::ffff:a.b.c.d) reads better in its dotted form.
  if (/^0:0:0:0:0:ffff:/.test(full)) {
    const v4 = hex.slice(24, 32);
    return `::ffff:${ipv4(v4)}`;
  }
  // The longest run of zero groups becomes '::'.
  let best = { start: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.len) best = { start: i, len: j - i };
    i = j;
  }
  if (best.len < 2) return full;
  const head = groups.slice(0, best.start).join(':');
  const tail = groups.slice(best.start + best.len).join(':');
  return `${head}::${tail}`;
}

/** The LISTEN sockets in the text of /proc/<pid>/net/tcp (v6 = tcp6). Malformed lines are skipped. */
export function parseListenSockets(text: string, v6: boolean): ListenSocket[] {
  const out: ListenSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    const local = cols[1];
    const state = cols[3];
    const inode = cols[9];
    if (!local || state !== TCP_LISTEN || inode === undefined) continue;
    const [addrHex, portHex] = local.split(':');
    if (!addrHex || !portHex || addrHex.length !== (v6 ? 32 : 8) || !/^[0-9A-Fa-f]+$/.test(addrHex + portHex)) continue;
    out.push({ address: v6 ? ipv6(addrHex) : ipv4(addrHex), port: Number.parseInt(portHex, 16), inode });
  }
  return out;
}

export interface ProcStat {
  ppid: number;
  /** Clock ticks since boot when the process started: with the pid, it names one process for good. */
  startTime: string;
  comm: string;
}

/** Fields of /proc/<pid>/stat. The command name is in parentheses and may itself hold spaces or ')'. */
export function parseStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const rest = text.slice(close + 2).split(' ');
  // After the name: state(0) ppid(1) … starttime is field 22 of the whole line, i.e. index 19 here.
  const ppid = Number(rest[1]);
  const startTime = rest[19];
  if (!Number.isInteger(ppid) || startTime === undefined) return undefined;
  return { ppid, startTime, comm: text.slice(open + 1, close) };
}

/** The `NSpid:` line of /proc/<pid>/status: the process's pid in each PID namespace, outermost first. */
export function parseNsPids(status: string): number[] {
  const line = status.split('\n').find((l) => l.startsWith('NSpid:'));
  if (!line) return [];
  return line
    .slice('NSpid:'.length)
    .trim()
    .split(/\s+/)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}

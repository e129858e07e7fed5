// The server's end of exec-agent.pl: one long-lived Engine API exec per sandbox through which the
// sandbox's commands run, so a command costs a fork in the sandbox instead of an Engine API exec
// (20-50 ms of runc work each on this kind of machine; a step's Check runs several). Commands run
// concurrently over the one stream. When the agent cannot start or dies (a learner may kill it),
// callers fall back to a plain exec: the agent is a speed-up, never the only way in.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Duplex, Writable } from 'node:stream';
import type Docker from 'dockerode';
import { startExec } from './engine-exec.ts';
import { demuxStream } from './frame-demux.ts';
import { CappedCollector } from './output.ts';
import type { ExecResult } from './sandbox.ts';

const AGENT_SCRIPT = readFileSync(new URL('./exec-agent.pl', import.meta.url), 'utf8');
/** After this many starts that died within a second, the agent is given up for this sandbox. */
const MAX_QUICK_DEATHS = 2;
const QUICK_DEATH_MS = 1_000;
/** An agent that does not answer this long after a kill is stuck (stopped, say): it is replaced. */
const KILL_GRACE_MS = 2_000;

export class AgentUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgentUnavailable';
  }
}

export interface AgentRequest {
  argv: string[];
  workingDir: string;
  env?: Record<string, string> | undefined;
  timeoutMs: number;
  maxOutputBytes: number;
}

interface Pending {
  resolve: (r: ExecResult) => void;
  reject: (err: Error) => void;
  started: number;
  timer: NodeJS.Timeout;
}

const hex = (s: string): string => Buffer.from(s, 'utf8').toString('hex');

/** One response line of the agent, decoded; undefined for anything that is not one. */
export function parseAgentLine(line: string): { id: string; exitCode: number | null; killed: boolean; truncated: boolean; stdout: string; stderr: string } | undefined {
  const f = line.split(' ');
  if (f.length !== 7 || f[0] !== 'D' || !f[1]) return undefined;
  const code = f[2] === '-' ? null : Number(f[2]);
  if (code !== null && !Number.isInteger(code)) return undefined;
  return {
    id: f[1],
    exitCode: code,
    killed: f[3] === '1',
    truncated: f[4] === '1',
    stdout: Buffer.from(f[5] ?? '', 'hex').toString('utf8'),
    stderr: Buffer.from(f[6] ?? '', 'hex').toString('utf8'),
  };
}

/** The request line for one command (see exec-agent.pl for the format). */
export function agentRequestLine(id: string, req: AgentRequest): string {
  const env = Object.entries(req.env ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join('\0');
  return `R ${id} ${req.maxOutputBytes} ${hex(req.workingDir)} ${hex(env)} ${req.argv.map(hex).join(' ')}\n`;
}

export class ExecAgent {
  private stream: Duplex | undefined;
  private starting: Promise<Duplex> | undefined;
  private readonly pending = new Map<string, Pending>();
  private quickDeaths = 0;
  private closed = false;

  constructor(private readonly container: () => Docker.Container) {}

  /** Runs one command; rejects with AgentUnavailable when the agent cannot take it (then use a plain exec). */
  async run(req: AgentRequest): Promise<ExecResult> {
    if (req.argv.length === 0) throw new Error('exec needs a command (argv was empty)');
    const stream = await this.ensure();
    const id = randomBytes(12).toString('hex');
    return new Promise<ExecResult>((resolve, reject) => {
      const started = Date.now();
      const timer = setTimeout(() => {
        // The agent kills the process group and answers with what was collected...
        if (this.stream === stream) stream.write(`K ${id}\n`);
        // ...unless it cannot: then the command counts as timed out and the agent is replaced.
        pending.timer = setTimeout(() => {
          if (!this.pending.delete(id)) return;
          resolve({ exitCode: null, stdout: '', stderr: '', timedOut: true, truncated: false, durationMs: Date.now() - started });
          if (this.stream === stream) stream.destroy();
        }, KILL_GRACE_MS);
      }, req.timeoutMs);
      const pending: Pending = { resolve, reject, started, timer };
      this.pending.set(id, pending);
      stream.write(agentRequestLine(id, req));
    });
  }

  /** Stops the agent (its stdin closes, so it kills what it runs and exits). */
  close(): void {
    this.closed = true;
    this.stream?.destroy();
    this.stream = undefined;
  }

  private ensure(): Promise<Duplex> {
    if (this.closed) return Promise.reject(new AgentUnavailable('the sandbox is being removed'));
    if (this.stream) return Promise.resolve(this.stream);
    if (this.quickDeaths >= MAX_QUICK_DEATHS) return Promise.reject(new AgentUnavailable('the exec agent keeps dying in this sandbox'));
    this.starting ??= this.start().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async start(): Promise<Duplex> {
    const container = this.container();
    let stream: Duplex;
    try {
      const exec = await container.exec({ Cmd: ['perl', '-e', AGENT_SCRIPT], AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: false });
      stream = await startExec(exec, { stdin: true });
    } catch (err) {
      this.quickDeaths++;
      throw new AgentUnavailable(`the exec agent did not start: ${err instanceof Error ? err.message : String(err)}`);
    }
    // An idle agent must not keep the process alive (labrun serve keeps sandboxes across a restart,
    // so their agents outlive the server's work); a pending command's timer does while it runs.
    (stream as Duplex & { unref?: () => void }).unref?.();
    const startedAt = Date.now();
    const stdout = new LineSink((line) => this.onLine(line));
    const stderr = new CappedCollector(16 * 1024);
    demuxStream(
      stream,
      (c) => stdout.write(c),
      (c) => stderr.write(c),
    );
    const gone = (): void => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      if (Date.now() - startedAt < QUICK_DEATH_MS) this.quickDeaths++;
      const why = new AgentUnavailable(`the exec agent stopped${stderr.text() ? `: ${stderr.text().trim()}` : ''}`);
      for (const [id, p] of this.pending) {
        clearTimeout(p.timer);
        p.reject(why);
        this.pending.delete(id);
      }
    };
    stream.once('end', gone);
    stream.once('close', gone);
    stream.once('error', gone);
    this.stream = stream;
    return stream;
  }

  private onLine(line: string): void {
    const r = parseAgentLine(line);
    if (!r) return;
    const p = this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id);
    clearTimeout(p.timer);
    p.resolve({ exitCode: r.killed ? null : r.exitCode, stdout: r.stdout, stderr: r.stderr, timedOut: r.killed, truncated: r.truncated, durationMs: Date.now() - p.started });
  }
}

/** A writable that hands each complete line to a callback (the agent's answers can be megabytes long). */
class LineSink extends Writable {
  private rest = '';
  constructor(private readonly onLine: (line: string) => void) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    const text = this.rest + chunk.toString('latin1');
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    for (const line of lines) this.onLine(line);
    done();
  }
}

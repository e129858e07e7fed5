// An http.Agent whose connections are made by the sandbox (Sandbox.connectPort) instead of a TCP dial:
// the proxy library then speaks plain HTTP over them, keep-alive and WebSocket upgrades included. One
// agent per sandbox and port, so idle connections are reused by the next request for that port only.
import { Agent, type ClientRequestArgs } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Sandbox } from '../sandbox/sandbox.ts';
import type { PreviewTarget } from './preview-ticket.ts';
import { targetSegment } from './preview-ticket.ts';

/** Idle connections to an app are kept this long: a page and its assets reuse them. */
const FREE_SOCKET_TIMEOUT_MS = 15_000;
/** Browsers open six connections per host; a few more leave room for a WebSocket or two. */
const MAX_SOCKETS = 8;

class SandboxPortAgent extends Agent {
  constructor(
    private readonly sandbox: Sandbox,
    private readonly target: PreviewTarget,
  ) {
    super({ keepAlive: true, maxSockets: MAX_SOCKETS, timeout: FREE_SOCKET_TIMEOUT_MS });
  }

  override createConnection(_options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    this.sandbox.connectPort(this.target.port, this.target.service === undefined ? {} : { service: this.target.service }).then(
      (socket) => callback?.(null, socket),
      (err: unknown) => callback?.(err instanceof Error ? err : new Error(String(err)), undefined as never),
    );
    return undefined;
  }
}

const agents = new WeakMap<Sandbox, Map<string, SandboxPortAgent>>();

/** The agent for this sandbox's port; a sandbox that is replaced (reset) gets new ones, the old go with it. */
export function agentFor(sandbox: Sandbox, target: PreviewTarget): Agent {
  let bySegment = agents.get(sandbox);
  if (!bySegment) agents.set(sandbox, (bySegment = new Map()));
  const key = targetSegment(target);
  let agent = bySegment.get(key);
  if (!agent) bySegment.set(key, (agent = new SandboxPortAgent(sandbox, target)));
  return agent;
}

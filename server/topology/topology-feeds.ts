// Live topology models, one feed per watched sandbox, shared by every socket watching it (the learner's
// panel and the instructor's read-only view). A feed listens to the inner engine's event stream — no
// polling — and on a change waits a moment for the burst to settle (a `compose up` is a dozen events),
// rebuilds the model from the engine's state and the sandbox's links, and sends it when it changed.
// The feed goes when its last subscriber does; when the sandbox's stream breaks (the sandbox was
// removed or replaced) every subscriber is ended, so its page reconnects to whatever is there now.
import type { TopologyFrame, TopologyModel } from '../../shared/topology.ts';
import type { Disposable } from '../lifetime.ts';
import { errorMessage } from '../log.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import { buildTopology } from './build-model.ts';
import { readLinks, type SandboxLinks } from './links.ts';

/**
 * How long after an engine event the model is rebuilt: `compose up` emits its events within ~100 ms of
 * each other, so one rebuild covers a burst; well inside the panel's 2 s budget. Not extended by later
 * events, so a steady stream of changes still redraws every DEBOUNCE_MS.
 */
export const DEBOUNCE_MS = 120;

export interface TopologySubscriber {
  send(frame: TopologyFrame): void;
  /** The feed is over (its sandbox's stream broke): close the socket with this reason. */
  end(reason: string): void;
}

class Feed {
  readonly #subscribers = new Set<TopologySubscriber>();
  readonly #abort = new AbortController();
  #latest: TopologyFrame | undefined;
  #latestKey = '';
  #timer: ReturnType<typeof setTimeout> | undefined;
  #building = false;
  #dirty = false;
  #over = false;

  constructor(
    private readonly sandbox: Sandbox,
    private readonly project: string,
    private readonly onOver: () => void,
    private readonly onBuilt: ((model: TopologyModel, ms: number) => void) | undefined,
  ) {
    void this.#watch();
    this.#schedule(0);
  }

  get size(): number {
    return this.#subscribers.size;
  }

  add(s: TopologySubscriber): void {
    this.#subscribers.add(s);
    if (this.#latest) s.send(this.#latest);
  }

  remove(s: TopologySubscriber): void {
    this.#subscribers.delete(s);
    if (this.#subscribers.size === 0) this.#close();
  }

  async #watch(): Promise<void> {
    let why = 'the sandbox\'s engine stopped reporting changes';
    try {
      for await (const _ of this.sandbox.engineEvents(this.#abort.signal)) this.#schedule(DEBOUNCE_MS);
    } catch (err) {
      why = `the sandbox's engine stream broke: ${errorMessage(err)}`;
    }
    if (this.#abort.signal.aborted) return;
    // The sandbox went (stopped, reset, replaced): let each page reconnect to what is there now.
    for (const s of [...this.#subscribers]) s.end(why);
    this.#close();
  }

  #schedule(ms: number): void {
    if (this.#over || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#rebuild();
    }, ms);
  }

  async #rebuild(): Promise<void> {
    if (this.#building) {
      this.#dirty = true;
      return;
    }
    this.#building = true;
    const started = performance.now();
    try {
      const frame = await this.#build();
      if (frame.type === 'model') this.onBuilt?.(frame.model, performance.now() - started);
      // The same picture again (an event that changed nothing drawn) is not sent.
      const key = JSON.stringify(frame.type === 'model' ? { ...frame.model, at: 0 } : frame);
      if (key !== this.#latestKey && !this.#over) {
        this.#latestKey = key;
        this.#latest = frame;
        for (const s of this.#subscribers) s.send(frame);
      }
    } finally {
      this.#building = false;
      if (this.#dirty) {
        this.#dirty = false;
        this.#schedule(0);
      }
    }
  }

  async #build(): Promise<TopologyFrame> {
    let snapshot;
    try {
      snapshot = await this.sandbox.engineSnapshot();
    } catch (err) {
      return { type: 'unavailable', message: `could not read the sandbox's engine: ${errorMessage(err)}` };
    }
    const notes: string[] = [];
    let links: SandboxLinks | undefined;
    const pids = snapshot.containers.flatMap((c) => pidOf(c));
    try {
      links = await readLinks(this.sandbox, pids);
    } catch (err) {
      notes.push(`veth ends are not shown: ${errorMessage(err)}`);
    }
    try {
      return { type: 'model', model: buildTopology(this.project, snapshot, links, Date.now(), notes) };
    } catch (err) {
      return { type: 'unavailable', message: `the engine's answer could not be read: ${errorMessage(err)}` };
    }
  }

  #close(): void {
    if (this.#over) return;
    this.#over = true;
    clearTimeout(this.#timer);
    this.#abort.abort();
    this.#subscribers.clear();
    this.onOver();
  }

  dispose(): void {
    this.#close();
  }
}

/** A running container's pid from its inspect document (outside data: read defensively). */
function pidOf(inspect: unknown): number[] {
  if (typeof inspect !== 'object' || inspect === null || !('State' in inspect)) return [];
  const state: unknown = inspect.State;
  if (typeof state !== 'object' || state === null || !('Pid' in state) || !('Running' in state)) return [];
  return state.Running === true && typeof state.Pid === 'number' && state.Pid > 0 ? [state.Pid] : [];
}

export interface TopologyFeedsOptions {
  /** Called after each model build with how long it took (the benchmark reads it). */
  onBuilt?: (model: TopologyModel, ms: number) => void;
}

export class TopologyFeeds implements Disposable {
  readonly #feeds = new Map<string, Feed>();

  constructor(private readonly opts: TopologyFeedsOptions = {}) {}

  /** Feeds running now (one per watched sandbox). */
  get size(): number {
    return this.#feeds.size;
  }

  /** Sends `sub` the sandbox's model now (when known) and on every change; dispose to stop. */
  subscribe(sandbox: Sandbox, project: string, sub: TopologySubscriber): Disposable {
    let feed = this.#feeds.get(sandbox.id);
    if (!feed) {
      const created: Feed = new Feed(sandbox, project, () => {
        if (this.#feeds.get(sandbox.id) === created) this.#feeds.delete(sandbox.id);
      }, this.opts.onBuilt);
      feed = created;
      this.#feeds.set(sandbox.id, feed);
    }
    const f = feed;
    f.add(sub);
    return { dispose: () => f.remove(sub) };
  }

  dispose(): void {
    for (const f of [...this.#feeds.values()]) f.dispose();
    this.#feeds.clear();
  }
}

// Lifetimes as objects (VS Code's Disposable): whatever subscribes, listens or holds a resource
// returns a Disposable, and its owner keeps them in one DisposableStore, disposed once, newest first,
// so shutdown is one call instead of a hand-kept order of teardown steps.

export interface Disposable {
  dispose(): void | Promise<unknown>;
}

export function toDisposable(fn: () => void | Promise<unknown>): Disposable {
  let done = false;
  return {
    dispose: () => {
      if (done) return;
      done = true;
      return fn();
    },
  };
}

export class DisposableStore implements Disposable {
  readonly #items: Disposable[] = [];
  #disposed: Promise<void> | undefined;

  constructor(private readonly onError: (err: unknown) => void = () => {}) {}

  /** Adds `d`; once the store is disposed, disposes it at once instead. */
  add<T extends Disposable>(d: T): T {
    if (this.#disposed) void Promise.resolve(d.dispose()).catch(this.onError);
    else this.#items.push(d);
    return d;
  }

  /** Disposes every item, newest first, each awaited; a failing one is reported and the rest still run. Idempotent. */
  dispose(): Promise<void> {
    this.#disposed ??= (async () => {
      for (const d of this.#items.splice(0).reverse()) {
        try {
          await d.dispose();
        } catch (err) {
          this.onError(err);
        }
      }
    })();
    return this.#disposed;
  }
}

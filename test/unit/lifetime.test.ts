// DisposableStore: one dispose() for many parts, newest first, each awaited, once; a failing part is
// reported and the rest still go; a part added after disposal is disposed at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DisposableStore, toDisposable } from '../../server/lifetime.ts';

test('disposes newest first, awaits each, once; failures are reported and do not stop the rest', async () => {
  const order: string[] = [];
  const errors: unknown[] = [];
  const store = new DisposableStore((err) => errors.push(err));
  store.add(toDisposable(() => void order.push('store')));
  store.add(
    toDisposable(async () => {
      await new Promise((r) => setTimeout(r, 5));
      order.push('slow server');
    }),
  );
  store.add(
    toDisposable(() => {
      throw new Error('boom');
    }),
  );
  store.add({ dispose: () => void order.push('sessions') });
  await Promise.all([store.dispose(), store.dispose()]);
  assert.deepEqual(order, ['sessions', 'slow server', 'store']);
  assert.equal(errors.length, 1);
  store.add(toDisposable(() => void order.push('late')));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order.at(-1), 'late');
});

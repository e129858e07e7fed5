// Which isolation level `labrun serve` runs at: a table of what was asked, whether labrun's sandbox
// engine works, and whether strangers can connect (a non-loopback bind is a classroom).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideIsolation } from '../../server/sandbox/isolation.ts';

const DOWN = "labrun's sandbox engine does not answer at unix:///run/labrun-engine.sock";

test('isolation decision table', () => {
  const rows: Array<{ requested: 'isolated' | 'trusted' | undefined; problem: string | undefined; loopback: boolean; want: string }> = [
    { requested: undefined, problem: undefined, loopback: true, want: 'isolated' },
    { requested: undefined, problem: undefined, loopback: false, want: 'isolated' },
    { requested: 'isolated', problem: undefined, loopback: false, want: 'isolated' },
    // Asked for trusted: trusted, always with the warning (the engine is not even probed).
    { requested: 'trusted', problem: undefined, loopback: false, want: 'trusted!' },
    { requested: 'trusted', problem: DOWN, loopback: false, want: 'trusted!' },
    // Engine down: a single user on loopback falls back loudly; a classroom is refused; an explicit ask fails.
    { requested: undefined, problem: DOWN, loopback: true, want: 'trusted!' },
    { requested: undefined, problem: DOWN, loopback: false, want: 'refused' },
    { requested: 'isolated', problem: DOWN, loopback: true, want: 'refused' },
  ];
  for (const r of rows) {
    const choice = decideIsolation({ requested: r.requested, engineProblem: r.problem, loopback: r.loopback });
    const got = choice.ok ? `${choice.isolation}${choice.warning ? '!' : ''}` : 'refused';
    assert.equal(got, r.want, JSON.stringify(r));
    if (choice.ok && choice.warning) assert.match(choice.warning, /NOT isolated from this server/);
    if (!choice.ok) {
      assert.ok(choice.error.includes(DOWN), 'the refusal says why');
      assert.match(choice.hint, /scripts\/ensure-docker\.sh/);
    }
  }
  const classroom = decideIsolation({ requested: undefined, engineProblem: DOWN, loopback: false });
  assert.ok(!classroom.ok && /--isolation=trusted/.test(classroom.hint), 'a refused classroom names the way to accept the risk');
});

// The API's answers are what shared/api.ts declares: the routes build them from those schemas and the
// browser parses them with the same ones. Driven through the whole app with the in-memory driver.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { z } from 'zod';
import { ClassList, ClassView, EndedClass, LabList, LabView, Me, Progress, SessionStatus, StepResult } from '../../shared/api.ts';
import { FAKE_LAB, startFakeServer } from '../support/fake-server.ts';

test('every answer a page reads parses with its shared schema', async (t) => {
  const { server, cookie } = await startFakeServer(t);
  const call = async <S extends z.ZodType>(schema: S, method: string, route: string, body?: unknown, status = 200): Promise<z.infer<S>> => {
    const res = await fetch(`${server.url}${route}`, {
      method,
      headers: { Cookie: cookie, Origin: server.url, ...(body !== undefined && { 'Content-Type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const raw: unknown = await res.json();
    assert.equal(res.status, status, `${method} ${route}: ${JSON.stringify(raw)}`);
    const parsed = schema.safeParse(raw);
    assert.ok(parsed.success, `${method} ${route}: ${parsed.error?.message ?? ''}`);
    return parsed.data;
  };
  assert.equal((await call(LabList, 'GET', '/api/labs')).labs[0]?.id, FAKE_LAB);
  const lab = await call(LabView, 'GET', `/api/labs/${FAKE_LAB}`);
  const step = lab.steps[0];
  assert.ok(step);
  assert.equal((await call(SessionStatus, 'GET', `/api/labs/${FAKE_LAB}/session`)).state, 'none');
  assert.equal((await call(Progress, 'PUT', `/api/labs/${FAKE_LAB}/progress`, { currentStep: step.id })).currentStep, step.id);
  const checked = await call(StepResult, 'POST', `/api/labs/${FAKE_LAB}/steps/${step.id}/check`, {});
  assert.equal(checked.stepId, step.id);
  assert.equal((await call(Me, 'GET', '/api/me')).instructor, true);
  const cls = await call(ClassView, 'POST', '/api/classes', { labId: FAKE_LAB }, 201);
  assert.equal((await call(ClassList, 'GET', '/api/classes')).classes.length, 1);
  assert.equal((await call(EndedClass, 'POST', `/api/classes/${cls.id}/end`, {})).destroyed, 0);
});

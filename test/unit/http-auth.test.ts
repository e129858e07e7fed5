import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { Auth, LEARNER_COOKIE, SESSION_COOKIE, type ClassMember } from '../../server/http/auth.ts';

const TOKEN = 'unit-token-0123456789abcdef';
const ADA_SECRET = 'a'.repeat(64);
const ENDED_SECRET = 'e'.repeat(64);
const ada: ClassMember = { learnerId: 'l-ada', classId: 'c1', labId: 'lab' };
// The lookup the app gives Auth: unknown secrets and ended classes prove nobody.
const auth = new Auth(TOKEN, (secret) => (secret === ADA_SECRET ? ada : undefined));
const ownerCookie = (auth.cookieHeader(false).split(';')[0] ?? '').split('=')[1] ?? '';

function req(cookie?: string): IncomingMessage {
  // Only the Cookie header is read; a plain object with it stands in for the request.
  return { headers: cookie === undefined ? {} : { cookie } } as IncomingMessage;
}

test('who a request is, by its cookies', () => {
  const cases: { name: string; cookie?: string; want: { owner: boolean; learnerId: string; classId: string | null } | null; stale: boolean }[] = [
    { name: 'no cookie', want: null, stale: false },
    { name: 'owner', cookie: `${SESSION_COOKIE}=${ownerCookie}`, want: { owner: true, learnerId: 'local', classId: null }, stale: false },
    { name: 'forged owner cookie', cookie: `${SESSION_COOKIE}=${'0'.repeat(64)}`, want: null, stale: false },
    { name: 'class learner', cookie: `${LEARNER_COOKIE}=${ADA_SECRET}`, want: { owner: false, learnerId: 'l-ada', classId: 'c1' }, stale: false },
    { name: 'owner who also joined a class', cookie: `${SESSION_COOKIE}=${ownerCookie}; ${LEARNER_COOKIE}=${ADA_SECRET}`, want: { owner: true, learnerId: 'l-ada', classId: 'c1' }, stale: false },
    { name: 'learner of an ended class', cookie: `${LEARNER_COOKIE}=${ENDED_SECRET}`, want: null, stale: true },
    { name: 'malformed learner cookie', cookie: `${LEARNER_COOKIE}=../../x`, want: null, stale: true },
    { name: 'owner with a stale learner cookie', cookie: `${SESSION_COOKIE}=${ownerCookie}; ${LEARNER_COOKIE}=${ENDED_SECRET}`, want: { owner: true, learnerId: 'local', classId: null }, stale: true },
  ];
  for (const c of cases) {
    const p = auth.principalOf(req(c.cookie));
    assert.deepEqual(p && { owner: p.owner, learnerId: p.learnerId, classId: p.member?.classId ?? null }, c.want, c.name);
    assert.equal(auth.staleLearnerCookie(req(c.cookie)), c.stale, c.name);
  }
});

test('a learner cookie is HttpOnly, Lax (the join link comes from another site) and Secure over https', () => {
  assert.equal(auth.learnerCookieHeader(ADA_SECRET, false), `${LEARNER_COOKIE}=${ADA_SECRET}; Path=/; HttpOnly; SameSite=Lax; Max-Age=604800`);
  assert.match(auth.learnerCookieHeader(ADA_SECRET, true), /; Secure$/);
});

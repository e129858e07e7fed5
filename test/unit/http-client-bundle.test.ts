import assert from 'node:assert/strict';
import { test } from 'node:test';
import { staleReason, type BundleState } from '../../server/http/client-bundle.ts';

// [name, state, reason or undefined for "up to date"]
const cases: [string, BundleState, string | undefined][] = [
  ['fresh clone: sources, no dist/', { hasSources: true, newestSourceMs: 100, oldestOutputMs: undefined }, 'dist/client/ is missing'],
  ['built after the last edit', { hasSources: true, newestSourceMs: 100, oldestOutputMs: 200 }, undefined],
  ['built in the same instant as the checkout', { hasSources: true, newestSourceMs: 100, oldestOutputMs: 100 }, undefined],
  ['a source edited after the build', { hasSources: true, newestSourceMs: 300, oldestOutputMs: 200 }, 'dist/client/ is older than client/ or shared/'],
  ['installed package: dist/ shipped, no sources', { hasSources: false, newestSourceMs: undefined, oldestOutputMs: 100 }, undefined],
  ['installed package: shared/ newer than the shipped dist/ is no reason to build', { hasSources: false, newestSourceMs: 300, oldestOutputMs: 100 }, undefined],
  ['installed package without dist/', { hasSources: false, newestSourceMs: undefined, oldestOutputMs: undefined }, 'dist/client/ is missing'],
];
for (const [name, state, want] of cases) {
  test(`client bundle: ${name}`, () => assert.equal(staleReason(state), want));
}

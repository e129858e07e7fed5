// Renders a Check button's result: per check, passed or failed, what ran and where, an excerpt of
// what came back, each expectation's expected vs got, and the hint. Pure DOM building, no fetches.
import type { CheckResult, StepResult } from './api.ts';
import { h } from './dom.ts';

function renderCheck(c: CheckResult): HTMLElement {
  const shown = c.passed ? [] : c.expectations;
  const excerpt = [c.stdout.trimEnd(), c.stderr.trimEnd()].filter(Boolean).join('\n');
  const exit = c.timedOut ? ' → timed out' : c.exitCode !== null ? ` → exit ${c.exitCode}` : '';
  const ran = c.command
    ? h('div', { class: 'check-ran' }, 'ran ', h('code', { text: c.command }), ` in ${c.where}${exit}`)
    : h('div', { class: 'check-ran', text: "checked against what your sandbox's Docker reports" });
  return h(
    'li',
    { class: `check ${c.passed ? 'pass' : 'fail'}` },
    h('div', { class: 'check-head' }, h('span', { class: 'check-icon', text: c.passed ? '✓' : '✗', attrs: { 'aria-label': c.passed ? 'passed' : 'failed' } }), h('span', { class: 'check-name', text: c.name })),
    ran,
    c.probes.length ? h('div', { class: 'check-ran', text: `also ran: ${c.probes.join('; ')}` }) : null,
    c.error ? h('p', { class: 'check-error', text: c.error }) : null,
    shown.length
      ? h(
          'ul',
          { class: 'outcomes' },
          ...shown.map((o) =>
            h(
              'li',
              { class: o.passed ? 'pass' : 'fail' },
              h('span', { class: 'outcome-icon', text: o.passed ? '✓' : '✗' }),
              h(
                'div',
                {},
                o.reason ? h('div', { text: o.reason }) : null,
                !o.passed && (o.expected !== undefined || o.got !== undefined)
                  ? h('dl', { class: 'expected-got' }, h('dt', { text: 'expected' }), h('dd', { text: o.expected ?? '' }), h('dt', { text: 'got' }), h('dd', { text: o.got ?? '' }))
                  : null,
              ),
            ),
          ),
        )
      : null,
    !c.passed && excerpt ? h('details', { class: 'excerpt' }, h('summary', { text: 'What came back' }), h('pre', { text: excerpt })) : null,
    !c.passed && c.hint ? h('p', { class: 'hint' }, h('strong', { text: 'Hint: ' }), c.hint) : null,
  );
}

export function renderResults(result: StepResult): HTMLElement {
  const failed = result.checks.filter((c) => !c.passed).length;
  const title = result.passed
    ? 'All checks passed — step done'
    : `Not yet: ${failed} of ${result.checks.length} check${result.checks.length === 1 ? '' : 's'} failed`;
  return h(
    'section',
    { class: `results ${result.passed ? 'passed' : 'failed'}`, attrs: { 'aria-live': 'polite', 'data-passed': String(result.passed) } },
    h('div', { class: 'results-head' }, h('strong', { text: title }), h('span', { class: 'muted', text: `${(result.durationMs / 1000).toFixed(1)} s` })),
    h('ul', { class: 'checks' }, ...result.checks.map(renderCheck)),
  );
}

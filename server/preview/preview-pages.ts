// The pages the preview answers with itself (labrun's own, under labrun's strict CSP), when there is no
// app answer to show: nothing listens, the sandbox is not running, the link expired. `base` is the
// app's base path, for the stylesheet.
import { escapeHtml, page } from '../http/pages.ts';
import { targetSegment, type PreviewTarget } from './preview-ticket.ts';

function where(t: PreviewTarget): string {
  return t.service === undefined ? 'in your sandbox' : `in the network namespace of <code>${escapeHtml(t.service)}</code>`;
}

export function nothingListensPage(t: PreviewTarget, base: string): string {
  return page(
    `Nothing on port ${t.port}`,
    `<h1>Nothing listens on port ${t.port} ${where(t)}</h1>
<p>Start a service on that port in your terminal, for example
<code>docker run -d -p ${t.port}:80 nginx</code> (a container publishing its port ${t.port}) or
<code>docker compose up -d</code> for the lab's stack, then reload this page.</p>
<p>The workspace's <strong>Ports</strong> list shows what listens right now.</p>`,
    base,
  );
}

export function unreachablePage(t: PreviewTarget, message: string, base: string): string {
  return page(`Port ${t.port} did not answer`, `<h1>Port ${t.port} ${where(t)} did not answer</h1><p>${escapeHtml(message)}</p><p>Reload to try again.</p>`, base);
}

export function noSandboxPage(labId: string, base: string): string {
  return page(
    'Sandbox not running',
    `<h1>This sandbox is not running</h1><p>Open the lab <code>${escapeHtml(labId)}</code> first: its terminal starts the sandbox. Then reload this page.</p>`,
    base,
  );
}

export function expiredPage(t: PreviewTarget, base: string): string {
  return page(
    'Preview link expired',
    `<h1>This preview link has expired</h1><p>Open port ${escapeHtml(targetSegment(t))} again from the workspace's <strong>Ports</strong> list or the lesson's link.</p>`,
    base,
  );
}

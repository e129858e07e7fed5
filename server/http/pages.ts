// The few server-rendered pages (not signed in, errors): tiny, no scripts, styled by the client's CSS
// file when it exists, so they pass the strict Content-Security-Policy.
import { escapeHtml } from '../common.ts';

export { escapeHtml };

/** A complete HTML page around trusted `bodyHtml` (callers escape what they interpolate), for an app under `base`. */
export function page(title: string, bodyHtml: string, base = ''): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · labrun</title><link rel="stylesheet" href="${escapeHtml(base)}/app.css"></head>
<body class="plain-page"><main class="plain">${bodyHtml}</main></body></html>
`;
}

export const signedOutPage = (base: string): string => page(
  'Sign in',
  `<h1>labrun needs its access link</h1>
<p>Open the URL that <code>labrun serve</code> printed when it started — it ends in <code>?token=…</code>.
Your browser then remembers you, so the plain address works afterwards.</p>`,
  base,
);

export const staleLearnerPage = (base: string): string => page(
  'Class session ended',
  `<h1>This class session has ended</h1>
<p>Your instructor ended the class, or this browser's session is unknown. Ask your instructor for the
join link to join again.</p>`,
  base,
);

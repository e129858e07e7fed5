// Every URL the page builds goes through here, so labrun works under a sub-path (`--base-path`):
// the server writes the prefix into index.html as <meta name="labrun-base">; without it the app
// lives at `/`.

function readBase(): string {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="labrun-base"]');
  const base = meta?.content ?? '';
  return base.endsWith('/') ? base.slice(0, -1) : base;
}

/** The sub-path the app is served under, without a trailing slash ('' at the root). */
export const basePath = readBase();

/** An app path ('/api/labs') as the browser must request it ('/labrun/api/labs'). */
export function appPath(path: string): string {
  return `${basePath}${path}`;
}

/** ws(s)://host + base + path, for the page's own origin. */
export function wsUrl(pathAndQuery: string): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${appPath(pathAndQuery)}`;
}

/** The current page's path inside the app ('/labs/x' for '/labrun/labs/x'). */
export function routePath(): string {
  const path = location.pathname;
  if (basePath && (path === basePath || path.startsWith(`${basePath}/`))) return path.slice(basePath.length) || '/';
  return path;
}

// What the preview proxy changes between the browser and the learner's app, as pure functions:
// redirects to the app's own root are turned into paths under the preview (relative, so they hold at
// any sub-path a reverse proxy mounts labrun under); cookies the app sets are kept to the preview's
// path and may never be one of labrun's; labrun's cookies never reach the app.

/** labrun's own cookies (session, learner): never forwarded to an app, never settable by one. */
const LABRUN_COOKIE = /^labrun_/i;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * A relative reference from the request at `restPath` (the path under the preview root, e.g.
 * `docs/a.html`) to `target` under the same root (e.g. `login?next=1`).
 */
export function relativeFromRest(restPath: string, target: string): string {
  const ups = (restPath.match(/\//g) ?? []).length;
  const clean = target.replace(/^\/+/, '');
  return ups === 0 ? `./${clean}` : `${'../'.repeat(ups)}${clean}`;
}

/**
 * The Location an app answered with, as the browser must follow it: a path on the app's root
 * (`/login`) or an absolute URL on its loopback address becomes a path under the preview; a
 * relative one already resolves under it; any other site is left alone.
 */
export function rewriteLocation(location: string, restPath: string): string {
  if (location.startsWith('//')) return location;
  if (location.startsWith('/')) return relativeFromRest(restPath, location);
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    return location; // relative: resolves under the preview already
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !LOOPBACK_HOSTS.has(url.hostname)) return location;
  return relativeFromRest(restPath, url.pathname + url.search + url.hash);
}

/** A Set-Cookie from the app, scoped to the preview's path; undefined when it must be dropped. */
export function rewriteSetCookie(header: string, previewPath: string): string | undefined {
  const [pair = '', ...attrs] = header.split(';');
  const name = pair.split('=')[0]?.trim() ?? '';
  // A cookie named like labrun's, or one claiming a prefix that demands the root path, would reach labrun.
  if (name === '' || LABRUN_COOKIE.test(name) || /^__Host-/i.test(name)) return undefined;
  const kept = attrs.map((a) => a.trim()).filter((a) => a !== '' && !/^(domain|path)\s*=/i.test(a));
  return [pair.trim(), `Path=${previewPath}`, ...kept].join('; ');
}

/** The browser's Cookie header without labrun's cookies; undefined when nothing is left. */
export function cookiesForApp(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const kept = header
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c !== '' && !LABRUN_COOKIE.test(c.split('=')[0]?.trim() ?? ''));
  return kept.length > 0 ? kept.join('; ') : undefined;
}

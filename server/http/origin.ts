// Which browser origins and Host headers may talk to this server: the pure rules behind the
// WebSocket Origin check, the CSRF check on writes and the DNS-rebinding guard. No I/O.
import { isLoopbackHost } from '../common.ts';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

export interface OriginPolicy {
  /** The address the server is bound to (config --host). */
  boundHost: string;
  /** Other origins allowed in full, e.g. a reverse proxy's public origin. */
  trustedOrigins: string[];
  /**
   * The request came through a trusted reverse proxy, which chose the host it forwards to us: any
   * Host is acceptable (as on a LAN-bound server), and the Origin must still match it.
   */
  anyHost?: boolean;
}


/** Hostname part of a Host header (`name:port`, `[v6]:port`), lowercased; undefined when unparsable. */
function hostnameOf(hostHeader: string): string | undefined {
  try {
    return new URL(`http://${hostHeader}`).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * Whether a request's Host header is acceptable. A server bound to loopback answers only to loopback
 * names (or a trusted origin's host): a page on evil.example whose DNS later points at 127.0.0.1 must
 * not reach the terminal (DNS rebinding). A server bound to a LAN address accepts any Host; the
 * Origin check and the SameSite cookie protect it.
 */
export function isAllowedHost(hostHeader: string | undefined, policy: OriginPolicy): boolean {
  if (!hostHeader) return false;
  const name = hostnameOf(hostHeader);
  if (name === undefined) return false;
  if (policy.anyHost || !isLoopbackHost(policy.boundHost)) return true;
  if (LOOPBACK_NAMES.has(name) || /^127\.\d+\.\d+\.\d+$/.test(name)) return true;
  return policy.trustedOrigins.some((o) => new URL(o).host.toLowerCase() === hostHeader.toLowerCase());
}

/**
 * Whether `origin` (the Origin header) is this server's own origin — the same scheme-less host the
 * browser addressed (Host header) — or a trusted one. A missing Origin is not allowed: every browser
 * sends it on WebSocket upgrades.
 */
export function isAllowedOrigin(
  origin: string | undefined,
  hostHeader: string | undefined,
  policy: OriginPolicy,
): boolean {
  if (!origin || origin === 'null') return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (policy.trustedOrigins.includes(url.origin)) return true;
  if (!hostHeader || !isAllowedHost(hostHeader, policy)) return false;
  return url.host.toLowerCase() === hostHeader.toLowerCase();
}

/**
 * Cross-site write guard for POST/PUT/DELETE. Browsers send Sec-Fetch-Site (and Origin) on such
 * requests; a value naming another site is refused. Non-browser clients (curl, tests) send neither
 * and are judged by their credentials alone.
 */
export function isAllowedWrite(
  headers: { origin?: string; secFetchSite?: string; host?: string },
  policy: OriginPolicy,
): boolean {
  const site = headers.secFetchSite;
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    // same-site (another port or subdomain) is still another origin: only a trusted origin may write.
    if (!(headers.origin && policy.trustedOrigins.includes(headers.origin))) return false;
  }
  if (headers.origin !== undefined) return isAllowedOrigin(headers.origin, headers.host, policy);
  return true;
}

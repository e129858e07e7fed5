// Security as middleware in the route chain: response headers, the DNS-rebinding Host guard, the
// one-time token exchange, the WebSocket Origin rule, authentication, the instructor rule and the
// cross-site write (CSRF) guard. WebSocket upgrades pass through the same chain (ws-upgrade.ts).
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { TrustedProxies } from './trusted-proxy.ts';
import type { Auth, Principal } from './auth.ts';
import { HttpError, sendError } from './http-error.ts';
import { isAllowedHost, isAllowedOrigin, isAllowedWrite, type OriginPolicy } from './origin.ts';
import { basePathOf } from './base-path.ts';
import { signedOutPage, staleLearnerPage } from './pages.ts';
import { isUpgrade } from './ws-upgrade.ts';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The instructor's board only: the recording player compiles its terminal emulator from WebAssembly,
 * which needs 'wasm-unsafe-eval'. That allows no JavaScript eval and no script from elsewhere; every
 * other page keeps the policy above.
 */
export const PLAYER_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace("script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'");

export function securityHeaders(): RequestHandler {
  return (_req, res, next) => {
    res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    next();
  };
}

/** API calls and WebSocket upgrades are answered in JSON; pages get HTML. */
export const isApi = (req: Request): boolean => req.path.startsWith('/api/') || req.path.startsWith('/ws/');

/**
 * The host the browser addressed and the policy to judge it by: the Host header, or for a request
 * from a trusted proxy the X-Forwarded-Host it passed on (express's req.host reads it only then).
 */
export function seenHost(req: Request, policy: OriginPolicy, proxies?: TrustedProxies): { host: string | undefined; policy: OriginPolicy } {
  if (proxies?.forwarded(req)) return { host: req.host, policy: { ...policy, anyHost: true } };
  return { host: req.headers.host, policy };
}

export function hostGuard(policy: OriginPolicy, proxies?: TrustedProxies): RequestHandler {
  return (req, res, next) => {
    const seen = seenHost(req, policy, proxies);
    if (isAllowedHost(seen.host, seen.policy)) return next();
    sendError(
      res,
      isApi(req),
      new HttpError(`host '${seen.host ?? ''}' is not served here`, 403, 'Open the URL printed by labrun serve.'),
      basePathOf(req),
    );
  };
}

/** Removes the token from a request URL, keeping path and other parameters; never yields an absolute URL. */
export function withoutToken(originalUrl: string): string {
  const url = new URL(originalUrl, 'http://labrun.invalid');
  url.searchParams.delete('token');
  // A path like `//evil.example` would be read by the browser as another host: collapse leading slashes.
  return url.pathname.replace(/^\/+/, '/') + url.search;
}

/** `?token=` on a GET: right → cookie + redirect to the same URL without it; wrong → 401. */
export function tokenExchange(auth: Auth): RequestHandler {
  return (req, res, next) => {
    const token: unknown = req.query.token;
    if (token === undefined || (req.method !== 'GET' && req.method !== 'HEAD') || isUpgrade(req)) return next();
    if (typeof token !== 'string' || !auth.tokenMatches(token)) {
      res.status(401);
      if (isApi(req)) res.json({ error: 'wrong token: open the URL printed by labrun serve' });
      else res.type('html').send(signedOutPage(basePathOf(req)));
      return;
    }
    res.setHeader('Set-Cookie', auth.cookieHeader(req.secure));
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(303, withoutToken(req.originalUrl));
  };
}

/** Who each authenticated request is; set by requireAuth (a WeakMap, so nothing outside can forge it). */
const principals = new WeakMap<Response, Principal>();

/** The principal requireAuth found for this request; throws 401 when it did not run or found nobody. */
export function principalOf(res: Response): Principal {
  const p = principals.get(res);
  if (!p) throw new HttpError('not signed in', 401);
  return p;
}

/** Lets only requests with a valid session cookie through and records who they are. */
export function requireAuth(auth: Auth): RequestHandler {
  return (req, res, next) => {
    const principal = auth.principalOf(req);
    if (principal !== null) {
      principals.set(res, principal);
      return next();
    }
    res.status(401);
    const stale = auth.staleLearnerCookie(req);
    const message = stale
      ? 'your class session has ended or is unknown: ask your instructor for the join link'
      : 'not signed in: open the URL printed by labrun serve';
    if (isApi(req)) res.json({ error: message });
    else res.type('html').send(stale ? staleLearnerPage(basePathOf(req)) : signedOutPage(basePathOf(req)));
  };
}

/** Throws 403 unless the caller is the server's owner (the instructor, holding the token's cookie). */
export function assertInstructor(res: Response, message = 'only the instructor may do this'): void {
  if (!principalOf(res).owner) throw new HttpError(message, 403);
}

/** Lets only the server's owner through: learners get 403. */
export function requireInstructor(): RequestHandler {
  return (_req, res, next) => {
    assertInstructor(res);
    next();
  };
}

/**
 * A WebSocket upgrade's Origin must be the server's own or a trusted one (browsers let any page open
 * a WebSocket to any host, cookies included): checked before the cookie. Plain requests pass.
 */
export function upgradeOriginGuard(policy: OriginPolicy, onRefused: (origin: string, host: string) => void = () => {}, proxies?: TrustedProxies): RequestHandler {
  return (req, _res, next) => {
    const seen = seenHost(req, policy, proxies);
    if (!isUpgrade(req) || isAllowedOrigin(req.headers.origin, seen.host, seen.policy)) return next();
    onRefused(req.headers.origin ?? '(none)', seen.host ?? '');
    throw new HttpError('origin not allowed', 403);
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function csrfGuard(policy: OriginPolicy, proxies?: TrustedProxies): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (SAFE_METHODS.has(req.method)) return next();
    const header = (name: string): string | undefined => {
      const v = req.headers[name];
      return typeof v === 'string' ? v : undefined;
    };
    const seen = seenHost(req, policy, proxies);
    const ok = isAllowedWrite(
      { origin: header('origin'), secFetchSite: header('sec-fetch-site'), host: seen.host },
      seen.policy,
    );
    if (ok) return next();
    sendError(res, isApi(req), new HttpError('cross-site request refused', 403), basePathOf(req));
  };
}

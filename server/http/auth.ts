// Who is asking. Local mode (this issue): one learner, `local`, proven by knowing the token printed
// by `labrun serve`. The token is exchanged once for an HttpOnly, SameSite=Strict cookie and removed
// from the address bar, so it never sits in history, logs or Referer headers after the first load.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const SESSION_COOKIE = 'labrun_session';
export const LOCAL_LEARNER = 'local';
/** Cookie lifetime: a workshop week; the token in the printed URL renews it. */
const COOKIE_MAX_AGE_S = 7 * 24 * 3600;

/** Parses a Cookie header into name → value (first occurrence wins, as browsers send most specific first). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (!out.has(name)) {
      try {
        out.set(name, decodeURIComponent(value));
      } catch {
        out.set(name, value);
      }
    }
  }
  return out;
}

function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

export class Auth {
  /**
   * The cookie value is derived from the token (not the token itself): stable across restarts with the
   * same --token, and a leaked cookie does not reveal the token.
   */
  private readonly sessionValue: string;

  constructor(private readonly token: string) {
    this.sessionValue = createHmac('sha256', token).update(`labrun-session:${LOCAL_LEARNER}`).digest('hex');
  }

  tokenMatches(candidate: string): boolean {
    return safeEqual(candidate, this.token);
  }

  /** The learner a request's cookie proves, or null. */
  learnerOf(req: IncomingMessage): string | null {
    const value = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
    return value !== undefined && safeEqual(value, this.sessionValue) ? LOCAL_LEARNER : null;
  }

  /** Set-Cookie header value for a learner who just presented the token. */
  cookieHeader(secure: boolean): string {
    return [
      `${SESSION_COOKIE}=${this.sessionValue}`,
      'Path=/',
      'HttpOnly',
      'SameSite=Strict',
      `Max-Age=${COOKIE_MAX_AGE_S}`,
      ...(secure ? ['Secure'] : []),
    ].join('; ');
  }
}

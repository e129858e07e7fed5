// Who is asking. The token printed by `labrun serve` proves the server's owner: in local mode the one
// learner `local`, and in a classroom the instructor. It is exchanged once for an HttpOnly,
// SameSite=Strict cookie and removed from the address bar, so it never sits in history, logs or
// Referer headers after the first load. Classroom learners carry their own random session cookie,
// which the class store knows only by its hash.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const SESSION_COOKIE = 'labrun_session';
export const LEARNER_COOKIE = 'labrun_learner';
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

/** A classroom learner as their session cookie proves them. */
export interface ClassMember {
  learnerId: string;
  classId: string;
  labId: string;
}

/**
 * Who a request is. `owner` = holds the token (local learner, and instructor of every class);
 * `learnerId` = whose sandbox and progress the learner routes use: a class member's own id when the
 * browser carries a learner cookie, else `local` for the owner.
 */
export interface Principal {
  owner: boolean;
  learnerId: string;
  member: ClassMember | null;
}

export class Auth {
  /**
   * The cookie value is derived from the token (not the token itself): stable across restarts with the
   * same --token, and a leaked cookie does not reveal the token.
   */
  private readonly sessionValue: string;

  constructor(
    private readonly token: string,
    /** Looks a learner cookie's secret up (classroom); undefined = unknown, or its class has ended. */
    private readonly memberBySecret: (secret: string) => ClassMember | undefined = () => undefined,
    /** The cookies' Path: the app's base path, so an app on a sub-path never sees another app's cookies nor they its. */
    private readonly cookiePath = '/',
  ) {
    this.sessionValue = createHmac('sha256', token).update(`labrun-session:${LOCAL_LEARNER}`).digest('hex');
  }

  tokenMatches(candidate: string): boolean {
    return safeEqual(candidate, this.token);
  }

  /** Who the request's cookies prove, or null when they prove nobody. */
  principalOf(req: IncomingMessage): Principal | null {
    const cookies = parseCookies(req.headers.cookie);
    const value = cookies.get(SESSION_COOKIE);
    const owner = value !== undefined && safeEqual(value, this.sessionValue);
    const secret = cookies.get(LEARNER_COOKIE);
    const member = secret !== undefined && /^[0-9a-f]{64}$/.test(secret) ? (this.memberBySecret(secret) ?? null) : null;
    if (member) return { owner, learnerId: member.learnerId, member };
    return owner ? { owner, learnerId: LOCAL_LEARNER, member: null } : null;
  }

  /** Whether the request carries a learner cookie that no longer proves anyone (unknown, or class ended). */
  staleLearnerCookie(req: IncomingMessage): boolean {
    return parseCookies(req.headers.cookie).has(LEARNER_COOKIE) && this.principalOf(req)?.member == null;
  }

  /**
   * Set-Cookie header value for a learner who just joined a class. SameSite=Lax, not Strict: the join
   * link usually arrives through a chat or a slide, i.e. from another site, and a Strict cookie would be
   * withheld on that first navigation. Writes stay protected by the CSRF guard and the WebSocket Origin check.
   */
  learnerCookieHeader(secret: string, secure: boolean): string {
    return [`${LEARNER_COOKIE}=${secret}`, `Path=${this.cookiePath}`, 'HttpOnly', 'SameSite=Lax', `Max-Age=${COOKIE_MAX_AGE_S}`, ...(secure ? ['Secure'] : [])].join('; ');
  }

  /** Set-Cookie header value for a learner who just presented the token. */
  cookieHeader(secure: boolean): string {
    return [
      `${SESSION_COOKIE}=${this.sessionValue}`,
      `Path=${this.cookiePath}`,
      'HttpOnly',
      'SameSite=Strict',
      `Max-Age=${COOKIE_MAX_AGE_S}`,
      ...(secure ? ['Secure'] : []),
    ].join('; ');
  }
}

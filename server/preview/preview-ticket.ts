// Preview tickets: the credential inside a preview URL. A previewed app runs on labrun's origin but in a
// sandboxed document (see preview-proxy.ts), whose requests carry no SameSite cookie; so labrun checks
// the learner's cookie once, at the entry URL, and redirects to a URL holding a ticket signed for that
// learner, lab and port that expires. Pure (HMAC over the fields), no state: tickets survive restarts
// with the same token. The ticket opens that one port of that one sandbox, never the labrun API.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** A preview stays open a working day; after that the learner opens it again from the workspace. */
export const TICKET_LIFETIME_MS = 12 * 3600_000;
/** 192 bits of the HMAC, in base64url: plenty against guessing, short enough for an address bar. */
const SIG_CHARS = 32;

export interface PreviewTarget {
  port: number;
  /** A compose service (or container) whose network namespace the port is in; undefined = the sandbox's own. */
  service?: string;
}

export interface Ticket {
  learnerId: string;
  labId: string;
  target: PreviewTarget;
  expiresAt: number;
}

const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** `8080` or `8080@nginx_a` (URL segment) → a target; undefined when it is neither. */
export function parseTarget(segment: string): PreviewTarget | undefined {
  const m = /^(\d{1,5})(?:@(.+))?$/.exec(segment);
  const port = Number(m?.[1]);
  if (!m || port < 1 || port > 65535) return undefined;
  if (m[2] === undefined) return { port };
  return SERVICE_NAME.test(m[2]) ? { port, service: m[2] } : undefined;
}

export function targetSegment(t: PreviewTarget): string {
  return t.service === undefined ? String(t.port) : `${t.port}@${t.service}`;
}

export class PreviewTickets {
  readonly #key: Buffer;

  constructor(secret: string) {
    // Its own key, derived from the server's secret: a ticket reveals nothing about the token or cookies.
    this.#key = createHmac('sha256', secret).update('labrun-preview-ticket').digest();
  }

  #sign(learnerId: string, expiresAt: number, labId: string, target: PreviewTarget): string {
    return createHmac('sha256', this.#key).update(`${learnerId}|${expiresAt}|${labId}|${targetSegment(target)}`).digest('base64url').slice(0, SIG_CHARS);
  }

  /** The ticket's URL segment (without the leading `@`). */
  issue(learnerId: string, labId: string, target: PreviewTarget, now = Date.now()): string {
    const expiresAt = Math.floor((now + TICKET_LIFETIME_MS) / 1000);
    return `${learnerId}.${expiresAt}.${this.#sign(learnerId, expiresAt, labId, target)}`;
  }

  /** Checks a ticket for this lab and target: the learner it was issued to, 'expired', or 'invalid'. */
  verify(ticket: string, labId: string, target: PreviewTarget, now = Date.now()): { learnerId: string } | 'expired' | 'invalid' {
    const m = /^([a-z0-9]{1,64})\.(\d{1,12})\.([A-Za-z0-9_-]+)$/.exec(ticket);
    if (!m?.[1] || !m[2] || !m[3]) return 'invalid';
    const expected = Buffer.from(this.#sign(m[1], Number(m[2]), labId, target));
    const given = Buffer.from(m[3]);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
    if (Number(m[2]) * 1000 < now) return 'expired';
    return { learnerId: m[1] };
  }
}

// Join codes and learner session secrets: pure generation and normalisation, no I/O besides the
// random source. A join code is short enough to read off a projector and type on a phone.
import { createHash, randomBytes, randomInt } from 'node:crypto';

/** No 0/O, 1/I/L, 5/S or 8/B: codes are read aloud and copied from a projector. */
export const JOIN_CODE_ALPHABET = 'ACDEFGHJKMNPQRTUVWXYZ234679';
/** 27^6 ≈ 387 million codes: guessing one by brute force over HTTP is hopeless for a workshop's lifetime. */
export const JOIN_CODE_LENGTH = 6;
/** Bytes in a learner's session secret: 256 bits, like the instructor token. */
const SESSION_SECRET_BYTES = 32;

export function newJoinCode(random: (max: number) => number = randomInt): string {
  let code = '';
  for (let i = 0; i < JOIN_CODE_LENGTH; i++) code += JOIN_CODE_ALPHABET[random(JOIN_CODE_ALPHABET.length)] ?? '';
  return code;
}

/** What a person typed, as a code to look up (case, spaces and dashes ignored); null when it cannot be one. */
export function normalizeJoinCode(input: string): string | null {
  const code = input.toUpperCase().replace(/[\s-]/g, '');
  if (code.length !== JOIN_CODE_LENGTH) return null;
  for (const c of code) if (!JOIN_CODE_ALPHABET.includes(c)) return null;
  return code;
}

/** A fresh learner session secret (the cookie value) and the hash stored in its place. */
export function newSessionSecret(): { secret: string; hash: string } {
  const secret = randomBytes(SESSION_SECRET_BYTES).toString('hex');
  return { secret, hash: hashSessionSecret(secret) };
}

/** The stored form of a session secret: a leaked database does not let anyone act as a learner. */
export function hashSessionSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Longest display name: fits a board cell. */
export const MAX_DISPLAY_NAME = 40;

/** A display name as shown: trimmed, inner whitespace collapsed, control characters removed; null when empty. */
export function cleanDisplayName(input: string): string | null {
  // eslint-disable-next-line no-control-regex
  const name = input.replace(/[\u0000-\u001f\u007f]/g, '').replace(/\s+/g, ' ').trim();
  if (!name) return null;
  return [...name].slice(0, MAX_DISPLAY_NAME).join('');
}

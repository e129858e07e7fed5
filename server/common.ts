// Small helpers several features need, defined once: error messages, record checks, file existence,
// paths as messages show them, HTML escaping, and what counts as a loopback host.
import { stat } from 'node:fs/promises';
import path from 'node:path';

/** The message of anything thrown, for a log line or an answer. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Paths in messages: relative to the working directory when inside it (what an editor or CI log wants). */
export function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), path.resolve(p));
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : path.resolve(p);
}

/** Text made safe inside HTML elements and quoted attributes. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Whether a bind address or host name is this machine only (localhost, 127.x, ::1). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

// The one way to name a learner's session in a lab, for every map and registry that keeps one
// (sandboxes, terminals, idle clocks), and a terminal of that session. Nothing else builds these
// strings: a test greps the tree.

/** The key of the (learner, lab) session. Learner ids never contain ':'; lab ids are folder names. */
export function sessionKey(learnerId: string, labId: string): string {
  return `${learnerId}:${labId}`;
}

/**
 * The key of one terminal of the (learner, lab) session. Terminal ids match TERMINAL_ID_RE
 * (shared/api.ts), so they never contain '/', and the session key stays a prefix no other session shares.
 */
export function terminalKey(learnerId: string, labId: string, terminalId: string): string {
  return `${sessionKey(learnerId, labId)}/${terminalId}`;
}

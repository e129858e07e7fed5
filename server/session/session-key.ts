// The one way to name a learner's session in a lab, for every map and registry that keeps one
// (sandboxes, terminals, idle clocks). Nothing else builds this string: a test greps the tree.

/** The key of the (learner, lab) session. Learner ids never contain ':'; lab ids are folder names. */
export function sessionKey(learnerId: string, labId: string): string {
  return `${learnerId}:${labId}`;
}

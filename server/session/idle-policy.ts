// Idle reclaiming, the pure part: given when a learner's sandbox last saw activity, the configured
// TTL and warning window, any extra time the instructor granted, and whether the learner was already
// warned, decide what to do now. No clock and no timers here: the caller passes `now`.

export interface IdleClock {
  /** Last activity (typing in the terminal, a check, opening a step), or when the sandbox came up. */
  lastActivity: number;
  /** Extra time the instructor granted on top of the TTL (reset by nothing but another extension). */
  extraMs: number;
  /** Whether the learner has been warned since their last activity. */
  warned: boolean;
}

export interface IdlePolicy {
  /** 0 = never reclaim. */
  ttlMs: number;
  warningMs: number;
}

export type IdleDecision = { action: 'none' } | { action: 'warn'; msLeft: number } | { action: 'reclaim' };

/** When the sandbox is reclaimed if nothing happens; Infinity when the TTL is off. */
export function idleDeadline(clock: IdleClock, policy: IdlePolicy): number {
  return policy.ttlMs <= 0 ? Infinity : clock.lastActivity + policy.ttlMs + clock.extraMs;
}

export function decideIdle(clock: IdleClock, policy: IdlePolicy, now: number): IdleDecision {
  const deadline = idleDeadline(clock, policy);
  if (now >= deadline) return { action: 'reclaim' };
  if (!clock.warned && now >= deadline - policy.warningMs) return { action: 'warn', msLeft: deadline - now };
  return { action: 'none' };
}

/** "5 min", "30 s": how long is left, as the warning says it. */
export function leftText(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  return s < 90 ? `${s} s` : `${Math.round(s / 60)} min`;
}

export function warningMessage(msLeft: number): string {
  return `Your sandbox will be stopped in ${leftText(msLeft)} because it has been idle — press any key in the terminal to keep it. Your progress is kept either way.`;
}

export const RECLAIMED_MESSAGE =
  'Your sandbox was stopped because it was idle. Your progress is kept: reload the page to start a fresh sandbox.';

export const ENDED_MESSAGE =
  'Your instructor ended your session and stopped your sandbox. Your progress is kept: reload the page to start a fresh one.';

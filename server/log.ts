// One structured logger for the server (pino): JSON lines when stdout is not a terminal (a class of 30
// is debugged from its log with jq), short readable lines when it is. Every line about a learner's
// session carries the same fields — learner, lab, class, sandbox — so one learner's story is one filter.
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/** The fields lines about a session carry (all optional; set what is known). */
export interface LogFields {
  learner?: string;
  lab?: string;
  class?: string;
  sandbox?: string;
}

export function createLogger(opts: { level?: string; tty?: boolean } = {}): Logger {
  const level = opts.level ?? process.env.LABRUN_LOG_LEVEL ?? 'info';
  if (!(opts.tty ?? process.stdout.isTTY)) return pino({ level, base: undefined });
  return pino({ level }, pretty({ sync: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss' }));
}

/** A logger that hands each JSON line to `write` (tests, embedding). */
export function lineLogger(write: (line: string) => void): Logger {
  return pino({ base: undefined }, { write: (s: string) => write(s.trimEnd()) });
}

export const silentLogger: Logger = pino({ level: 'silent' });

export { errorMessage } from './common.ts';

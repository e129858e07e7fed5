// Test preconditions for real components (Docker engine, Chromium). In CI a missing component fails
// the test; elsewhere the test is skipped with a loud message, never silently.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';

/** labrun's sandbox engine, where isolated sandboxes (the default) run. */
export const SANDBOX_ENGINE = process.env.LABRUN_SANDBOX_ENGINE || 'unix:///run/labrun-engine.sock';
/** `docker` CLI arguments that address the sandbox engine: `docker ...SANDBOX_DOCKER ps`. */
export const SANDBOX_DOCKER = ['-H', SANDBOX_ENGINE];
/** The host engine, and the sandbox engine. */
const ENGINES = [undefined, SANDBOX_ENGINE];

function dockerAnswers(): boolean {
  try {
    for (const host of ENGINES) {
      execFileSync('docker', [...(host ? ['-H', host] : []), 'info', '--format', '{{.ServerVersion}}'], { stdio: 'pipe', timeout: 10_000 });
    }
    return true;
  } catch {
    return false;
  }
}

let dockerCached: boolean | undefined;

function missing(t: TestContext, what: string): false {
  const message = `${what} — this test needs it`;
  if (process.env.CI) throw new Error(`${message}; CI must provide it (see .ci/run)`);
  console.error(`\n*** SKIPPED: ${message}. Run scripts/ensure-docker.sh, or set CI=1 to make this fatal. ***\n`);
  t.skip(message);
  return false;
}

/** True when both Docker engines answer; otherwise fails (CI) or skips loudly. */
export function requireDocker(t: TestContext): boolean {
  dockerCached ??= dockerAnswers();
  return dockerCached || missing(t, 'the host Docker engine or labrun\'s sandbox engine does not answer');
}

export const CHROMIUM_PATH = process.env.LABRUN_CHROMIUM ?? '/usr/bin/chromium';

/** True when Debian's Chromium is installed; otherwise fails (CI) or skips loudly. */
export function requireChromium(t: TestContext): boolean {
  return existsSync(CHROMIUM_PATH) || missing(t, `no Chromium at ${CHROMIUM_PATH}`);
}

/** Flags Chromium needs on this machine: root, no GPU, and no calls home (the network is closed). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** True when Debian's asciinema (the reference player, for recording tests) is installed; otherwise fails (CI) or skips loudly. */
export function requireAsciinema(t: TestContext): boolean {
  try {
    execFileSync('asciinema', ['--version'], { stdio: 'pipe', timeout: 10_000 });
    return true;
  } catch {
    return missing(t, 'no asciinema command (apt-get install asciinema)');
  }
}

/** True when Debian's nginx is installed (nginx-light; .ci/run installs it); otherwise fails (CI) or skips loudly. */
export function requireNginx(t: TestContext): boolean {
  return existsSync(process.env.LABRUN_NGINX ?? '/usr/sbin/nginx') || missing(t, 'no nginx at /usr/sbin/nginx (apt-get install nginx-light)');
}

/** True when Debian's Caddy is installed (.ci/run installs it); otherwise fails (CI) or skips loudly. */
export function requireCaddy(t: TestContext): boolean {
  return existsSync(process.env.LABRUN_CADDY ?? '/usr/bin/caddy') || missing(t, 'no caddy at /usr/bin/caddy (apt-get install caddy)');
}

// The browser client's bundle: where it lives (dist/client/), whether it is stale against its sources
// (client/, shared/, package-lock.json), and the one esbuild build that makes it — used by
// `npm run build` and by `labrun serve`, which builds a missing or stale bundle before it listens so
// the URL it prints never leads to a "not built" page.
import { copyFile, mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository (or installed package) root: the folder holding client/, shared/ and dist/. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLIENT_DIR = path.join(PACKAGE_ROOT, 'dist/client');
/** What the bundle is made from. package-lock.json stands for node_modules: an xterm upgrade changes it. */
const SOURCES = ['client', 'shared', 'package-lock.json'];
/** The files a build writes; the oldest of them dates the bundle. */
const OUTPUTS = ['index.html', 'app.js', 'app.css'];
/** The entry point whose presence says "this is a checkout", not an installed package that ships dist/. */
const ENTRY = 'client/main.ts';

/** The bundle cannot be built or is missing: what failed, and what to do. */
export class ClientBundleError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'ClientBundleError';
  }
}

export interface BundleState {
  /** The sources are here (a checkout), so the bundle can be built. */
  hasSources: boolean;
  /** Newest modification time among the sources, ms; undefined when there are none. */
  newestSourceMs: number | undefined;
  /** Oldest modification time among the outputs, ms; undefined when any output is missing. */
  oldestOutputMs: number | undefined;
}

/**
 * Why the bundle must be (re)built, or undefined when it is up to date. Pure: the decision table
 * behind ensureClientBundle, unit-tested without a file system.
 */
export function staleReason(s: BundleState): string | undefined {
  if (s.oldestOutputMs === undefined) return 'dist/client/ is missing';
  if (s.hasSources && s.newestSourceMs !== undefined && s.newestSourceMs > s.oldestOutputMs) {
    return 'dist/client/ is older than client/ or shared/';
  }
  return undefined;
}

async function newestMtime(p: string): Promise<number | undefined> {
  let st;
  try {
    st = await stat(p);
  } catch {
    return undefined;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs; // a deleted file bumps its folder's mtime
  for (const e of await readdir(p)) {
    const m = await newestMtime(path.join(p, e));
    if (m !== undefined && m > newest) newest = m;
  }
  return newest;
}

/** Reads the bundle's state under `root` from the file system. */
export async function bundleState(root = PACKAGE_ROOT): Promise<BundleState> {
  const hasSources = await stat(path.join(root, ENTRY)).then(() => true, () => false);
  let newestSourceMs: number | undefined;
  for (const s of SOURCES) {
    const m = await newestMtime(path.join(root, s));
    if (m !== undefined && (newestSourceMs === undefined || m > newestSourceMs)) newestSourceMs = m;
  }
  let oldestOutputMs: number | undefined = Infinity;
  for (const o of OUTPUTS) {
    const m = await stat(path.join(root, 'dist/client', o)).then((st) => st.mtimeMs, () => undefined);
    oldestOutputMs = m === undefined || oldestOutputMs === undefined ? undefined : Math.min(oldestOutputMs, m);
  }
  return { hasSources, newestSourceMs, oldestOutputMs };
}

export interface BuildResult {
  ms: number;
  /** `app.js 512 kB`-style sizes of the files written, source maps left out. */
  sizes: string[];
  /** esbuild's warnings as `file:line:col: text`. */
  warnings: string[];
}

/**
 * Builds client/main.ts → dist/client/app.js + app.css (the stylesheets it imports, xterm's included)
 * and copies client/index.html. No inline scripts, so the page works under the server's strict CSP.
 * Throws ClientBundleError carrying esbuild's messages (file:line:col) when the build fails.
 */
export async function buildClient(root = PACKAGE_ROOT): Promise<BuildResult> {
  const outdir = path.join(root, 'dist/client');
  const started = performance.now();
  // Loaded lazily: an installed package that ships dist/ never needs esbuild at run time.
  const { build } = await import('esbuild');
  await mkdir(outdir, { recursive: true });
  let result;
  try {
    result = await build({
      absWorkingDir: root,
      entryPoints: { app: path.join(root, ENTRY) },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: ['chrome110', 'firefox110', 'safari16'],
      outdir,
      // Large parts only some pages need (the topology layout engine, the recording player) load on first use.
      splitting: true,
      chunkNames: 'chunks/[name]-[hash]',
      minify: true,
      sourcemap: true,
      legalComments: 'none',
      metafile: true,
      // Errors are reported once, by whoever catches ClientBundleError, not also by esbuild's logger.
      logLevel: 'silent',
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new ClientBundleError(
      `the web client did not build: ${message}`,
      `fix the error above in client/ or shared/ (or run \`npm ci\` if a module is missing), then run \`npm run build\` to check`,
    );
  }
  await copyFile(path.join(root, 'client/index.html'), path.join(outdir, 'index.html'));
  const sizes = Object.entries(result.metafile.outputs)
    .filter(([file]) => !file.endsWith('.map'))
    .map(([file, o]) => `${path.basename(file)} ${(o.bytes / 1024).toFixed(0)} kB`);
  const warnings = result.warnings.map((w) => (w.location ? `${w.location.file}:${w.location.line}:${w.location.column}: ${w.text}` : w.text));
  return { ms: Math.round(performance.now() - started), sizes, warnings };
}

/**
 * Makes sure dist/client/ is there and not older than its sources, building it (and saying so in one
 * line, before the build, so a slow first build is not silence) when needed. Throws ClientBundleError when it cannot be built, or is missing from a package
 * that has no sources to build it from.
 */
export async function ensureClientBundle(log: (line: string) => void, root = PACKAGE_ROOT): Promise<void> {
  const state = await bundleState(root);
  const reason = staleReason(state);
  if (reason === undefined) return;
  if (!state.hasSources) {
    throw new ClientBundleError(
      `the web client is missing from ${path.join(root, 'dist/client')} and there are no sources to build it from`,
      'reinstall labrun (a package ships the built client), or run it from a git checkout',
    );
  }
  log(`building the web client (${reason})…`);
  await buildClient(root);
}

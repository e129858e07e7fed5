// `labrun serve`: parse the configuration, make sure the images exist, start the web app, print the
// one URL to open, and shut down cleanly on SIGINT/SIGTERM (sandboxes stay for the next start).
import { ConfigError, SERVE_USAGE, parseConfig } from '../config.ts';
import { LabError, loadCatalog } from '../labs/catalog.ts';
import { ImageError, SANDBOX_IMAGE, ensureImages } from '../images/ensure-images.ts';
import { DEFAULT_DISK_BYTES } from '../sandbox/dind.ts';
import { chooseIsolation } from '../sandbox/isolation.ts';
import { createServer } from './app.ts';
import { ClientBundleError, ensureClientBundle } from './client-bundle.ts';
import { isLoopbackHost } from '../common.ts';


/** Upper bound on a graceful shutdown; past it the process exits anyway rather than hang. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

export async function serveCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(SERVE_USAGE);
    return 0;
  }
  let config;
  try {
    config = parseConfig(argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`labrun serve: ${err.message}\n\n${SERVE_USAGE}`);
      return 2;
    }
    throw err;
  }

  // Before anything slow (images) and before listening: the printed URL must lead to a working page.
  try {
    await ensureClientBundle((line) => console.log(line));
  } catch (err) {
    if (err instanceof ClientBundleError) {
      console.error(`labrun serve: ${err.message}\n${err.hint}`);
      return 1;
    }
    throw err;
  }

  const isolation = await chooseIsolation({ requested: config.isolation, sandboxEngine: config.sandboxEngine, loopback: isLoopbackHost(config.host) });
  if (!isolation.ok) {
    console.error(`labrun serve: ${isolation.error}\n${isolation.hint}`);
    return 1;
  }
  if (isolation.warning) console.error(`labrun serve: WARNING: ${isolation.warning}`);
  config = { ...config, isolation: isolation.isolation };

  let catalog;
  try {
    catalog = await loadCatalog(config.labsDir);
  } catch (err) {
    if (err instanceof LabError) {
      console.error(`labrun serve: the labs in ${config.labsDir} have problems:\n${err.message}`);
      return 1;
    }
    throw err;
  }
  // A signal while starting (images, re-adopting sandboxes) ends the process at once: nothing is
  // listening yet, and everything half-done is labelled for the next start to pick up or reap.
  let server: Awaited<ReturnType<typeof createServer>> | undefined;
  let stopping: Promise<void> | undefined;
  let stopped: () => void = () => {};
  const done = new Promise<void>((resolve) => (stopped = resolve));
  const stop = (signal: string): void => {
    if (!server) {
      console.error(`\n${signal} while starting: exiting`);
      process.exit(130);
    }
    if (stopping) return;
    console.log(`\n${signal}: shutting down (terminals closed; sandboxes kept for the next start)`);
    const timer = setTimeout(() => {
      console.error(`labrun serve: shutdown took over ${SHUTDOWN_TIMEOUT_MS / 1000} s; exiting anyway`);
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    stopping = server.close().then(stopped, (err: unknown) => {
      console.error(`labrun serve: error during shutdown: ${err instanceof Error ? err.message : String(err)}`);
      stopped();
    });
  };
  const onInt = (): void => stop('SIGINT');
  const onTerm = (): void => stop('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    const images = [SANDBOX_IMAGE, ...new Set(catalog.labs.flatMap((l) => l.images))];
    try {
      await ensureImages(images, { onProgress: (line) => console.log(`images: ${line}`) });
    } catch (err) {
      if (!(err instanceof ImageError)) throw err;
      console.error(`labrun serve: ${err.message}\n  what to do: ${err.hint}`);
      return 1;
    }
    console.log('looking for sandboxes from a previous run…');
    server = await createServer(config, { prepareImages: true });
    if (server.adopted > 0) console.log(`re-adopted ${server.adopted} sandbox(es) from the previous run`);
    console.log(
      isolation.isolation === 'isolated'
        ? `sandboxes: isolated, on labrun's sandbox engine at ${config.sandboxEngine} (user-namespace remapped, no network, ${Math.round((config.diskBytes ?? DEFAULT_DISK_BYTES) / 1024 ** 3)} GiB disk each)`
        : 'sandboxes: trusted, on the host engine (NOT isolated from this server)',
    );
    // Behind a reverse proxy the address to open is the public one (--public-url), not the listen address.
    const openAt = config.publicUrl ?? server.url;
    console.log(`labrun is ready: ${openAt}/?token=${config.token}`);
    if (config.metricsToken) console.log(`metrics: ${openAt}/metrics (Authorization: Bearer <the metrics token>); health: ${openAt}/healthz, ${openAt}/readyz`);
    if (!isLoopbackHost(config.host) || config.publicUrl) {
      // Classroom mode: the token is the instructor's; learners never see it, they join by code.
      console.log(`classroom: open ${openAt.replace(/\/\/(0\.0\.0\.0|\[::\])/, '//<this machine\'s address>')}/instructor?token=${config.token} as the instructor (keep this link private), create a class, and give learners its join link`);
    }
    await done;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
  return 0;
}

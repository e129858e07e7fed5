// `npm run build`: builds the browser client into dist/client/ with the same build `labrun serve`
// runs when the bundle is missing or stale (server/http/client-bundle.ts), and prints its sizes.
import path from 'node:path';
import { ClientBundleError, PACKAGE_ROOT, buildClient } from '../server/http/client-bundle.ts';

try {
  const { ms, sizes, warnings } = await buildClient();
  for (const w of warnings) console.warn(`warning: ${w}`);
  console.log(`client built in ${ms} ms → ${path.relative(PACKAGE_ROOT, path.join(PACKAGE_ROOT, 'dist/client'))}/ (${sizes.join(', ')})`);
} catch (err) {
  if (!(err instanceof ClientBundleError)) throw err;
  console.error(`build: ${err.message}\n${err.hint}`);
  process.exitCode = 1;
}

// Builds the browser client with esbuild: client/main.ts → dist/client/app.js + app.css (the
// stylesheets it imports, xterm's included), and copies client/index.html. No inline scripts, so the
// page works under the server's strict Content-Security-Policy.
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist/client');

const started = performance.now();
await mkdir(outdir, { recursive: true });
const result = await build({
  entryPoints: { app: path.join(root, 'client/main.ts') },
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox110', 'safari16'],
  outdir,
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});
await copyFile(path.join(root, 'client/index.html'), path.join(outdir, 'index.html'));
const sizes = Object.entries(result.metafile.outputs)
  .filter(([file]) => !file.endsWith('.map'))
  .map(([file, o]) => `${path.basename(file)} ${(o.bytes / 1024).toFixed(0)} kB`);
console.log(`client built in ${Math.round(performance.now() - started)} ms → ${path.relative(root, outdir)}/ (${sizes.join(', ')})`);

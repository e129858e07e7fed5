// Measures the importers on a folder of other people's scenarios (never committed): every Killercoda
// or Katacoda scenario (index.json) and Instruqt track (track.yml) under DIR is imported, the written
// lab is loaded as `labrun validate` would, and with --test N a sample of those that ship a solution
// runs through `labrun test` in a real sandbox, one at a time.
//
//   node --import tsx scripts/import-corpus.ts DIR [--out /tmp/corpus-labs] [--test N]
import { spawnSync } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadLab } from '../server/labs/catalog.ts';
import { ImportError, type LabDraft } from '../server/labs/import/draft.ts';
import { importDrafts } from '../server/labs/import/convert-at-load.ts';
import { writeDraft } from '../server/labs/import/write-draft.ts';

const { values, positionals } = parseArgs({ options: { out: { type: 'string' }, test: { type: 'string' } }, allowPositionals: true });
const root = positionals[0];
if (!root) {
  console.error('usage: node --import tsx scripts/import-corpus.ts DIR [--out DIR] [--test N]');
  process.exit(2);
}
const outRoot = path.resolve(values.out ?? '/tmp/corpus-labs');
const sample = Number(values.test ?? 0);

/** Folders holding a source, skipping what is never a scenario. */
async function findSources(dir: string, found: { dir: string; format: 'killercoda' | 'instruqt' }[] = []) {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const names = new Set(entries.map((e) => e.name));
  if (names.has('track.yml')) found.push({ dir, format: 'instruqt' });
  else if (names.has('index.json') && /"details"\s*:/.test(await readFile(path.join(dir, 'index.json'), 'utf8').catch(() => ''))) found.push({ dir, format: 'killercoda' });
  for (const e of entries) if (e.isDirectory() && !['.git', 'node_modules', 'assets'].includes(e.name)) await findSources(path.join(dir, e.name), found);
  return found;
}

/** A problem message with its specifics blurred, so alike problems count together. */
const reason = (m: string) => m.replace(/'[^']*'/g, "'…'").replace(/\([^)]*\)/g, '(…)').replace(/\d+/g, 'N').slice(0, 110);

const sources = await findSources(path.resolve(root));
await rm(outRoot, { recursive: true, force: true });
const tally = { killercoda: { found: 0, imported: 0, valid: 0, withChecks: 0, withSolution: 0 }, instruqt: { found: 0, imported: 0, valid: 0, withChecks: 0, withSolution: 0 } };
const reasons = new Map<string, number>();
const invalid = new Map<string, number>();
const testable: string[] = [];
const images = new Set<string>();
let n = 0;
for (const s of sources) {
  const t = tally[s.format];
  t.found++;
  let drafts: LabDraft[];
  try {
    drafts = await importDrafts(s.format, s.dir);
  } catch (err) {
    const msg = err instanceof ImportError ? (err.issues[0]?.message ?? err.message) : `crash: ${String(err)}`;
    reasons.set(`${s.format}: ${reason(msg)}`, (reasons.get(`${s.format}: ${reason(msg)}`) ?? 0) + 1);
    continue;
  }
  for (const d of drafts) {
    t.imported++;
    for (const i of d.images) images.add(i);
    const out = path.join(outRoot, `${String(++n).padStart(4, '0')}-${d.id}`.slice(0, 60).replace(/-+$/, ''));
    await writeDraft(d, out, [], { replace: true });
    const r = await loadLab(out);
    if (!r.lab) {
      const key = `${s.format}: ${reason(r.issues[0]?.message ?? '?')}`;
      invalid.set(key, (invalid.get(key) ?? 0) + 1);
      continue;
    }
    t.valid++;
    const checked = r.lab.steps.filter((st) => st.checks.length);
    if (checked.length) t.withChecks++;
    if (checked.length && checked.every((st) => st.solve !== undefined)) {
      t.withSolution++;
      testable.push(out);
    }
  }
}

const top = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, v]) => `  ${String(v).padStart(4)}  ${k}`).join('\n');
console.log(`sources under ${root}: ${sources.length}`);
for (const [f, t] of Object.entries(tally)) console.log(`${f.padEnd(10)} found ${t.found}, imported labs ${t.imported}, validate ${t.valid}, with checks ${t.withChecks}, every checked step has a solution ${t.withSolution}`);
console.log(`not imported, by first problem:\n${top(reasons) || '  (none)'}`);
console.log(`imported but not valid:\n${top(invalid) || '  (none)'}`);
console.log(`images the imported labs name: ${images.size}`);

if (sample > 0 && testable.length) {
  // An even spread over the list, not the first N (one repository would dominate).
  const step = testable.length / Math.min(sample, testable.length);
  const picked = Array.from({ length: Math.min(sample, testable.length) }, (_, i) => testable[Math.floor(i * step)] ?? '');
  let passed = 0;
  for (const dir of picked) {
    const r = spawnSync('bin/labrun', ['test', dir], { encoding: 'utf8', timeout: 300_000 });
    const line = /after solve: (\d+) pass, (\d+) FAIL/.exec(r.stdout)?.[0] ?? (r.stderr.trim().split('\n')[0] ?? 'no result');
    if (r.status === 0) passed++;
    console.log(`  ${r.status === 0 ? 'ok  ' : 'FAIL'} ${path.basename(dir)}: ${line}`);
  }
  console.log(`labrun test on ${picked.length} of ${testable.length} with a solution: ${passed} pass (checks fail before the solution, pass after)`);
}

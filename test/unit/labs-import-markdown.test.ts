// Killercoda/Katacoda markdown annotations → labrun markdown: one row per annotation, then the
// rendered HTML the lesson page decorates (Run, interrupt, inline Run, details kept, images, port links).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { convertKillercodaMarkdown } from '../../server/labs/import/killercoda-markdown.ts';
import { renderMarkdown } from '../../server/labs/markdown.ts';

const rows: [string, string, string][] = [
  ['fenced {{exec}} → a bash Run block', '```\nls -l\n```{{exec}}', '```bash run\nls -l\n```'],
  ['fenced {{exec}} keeps its language', '```sh\nls\n```{{exec}}', '```sh run\nls\n```'],
  ['fenced {{exec interrupt}} → Ctrl-C first', '```\nwhoami\n```{{exec interrupt}}', '```bash run interrupt\nwhoami\n```'],
  ['fenced {{copy}} → a plain block', '```\nuname -r\n```{{copy}}', '```\nuname -r\n```'],
  ['fenced {{}} → a plain block', '~~~\nx\n~~~{{}}', '~~~\nx\n~~~'],
  ['a block with no annotation stays', '```yaml\na: 1\n```', '```yaml\na: 1\n```'],
  ['inline {{exec}} → inline Run code', 'Run `ls -lh`{{exec}} now', 'Run <code data-run>ls -lh</code> now'],
  ['inline {{exec interrupt}}', '`whoami`{{exec interrupt}}', '<code data-run data-interrupt>whoami</code>'],
  ['inline text is escaped', '`echo "<b>" && ls`{{exec}}', '<code data-run>echo &#34;&#60;b&#62;&#34; &#38;&#38; ls</code>'],
  ["Katacoda's {{execute}}", '`docker ps`{{execute}}', '<code data-run>docker ps</code>'],
  ['inline {{copy}} and {{}} → code spans', '`a`{{copy}} and `b`{{}}', '`a` and `b`'],
  ['traffic link → port link', '[open]({{TRAFFIC_HOST1_80}})', '[open](port:80)'],
  ['traffic link with scheme', '[open](https://{{TRAFFIC_HOST1_8080}})', '[open](port:8080)'],
  ['bare traffic host → a port link', 'see {{TRAFFIC_HOST1_3000}}, then', 'see [port 3000](port:3000), then'],
  ['traffic selector → text', '[ports]({{TRAFFIC_SELECTOR}})', 'ports'],
  ['relative image → assets', '![d](./img/a.png)', '![d](img/a.png)'],
  ['image above the folder stays inside assets', '![d](../shared/a.png)', '![d](_up/shared/a.png)'],
  ['html image → assets', '<img src="./b.png" width="9">', '<img src="b.png" width="9">'],
  ['absolute image untouched', '![d](https://example.org/a.png)', '![d](https://example.org/a.png)'],
  ['details kept', '<details><summary>Tip</summary>\n\ntext\n\n</details>', '<details><summary>Tip</summary>\n\ntext\n\n</details>'],
];

for (const [name, input, want] of rows) {
  test(`killercoda markdown: ${name}`, () => {
    assert.equal(convertKillercodaMarkdown(input).markdown, want);
  });
}

test('images are reported relative to the scenario, from the markdown file’s folder', () => {
  const r = convertKillercodaMarkdown('![a](green.png) ![b](../logo.png)', 'step2');
  assert.deepEqual(r.images, ['step2/green.png', 'logo.png']);
  assert.equal(r.markdown, '![a](step2/green.png) ![b](logo.png)');
});

test('Run commands inside a Solution dropdown are the solution; others are not', () => {
  const md = [
    '```\nkubectl create -h\n```{{exec}}',
    '<details><summary>Tip</summary>\n\n`echo tip`{{exec}}\n\n</details>',
    '<details><summary>Solution</summary>\n\n```\nmkdir -p ~/a\ntouch ~/a/b\n```{{exec}}\n\n`echo done`{{exec}}\n\n</details>',
    '`echo after`{{exec}}',
  ].join('\n\n');
  const r = convertKillercodaMarkdown(md);
  assert.deepEqual(r.solution, ['mkdir -p ~/a\ntouch ~/a/b', 'echo done']);
  assert.deepEqual(r.runs, ['kubectl create -h', 'echo tip', 'mkdir -p ~/a\ntouch ~/a/b', 'echo done', 'echo after']);
});

test('a second terminal and TRAFFIC paths are noted, not silently dropped', () => {
  const r = convertKillercodaMarkdown('`date`{{execute T2}} [x]({{TRAFFIC_HOST1_80}}/admin)');
  assert.equal(r.markdown, '<code data-run>date</code> [x](port:80)');
  assert.equal(r.notes.length, 2);
  assert.match(r.notes.join('\n'), /one terminal/);
  assert.match(r.notes.join('\n'), /\/admin was dropped/);
});

test('rendered: Run blocks carry data-run (and data-interrupt), inline Run code and <details> survive sanitizing', () => {
  const html = renderMarkdown(
    convertKillercodaMarkdown('```\nls\n```{{exec}}\n\n```\nwhoami\n```{{exec interrupt}}\n\nrun `pwd`{{exec}}\n\n<details><summary>Solution</summary>\n\nx\n\n</details>').markdown,
  );
  assert.match(html, /<pre data-lang="bash" data-run=""><code>ls\n<\/code><\/pre>/);
  assert.match(html, /<pre data-lang="bash" data-run="" data-interrupt=""><code>whoami\n<\/code><\/pre>/);
  assert.match(html, /<code data-run="">pwd<\/code>/);
  assert.match(html, /<details><summary>Solution<\/summary>/);
});

// Lesson markdown rendering: unsafe HTML is stripped, and fenced blocks carry data-lang / data-run for
// the client's Copy and Run buttons.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderMarkdown } from '../../server/labs/markdown.ts';

test('a <script> in a lesson is removed', () => {
  const html = renderMarkdown('Hello\n\n<script>alert(1)</script>\n\nafter');
  assert.doesNotMatch(html, /<script|alert\(1\)/);
  assert.match(html, /after/);
});

test('event handlers and javascript: URLs are removed', () => {
  const html = renderMarkdown('<img src="x" onerror="alert(1)">\n\n[click](javascript:alert(2))\n\n<a href="#" onclick="x()">a</a>');
  assert.doesNotMatch(html, /onerror|onclick|javascript:/);
  assert.match(html, /<img src="x">/);
});

test('```bash run fences get data-lang and data-run; plain bash only data-lang', () => {
  const html = renderMarkdown('```bash run\ndocker compose up -d\n```\n\n```bash\nls\n```\n');
  assert.match(html, /<pre data-lang="bash" data-run(="")?><code>docker compose up -d\n<\/code><\/pre>/);
  assert.match(html, /<pre data-lang="bash"><code>ls\n<\/code><\/pre>/);
});

test('code in fences is escaped, not interpreted', () => {
  const html = renderMarkdown('```\n<b>bold</b> {{.Name}}\n```\n');
  assert.match(html, /<pre><code>&lt;b&gt;bold&lt;\/b&gt; \{\{\.Name\}\}\n<\/code><\/pre>/);
});

test('runnableCommands lists only run blocks, in order', async () => {
  const { runnableCommands } = await import('../../server/labs/markdown.ts');
  assert.deepEqual(runnableCommands('```bash run\na\nb\n```\n\n```bash\nc\n```\n\ntext\n\n```bash run\nd\n```\n'), ['a\nb', 'd']);
});

test('port: and file: links become workspace links the client completes; the href stays inert', () => {
  const html = renderMarkdown('[open nginx](port:8080) [b](port:9080@nginx_a) [p](port:8080/docs/?x=1) [edit netsvc.conf](file:netsvc.conf#L2) [f](file:conf/a.conf) [w](https://example.invalid/)');
  assert.match(html, /<a class="port-link" href="#port-8080" data-port="8080">open nginx<\/a>/);
  assert.match(html, /<a class="port-link" href="#port-9080" data-port="9080" data-service="nginx_a">b<\/a>/);
  assert.match(html, /data-port="8080" data-path="docs\/\?x=1"/);
  assert.match(html, /<a class="file-link" href="#file" data-file="netsvc.conf" data-line="2">edit netsvc.conf<\/a>/);
  assert.match(html, /data-file="conf\/a.conf">f<\/a>/);
  assert.match(html, /<a href="https:\/\/example.invalid\/">w<\/a>/);
  // An attribute cannot be broken out of.
  assert.doesNotMatch(renderMarkdown('[x](file:a"onclick="alert(1))'), /\sonclick=/);
});

test('a link to topology: becomes an in-page link the lesson page turns into "show the picture"; other odd schemes stay removed', () => {
  const html = renderMarkdown('[see the picture](topology:) and [bad](javascript:alert(1))');
  assert.match(html, /<a href="#topology" class="panel-link" data-panel="topology">see the picture<\/a>/);
  assert.doesNotMatch(html, /javascript:/);
});

test('terminal=<id> on a run fence names the terminal tab it runs in', () => {
  const html = renderMarkdown('```sh run terminal=2\nnginx -g "daemon off;"\n```\n\n```sh run terminal=server\ncurl localhost\n```\n\n```sh run\nls\n```\n');
  assert.match(html, /<pre data-lang="sh" data-run(="")? data-terminal="2"><code>nginx/);
  assert.match(html, /<pre data-lang="sh" data-run(="")? data-terminal="server"><code>curl/);
  assert.match(html, /<pre data-lang="sh" data-run(="")?><code>ls/);
});

test('a bad terminal= is not rendered and is reported on its line', async () => {
  const { fenceProblems } = await import('../../server/labs/markdown.ts');
  const body = 'Intro\n\n```sh run terminal=../x\nls\n```\n\ntext\n\n```sh terminal=2\nls\n```\n';
  assert.doesNotMatch(renderMarkdown(body), /data-terminal/);
  assert.deepEqual(fenceProblems(body), [
    { line: 3, message: "code block: terminal=../x is not a terminal id (1-32 lowercase letters, digits, '-' or '_')" },
    { line: 9, message: "code block: terminal=2 needs 'run' too (```sh run terminal=2)" },
  ]);
});

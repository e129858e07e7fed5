// The seed article's commands, typed verbatim into a learner's terminal in a fresh sandbox, print
// what the article shows wherever its output is not specific to the author's machine: Compose v2's
// progress report and container names, `docker compose ps` with its SERVICE column, the project
// network in `docker network ls`, and nginx_b without an address of its own once it shares nginx_a's
// namespace. The inner engine is current Docker (26 or later) with Compose v2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { innerEngine } from '../../server/sandbox/dind.ts';
import { requireDocker } from '../support/require.ts';
import { seedLabTerminal } from '../support/seed-sandbox.ts';
import { plainText, typedTerminal } from '../support/typed-terminal.ts';

test("the seed article's commands, typed verbatim, print what the article shows", { timeout: 10 * 60_000 }, async (t) => {
  if (!requireDocker(t)) return;
  const { sandbox, pty } = await seedLabTerminal(t, 'test-article');
  const typed = typedTerminal(pty);
  const type = async (line: string): Promise<string> => {
    const r = await typed(line);
    const text = plainText(r.output);
    assert.equal(r.rc, 0, `'${line}' failed:\n${text}`);
    return text;
  };

  const version = await type("docker version --format '{{.Server.Version}}'");
  assert.ok(Number(/(\d+)\.\d+\.\d+/.exec(version)?.[1]) >= 26, `the inner engine is Docker 26 or later: ${version}`);
  assert.match(await type('docker compose version'), /Docker Compose version v?2\./);

  assert.match(await type('docker run --name dummynginx -p 8080:80 -d nginx'), /^[0-9a-f]{64}$/m);
  assert.match(await type('sudo lsns -t net | grep nginx'), /nginx/);
  assert.match(await type('docker rm -f dummynginx'), /^dummynginx$/m);

  // Compose v2 in a terminal: the progress report, the project network and container names.
  const up = await type('docker compose up -d');
  assert.match(up, /\[\+\] Running 3\/3/);
  assert.match(up, /Network linuxnetworks_default\s+Created/);
  assert.match(up, /Container linuxnetworks-nginx_a-1\s+Started/);
  assert.match(up, /Container linuxnetworks-nginx_b-1\s+Started/);
  assert.match(await type('sudo lsns -t net | grep nginx'), /nginx[\s\S]*\n.*nginx/);
  assert.match(await type('docker compose exec nginx_a curl nginx_b'), /Welcome to nginx!/);

  const ip = (await type("docker inspect $(docker ps -f 'Name=nginx_b' -q) -f '{{.NetworkSettings.Networks.linuxnetworks_default.IPAddress}}'")).trim().split('\n').pop() ?? '';
  const engineIp = (await innerEngine(sandbox).listContainers({ filters: { label: ['com.docker.compose.service=nginx_b'] } }))[0]?.NetworkSettings.Networks['linuxnetworks_default']?.IPAddress;
  assert.equal(ip, engineIp);

  const ps = await type('docker ps');
  assert.match(ps, /linuxnetworks-nginx_a-1/);
  assert.match(ps, /linuxnetworks-nginx_b-1/);
  assert.match(await type('docker compose ps'), /^NAME\s+IMAGE\s+COMMAND\s+SERVICE\s+CREATED\s+STATUS\s+PORTS$/m);
  assert.match(await type('docker network ls'), /^\w+\s+linuxnetworks_default\s+bridge\s+local$/m);
  assert.match(await type("sudo nsenter --net=$(docker inspect $(docker ps -q -f 'Name=nginx_a') -f '{{.NetworkSettings.SandboxKey}}') ip route show"), /^default via /m);

  // The article's second stack: nginx_b in nginx_a's namespace, so no address of its own.
  const netsvc = await type('docker compose -f docker-compose-netsvc.yaml up -d');
  assert.match(netsvc, /Container linuxnetworks-nginx_b-1\s+(Started|Recreated)/);
  const shared = await type("docker inspect $(docker ps -f 'Name=nginx_b' -q) -f '{{.NetworkSettings.Networks.linuxnetworks_default.IPAddress}}'");
  assert.equal(shared.trim().split('\n').pop(), '<no value>');
  assert.match(await type('docker compose -f docker-compose-netsvc.yaml ps'), /^NAME\s+IMAGE\s+COMMAND\s+SERVICE\s+CREATED\s+STATUS\s+PORTS$/m);
});

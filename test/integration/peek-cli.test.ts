// `nsq peek` run as a user runs it: the binary against a spawned `nsq serve` (most messages on disk),
// each format, a topic's own messages, and the one-line errors with their exit codes.

import t from 'tap';
import { serverPorts, spawnNsq, type Spawned, type Teardown } from '../helpers/nsqd.js';
import { deadAddress } from '../helpers/ports.js';
import { startAuthd } from '../helpers/authd.js';

const server = spawnNsq(t, ['serve', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--mem-queue-size=2', '--data-path=.']);
const { http } = await serverPorts(server);
const ADDRESS = `127.0.0.1:${http}`;

async function post(path: string, body?: string): Promise<void> {
  const res = await fetch(`http://${ADDRESS}${path}`, { method: 'POST', body, signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
}

async function peek(t: Teardown, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run: Spawned = spawnNsq(t, ['peek', ...args]);
  const { code } = await run.exit;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

await post('/topic/create?topic=orders');
await post('/channel/create?topic=orders&channel=billing');
await post('/mpub?topic=orders', 'one\ntwo\nthree\nfour');
await post('/pub?topic=orders&defer=60000', 'later');
await post('/mpub?topic=solo', 'x\ny');

t.test('raw (the default): bodies in delivery order, disk included, deferred last', async (t) => {
  const r = await peek(t, 'orders/billing', `--nsqd-http-address=${ADDRESS}`);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'one\ntwo\nthree\nfour\nlater\n');
  t.equal(r.stderr, '');
  const again = await peek(t, 'orders/billing', `--nsqd-http-address=${ADDRESS}`, '-n', '2');
  t.equal(again.stdout, 'one\ntwo\n', '-n: the first ones; the first peek took nothing');
});

t.test('-f json: nsq tail\'s line with the state', async (t) => {
  const r = await peek(t, 'orders/billing', `--nsqd-http-address=${ADDRESS}`, '-f', 'json');
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(lines.length, 5);
  t.match(lines[0], { topic: 'orders', channel: 'billing', id: /^[0-9a-f]{16}$/, timestamp: /Z$/, attempts: 0, state: 'queued', body: 'one' });
  t.match(lines[4], { state: 'deferred', due_at: /Z$/, body: 'later' });
});

t.test('a template, and a topic\'s own messages', async (t) => {
  const r = await peek(t, 'solo', `--nsqd-http-address=${ADDRESS}`, '-f', '{{topic}} {{attempts}} {{body}}');
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'solo 0 x\nsolo 0 y\n');
});

t.test('errors: one line, no stack, non-zero exit', async (t) => {
  const missing = await peek(t, 'orders/nope', `--nsqd-http-address=${ADDRESS}`);
  t.equal(missing.code, 1);
  t.equal(missing.stderr, `nsq: nsqd ${ADDRESS} cannot peek at orders/nope: 404 CHANNEL_NOT_FOUND\n`);
  t.equal(missing.stdout, '');
  const noTopic = await peek(t, 'nope', `--nsqd-http-address=${ADDRESS}`);
  t.equal(noTopic.code, 1);
  t.match(noTopic.stderr, /404 TOPIC_NOT_FOUND\n$/);
  const dead = await deadAddress();
  const down = await peek(t, 'orders/billing', `--nsqd-http-address=${dead}`);
  t.equal(down.code, 1, 'an unreachable node');
  t.equal(down.stderr, `nsq: connect to ${dead}: connection refused\n`);
  const tooMany = await peek(t, 'orders/billing', `--nsqd-http-address=${ADDRESS}`, '-n', '1001');
  t.equal(tooMany.code, 2);
  t.equal(tooMany.stderr.split('\n').length, 2, 'one line');
  const badName = await peek(t, 'orders/bad name', `--nsqd-http-address=${ADDRESS}`);
  t.equal(badName.code, 2);
  t.match(badName.stderr, /invalid channel name/);
  const badTemplate = await peek(t, 'orders/billing', `--nsqd-http-address=${ADDRESS}`, '-f', '{{nope}}');
  t.equal(badTemplate.code, 2);
});

t.test('--auth-secret is the bearer of a node started with --auth-http-api', async (t) => {
  const authd = await startAuthd(t, { s3cret: { ttl: 3600, authorizations: [{ topic: '^orders$', channels: ['.*'], permissions: ['publish', 'subscribe'] }] } });
  const secured = spawnNsq(t, ['serve', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--data-path=.', `--auth-http-address=${authd.address}`, '--auth-http-api']);
  const address = `127.0.0.1:${(await serverPorts(secured)).http}`;
  for (const path of ['/topic/create?topic=orders', '/channel/create?topic=orders&channel=billing', '/pub?topic=orders']) {
    const res = await fetch(`http://${address}${path}`, { method: 'POST', body: path.startsWith('/pub') ? 'secret order' : undefined, headers: { authorization: 'Bearer s3cret' }, signal: AbortSignal.timeout(5000) });
    t.equal(res.status, 200, path);
  }
  const refused = await peek(t, 'orders/billing', `--nsqd-http-address=${address}`);
  t.equal(refused.code, 1);
  t.equal(refused.stderr, `nsq: nsqd ${address} cannot peek at orders/billing: 401 AUTH_REQUIRED\n`);
  const allowed = await peek(t, 'orders/billing', `--nsqd-http-address=${address}`, '--auth-secret=s3cret');
  t.equal(allowed.code, 0, allowed.stderr);
  t.equal(allowed.stdout, 'secret order\n');
});

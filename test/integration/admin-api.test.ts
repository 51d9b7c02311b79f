// `nsq admin`'s HTTP API, spawned as a user runs it, against a real cluster (nsq lookupd + 2 nsq
// serve): nsqadmin 1.3's routes and JSON shapes (test/fixtures/nsqadmin/shapes.json, written from
// nsqadmin's source), every action checked on the nodes and lookupd, ACL, notifications, a node
// that goes down, /config and --base-path.

import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import t from 'tap';
import nsq from 'nsqjs';
import type { Message as NsqjsMessage } from 'nsqjs';
import { call, shapeDiff, startAdmin } from '../helpers/admin.js';
import { getJson, lookupdTopics, nsq as runNsq, post, seedOrders, startCliCluster, topicOn } from '../helpers/cli-cluster.js';
import { waitFor } from '../helpers/stats.js';

const SHAPES = JSON.parse(readFileSync(new URL('../../../test/fixtures/nsqadmin/shapes.json', import.meta.url), 'utf8')) as Record<string, Record<string, string>>;
// ours, beside nsqadmin's: only for nodes that report dead letters
const EXTRA_CHANNEL = ['dead_lettered_count'];

const c = await startCliCluster(t);
const [a, b] = c.nodes as [string, string];
await seedOrders(c);
const admin = await startAdmin(t, [`--lookupd-http-address=${c.lookupd}`]);
const api = (path: string): string => `${admin.url}${path}`;

// one nsqjs consumer on orders/billing at node a, holding a message in flight
const reader = new nsq.Reader('orders', 'billing', { nsqdTCPAddresses: [`127.0.0.1:${c.tcpPorts[0]}`], maxInFlight: 1 });
reader.on('error', () => {});
const held: NsqjsMessage[] = [];
reader.on('message', (m: NsqjsMessage) => held.push(m));
const ready = once(reader, 'ready');
reader.connect();
t.teardown(() => reader.close());
await ready;
await waitFor('nsqjs holds a message', () => held.length === 1);

t.test('GET routes answer nsqadmin\'s shapes, summed over the nodes', async (t) => {
  t.same((await call(api('/ping'))).body, 'OK');
  t.same((await call(api('/info'))).body, { version: '1.3.0' });

  const topics = await call<{ topics: string[]; message: string }>(api('/api/topics'));
  t.equal(topics.status, 200);
  t.same(shapeDiff(topics.body, SHAPES['topics']!), []);
  t.same(topics.body.topics, ['orders']);

  const topic = await call<Record<string, unknown> & { nodes: Record<string, unknown>[]; channels: Record<string, unknown>[] }>(api('/api/topics/orders'));
  t.equal(topic.status, 200);
  t.same(shapeDiff(topic.body, SHAPES['topic']!), [], 'the topic, as nsqadmin');
  t.same(shapeDiff(topic.body['e2e_processing_latency'] as Record<string, unknown>, SHAPES['latency']!), []);
  t.equal(topic.body['node'], '*');
  t.equal(topic.body['message_count'], 5, '3 on a + 2 on b');
  t.equal(topic.body.nodes.length, 2);
  for (const n of topic.body.nodes) t.same(shapeDiff(n, SHAPES['topic_node']!), [], `the per-node entry of ${n['node']}`);
  t.same(topic.body.nodes.map((n) => n['node']).sort(), [a, b].sort());
  t.same(topic.body.channels.map((ch) => ch['channel_name']), ['audit', 'billing']);
  const billing = topic.body.channels.find((ch) => ch['channel_name'] === 'billing')!;
  const { message: _none, ...channelInTopic } = SHAPES['channel']!;
  t.same(shapeDiff(billing, channelInTopic, EXTRA_CHANNEL), [], 'a channel within the topic, as nsqadmin (no message of its own)');
  t.equal(billing['depth'], 4, '5 messages, 1 in flight');
  t.equal(billing['in_flight_count'], 1);

  const channel = await call<Record<string, unknown> & { nodes: Record<string, unknown>[]; clients: Record<string, unknown>[] }>(api('/api/topics/orders/billing'));
  t.equal(channel.status, 200);
  t.same(shapeDiff(channel.body, SHAPES['channel']!, EXTRA_CHANNEL), []);
  t.equal(channel.body.nodes.length, 2);
  t.equal(channel.body.clients.length, 1, 'the nsqjs consumer');
  const client = channel.body.clients[0]!;
  t.same(shapeDiff(client, SHAPES['client']!), []);
  t.equal(client['node'], a);
  t.equal(client['in_flight_count'], 1);
  t.match(client['user_agent'], /nsqjs/);

  const nodes = await call<{ nodes: Record<string, unknown>[] }>(api('/api/nodes'));
  t.same(shapeDiff(nodes.body, SHAPES['nodes']!), []);
  t.equal(nodes.body.nodes.length, 2);
  for (const p of nodes.body.nodes) {
    t.same(shapeDiff(p, SHAPES['producer']!), []);
    t.same(shapeDiff((p['topics'] as Record<string, unknown>[])[0]!, SHAPES['producer_topic']!), []);
    t.equal((p['remote_addresses'] as string[]).length, 1, 'one lookupd sees it');
    t.equal(p['out_of_date'], false);
  }
  t.same(nodes.body.nodes.map((p) => `${p['broadcast_address']}:${p['http_port']}`).sort(), [a, b].sort());

  const node = await call<Record<string, unknown> & { topics: Record<string, unknown>[] }>(api(`/api/nodes/${encodeURIComponent(a)}`));
  t.equal(node.status, 200);
  t.same(shapeDiff(node.body, SHAPES['node']!), []);
  t.equal(node.body['node'], a);
  t.equal(node.body['total_messages'], 3);
  t.equal(node.body['total_clients'], 1);
  t.equal((await call(api('/api/nodes/127.0.0.1:1'))).status, 404);
  t.same((await call(api('/api/nodes/127.0.0.1:1'))).body, { message: 'NODE_NOT_FOUND' });

  const counter = await call<{ stats: Record<string, Record<string, unknown>> }>(api('/api/counter'));
  t.same(shapeDiff(counter.body, SHAPES['counter']!), []);
  const key = `orders:billing:${a}`;
  t.ok(counter.body.stats[key], `a counter for ${key}`);
  t.same(shapeDiff(counter.body.stats[key]!, SHAPES['counter_stat']!), []);
  t.equal(counter.body.stats[key]!['message_count'], 3);
  t.equal(Object.keys(counter.body.stats).length, 4, '2 channels on 2 nodes');
});

t.test('actions reach every node that has the topic, and lookupd', async (t) => {
  const pause = await call(api('/api/topics/orders/billing'), 'POST', { action: 'pause' });
  t.same(pause, { status: 200, body: { message: '' } });
  for (const node of [a, b]) t.equal((await topicOn(node, 'orders'))?.channels.find((ch) => ch.channel_name === 'billing')?.paused, true, `billing paused on ${node}`);
  t.equal((await topicOn(a, 'orders'))?.channels.find((ch) => ch.channel_name === 'audit')?.paused, false, 'audit is not');
  t.equal((await call(api('/api/topics/orders/billing'), 'POST', { action: 'unpause' })).status, 200);
  for (const node of [a, b]) t.equal((await topicOn(node, 'orders'))?.channels.find((ch) => ch.channel_name === 'billing')?.paused, false);

  t.equal((await call(api('/api/topics/orders'), 'POST', { action: 'pause' })).status, 200);
  for (const node of [a, b]) t.equal((await topicOn(node, 'orders'))?.paused, true, `orders paused on ${node}`);
  t.equal((await call(api('/api/topics/orders'), 'POST', { action: 'unpause' })).status, 200);

  t.equal((await call(api('/api/topics/orders/audit'), 'POST', { action: 'empty' })).status, 200);
  for (const node of [a, b]) t.equal((await topicOn(node, 'orders'))?.channels.find((ch) => ch.channel_name === 'audit')?.depth, 0, `audit empty on ${node}`);
  t.ok(((await topicOn(a, 'orders'))?.channels.find((ch) => ch.channel_name === 'billing')?.depth ?? 0) > 0, 'billing keeps its messages');

  // create: the topic registered on lookupd; a channel on each node that has the topic
  t.equal((await call(api('/api/topics'), 'POST', { topic: 'orders', channel: 'fresh' })).status, 200);
  for (const node of [a, b]) t.ok((await topicOn(node, 'orders'))?.channels.some((ch) => ch.channel_name === 'fresh'), `fresh on ${node}`);
  t.equal((await call(api('/api/topics'), 'POST', { topic: 'planned' })).status, 200);
  t.ok((await lookupdTopics(c.lookupd)).includes('planned'), 'lookupd knows planned');
  const inactive = await call<{ topics: Record<string, string[]> }>(api('/api/topics?inactive=true'));
  t.same(shapeDiff(inactive.body, SHAPES['inactive']!), []);
  t.same(inactive.body.topics, { planned: [] }, 'a topic no node produces');

  // delete a channel, then a topic: gone from the nodes and from lookupd
  t.equal((await call(api('/api/topics/orders/fresh'), 'DELETE')).status, 200);
  for (const node of [a, b]) t.notOk((await topicOn(node, 'orders'))?.channels.some((ch) => ch.channel_name === 'fresh'), `fresh gone from ${node}`);
  t.equal((await call(api('/api/topics/planned'), 'DELETE')).status, 200);
  t.notOk((await lookupdTopics(c.lookupd)).includes('planned'), 'planned gone from lookupd');

  // tombstone: lookupd marks node b for orders
  t.equal((await call(api(`/api/nodes/${encodeURIComponent(b)}`), 'DELETE', { topic: 'orders' })).status, 200);
  const nodes = (await getJson<{ producers: { http_port: number; topics: string[]; tombstones: boolean[] }[] }>(`http://${c.lookupd}/nodes`)).body.producers;
  const pb = nodes.find((p) => `127.0.0.1:${p.http_port}` === b)!;
  t.equal(pb.tombstones[pb.topics.indexOf('orders')], true, 'b is tombstoned for orders on lookupd');
  const shown = await call<{ nodes: { http_port: number; topics: { topic: string; tombstoned: boolean }[] }[] }>(api('/api/nodes'));
  t.equal(shown.body.nodes.find((p) => `127.0.0.1:${p.http_port}` === b)?.topics.find((x) => x.topic === 'orders')?.tombstoned, true, '/api/nodes shows it');
});

t.test('bad requests: nsqadmin\'s codes, nothing done', async (t) => {
  t.same(await call(api('/api/topics/orders'), 'POST', { action: 'explode' }), { status: 400, body: { message: 'INVALID_ACTION' } });
  t.same(await call(api('/api/topics/orders'), 'POST', 'not json'), { status: 400, body: { message: 'INVALID_BODY' } });
  t.same(await call(api('/api/topics'), 'POST', { topic: 'bad name!' }), { status: 400, body: { message: 'INVALID_TOPIC' } });
  t.same(await call(api('/api/topics'), 'POST', { topic: 'ok', channel: 'bad name!' }), { status: 400, body: { message: 'INVALID_CHANNEL' } });
  t.notOk((await lookupdTopics(c.lookupd)).includes('ok'), 'no topic made by the refused create');
  t.same(await call(api(`/api/nodes/${encodeURIComponent(a)}`), 'DELETE', { topic: '' }), { status: 400, body: { message: 'INVALID_TOPIC' } });
  t.equal((await call(api('/api/topics'), 'PATCH')).status, 405);
  t.equal((await call(api('/api/nope'))).status, 404);
});

t.test('--admin-user: only a listed user in --acl-http-header may act; reading stays open', async (t) => {
  const acl = await startAdmin(t, [`--lookupd-http-address=${c.lookupd}`, '--admin-user=alice', '--admin-user=bob', '--acl-http-header=X-User']);
  const url = `${acl.url}/api/topics/orders/billing`;
  t.same(await call(url, 'POST', { action: 'pause' }), { status: 403, body: { message: 'FORBIDDEN' } }, 'no user');
  t.same(await call(url, 'POST', { action: 'pause' }, { 'X-User': 'mallory' }), { status: 403, body: { message: 'FORBIDDEN' } }, 'a user not listed');
  t.same(await call(url, 'POST', { action: 'pause' }, { 'X-Forwarded-User': 'alice' }), { status: 403, body: { message: 'FORBIDDEN' } }, 'the default header is not the one configured');
  t.equal((await topicOn(a, 'orders'))?.channels.find((ch) => ch.channel_name === 'billing')?.paused, false, 'nothing was paused');
  t.equal((await call(url)).status, 200, 'reading needs no user');
  t.equal((await call<{ can_act: boolean }>(`${acl.url}/api/model`)).body.can_act, false, 'the page is told it may not act');
  t.equal((await call<{ can_act: boolean }>(`${acl.url}/api/model`, 'GET', undefined, { 'X-User': 'bob' })).body.can_act, true);
  t.same(await call(url, 'POST', { action: 'pause' }, { 'X-User': 'bob' }), { status: 200, body: { message: '' } });
  t.equal((await topicOn(a, 'orders'))?.channels.find((ch) => ch.channel_name === 'billing')?.paused, true, 'bob paused it');
  t.equal((await call(url, 'POST', { action: 'unpause' }, { 'X-User': 'alice' })).status, 200);
});

t.test('--notification-http-endpoint: each action POSTed as nsqadmin\'s AdminAction', async (t) => {
  const got: { body: Record<string, unknown>; type: string | undefined }[] = [];
  const sink = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      got.push({ body: JSON.parse(body) as Record<string, unknown>, type: req.headers['content-type'] });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => sink.close(() => resolve())));
  const endpoint = `http://127.0.0.1:${(sink.address() as { port: number }).port}/hook`;
  const n = await startAdmin(t, [`--lookupd-http-address=${c.lookupd}`, `--notification-http-endpoint=${endpoint}`]);
  const auth = `Basic ${Buffer.from('carol:secret').toString('base64')}`;
  t.equal((await call(`${n.url}/api/topics/orders/billing`, 'POST', { action: 'pause' }, { Authorization: auth, 'User-Agent': 'admin-test' })).status, 200);
  t.equal((await call(`${n.url}/api/topics/orders/billing`, 'POST', { action: 'unpause' })).status, 200);
  await waitFor('2 notifications', () => got.length === 2);
  const first = got[0]!.body;
  t.same(shapeDiff(first, SHAPES['notification']!, ['user', 'node']), []);
  t.match(first, { action: 'pause_channel', topic: 'orders', channel: 'billing', user: 'carol', user_agent: 'admin-test' });
  t.match(first['url'], new RegExp(`^${n.url}/api/topics/orders/billing$`));
  t.ok(Math.abs((first['timestamp'] as number) - Date.now() / 1000) < 30, 'timestamp in seconds');
  t.equal(got[0]!.type, 'application/json');
  t.equal(got[1]!.body['action'], 'unpause_channel');
  t.notOk('user' in got[1]!.body, 'no basic auth, no user');
});

t.test('--base-path, --nsqd-http-address and /config', async (t) => {
  const based = await startAdmin(t, [`--nsqd-http-address=${a}`, '--base-path=/admin/']);
  t.equal((await call(`${based.url}/api/topics`)).status, 404, 'nothing outside the base path');
  const topics = await call<{ topics: string[] }>(`${based.url}/admin/api/topics`);
  t.same(topics.body.topics, ['orders'], 'the topics of the one node given, from its /stats');
  const page = await call(`${based.url}/admin/topics/orders`);
  t.equal(page.status, 200);
  t.match(page.body, /data-base-path="\/admin"/);
  t.match(page.body, /src="\/admin\/static\/app.js"/);
  // without lookupd, create makes the topic on the nodes given
  t.equal((await call(`${based.url}/admin/api/topics`, 'POST', { topic: 'direct' })).status, 200);
  t.ok(await topicOn(a, 'direct'), 'direct on a');
  t.notOk(await topicOn(b, 'direct'), 'and not on b, which was not given');

  t.same(await call(`${based.url}/admin/config/log_level`), { status: 200, body: 'info' });
  t.same(await call(`${based.url}/admin/config/log_level`, 'PUT', 'debug'), { status: 200, body: 'debug' });
  t.same(await call(`${based.url}/admin/config/log_level`, 'PUT', 'loud'), { status: 400, body: { message: 'INVALID_VALUE' } });
  t.same(await call(`${based.url}/admin/config/nope`), { status: 400, body: { message: 'INVALID_OPTION' } });
  t.same(await call(`${based.url}/admin/config/log_level`, 'PUT', 'x'.repeat(1024 * 1024 + 1)), { status: 413, body: { message: 'INVALID_VALUE' } }, 'over 1 MiB: 413, as nsqadmin');
  const closed = await startAdmin(t, [`--nsqd-http-address=${a}`, '--allow-config-from-cidr=10.0.0.0/8']);
  t.same(await call(`${closed.url}/config/log_level`), { status: 403, body: { message: 'FORBIDDEN' } }, 'not from the allowed CIDR');
});

t.test('a node that goes down: the others answer with a warning; none answering is 502', async (t) => {
  const only = await startAdmin(t, [`--nsqd-http-address=${a}`, `--nsqd-http-address=${b}`]);
  t.equal((await call<{ nodes: unknown[] }>(`${only.url}/api/topics/orders`)).body.nodes.length, 2, 'both nodes, while both answer');
  c.procs[1]!.child.kill('SIGKILL');
  await c.procs[1]!.exit;
  const partial = await call<{ message: string; nodes: { node: string }[]; message_count: number }>(`${only.url}/api/topics/orders`);
  t.equal(partial.status, 200);
  t.match(partial.body.message, new RegExp(`^WARNING: .*${b.replace(/\./g, '\\.')}`), 'the warning names the node down');
  t.same(partial.body.nodes.map((n) => n.node), [a], 'the node that answers');
  const model = await call<{ nodes: { address: string; up: boolean }[] }>(`${only.url}/api/model`);
  t.same(model.body.nodes.map((n) => [n.address, n.up]).sort(), [[a, true], [b, false]].sort(), 'the model marks it down');
  const none = await startAdmin(t, [`--nsqd-http-address=${b}`]);
  const down = await call<{ message: string }>(`${none.url}/api/topics`);
  t.equal(down.status, 502);
  t.match(down.body.message, /^UPSTREAM_ERROR: /);
});

t.test('flags: a usage error is one line and exit 2, before listening', async (t) => {
  for (const [args, why] of [
    [[], /--lookupd-http-address or --nsqd-http-address required/],
    [[`--lookupd-http-address=${c.lookupd}`, `--nsqd-http-address=${a}`], /not both/],
    [[`--lookupd-http-address=${c.lookupd}`, '--http-address=nope'], /invalid value "nope" for flag --http-address/],
    [[`--lookupd-http-address=${c.lookupd}`, '--notification-http-endpoint=example.com'], /fully qualified/],
    [[`--lookupd-http-address=${c.lookupd}`, '--http-client-request-timeout=soon'], /--http-client-request-timeout/],
  ] as const) {
    const r = await runNsq(t, ['admin', '--http-address=127.0.0.1:0', ...args]);
    t.equal(r.code, 2, `${args.join(' ')}: exit 2 (${r.stderr.trim()})`);
    t.match(r.stderr, why);
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    t.notMatch(r.stderr, /listening/);
  }
});

t.test('nsq serve --with-admin: the page and API over that node, in the same process', async (t) => {
  const { spawnNsq, serverPorts } = await import('../helpers/nsqd.js');
  const s = spawnNsq(t, ['serve', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--with-admin', '--with-admin-http-address=127.0.0.1:0']);
  const ports = await serverPorts(s);
  const line = await waitFor('the admin server listens', () => /\[nsqadmin\] .*HTTP: listening on [^ ]*:(\d+)/.exec(s.stderr()) ?? undefined, 10_000);
  const url = `http://127.0.0.1:${line[1]}`;
  await post(`127.0.0.1:${ports.http}`, '/pub?topic=local', 'x');
  t.same((await call<{ topics: string[] }>(`${url}/api/topics`)).body.topics, ['local']);
  t.equal((await call(`${url}/api/topics/local`, 'POST', { action: 'pause' })).status, 200);
  t.equal((await topicOn(`127.0.0.1:${ports.http}`, 'local'))?.paused, true, 'paused through the admin page');
  s.child.kill('SIGTERM');
  t.equal((await s.exit).code, 0, 'both stop on SIGTERM');
});

t.test('--config: nsqadmin\'s TOML file, under the command line', async (t) => {
  const { writeFileSync } = await import('node:fs');
  const { tempDir } = await import('../helpers/nsqd.js');
  const file = `${tempDir(t, 'nsq-admin-config-')}/nsqadmin.cfg`;
  writeFileSync(file, `nsqd_http_addresses = ["${a}"]\nbase_path = "/from-file"\nadmin_users = ["dora"]\nlog_prefix = "[adm] "\n`);
  const fromFile = await startAdmin(t, [`--config=${file}`]);
  t.match(fromFile.proc.stderr(), /^\[adm\] /m, 'log_prefix from the file');
  t.same((await call<{ topics: string[] }>(`${fromFile.url}/from-file/api/topics`)).body.topics.includes('orders'), true, 'nsqd_http_addresses and base_path from the file');
  t.equal((await call(`${fromFile.url}/from-file/api/topics/orders`, 'POST', { action: 'pause' })).status, 403, 'admin_users from the file');
  const over = await startAdmin(t, [`--config=${file}`, '--base-path=/cli']);
  t.equal((await call(`${over.url}/cli/api/topics`)).status, 200, 'the command line wins');
  const bad = `${tempDir(t, 'nsq-admin-config-')}/bad.cfg`;
  writeFileSync(bad, 'no_such_option = 1\n');
  const r = await runNsq(t, ['admin', `--config=${bad}`]);
  t.equal(r.code, 1);
  t.match(r.stderr, /unknown option "no_such_option"/);
});

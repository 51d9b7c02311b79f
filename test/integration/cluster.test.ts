// A real cluster on one machine: 3 nsq serve + 2 nsq lookupd on random loopback ports. A consumer
// given only the lookupd addresses finds every node; lookupd failures and tombstones behave as in NSQ.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import type { NSQLookupd } from '../../src/lookupd/lookupd.js';
import { startLookupd as startLookupdHelper } from '../helpers/lookupd.js';
import type { NSQD } from '../../src/nsqd/nsqd.js';
import { serverPorts, spawnNsq, startNsqd, tempDir } from '../helpers/nsqd.js';

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A lookupd for the cluster; `tcp` to bring one back on the address it had. */
const startLookupd = (t: { teardown(fn: () => unknown): void }, tcp = '127.0.0.1:0'): Promise<NSQLookupd> => startLookupdHelper(t, { tcpAddress: tcp, tombstoneLifetime: 60_000 });

const http = (l: NSQLookupd): string => `127.0.0.1:${l.httpEndpoint.port}`;
const tcpOf = (n: NSQD): string => `127.0.0.1:${n.tcpEndpoint.port}`;
const getJson = async <T>(url: string): Promise<T> => (await (await fetch(url)).json()) as T;

interface LookupAnswer {
  channels: string[];
  producers: { broadcast_address: string; tcp_port: number; http_port: number }[];
}

t.test('3 nsqd + 2 lookupd: discovery, lookupd loss, tombstones, lookupd restart', async (t) => {
  const l1 = await startLookupd(t);
  const l2 = await startLookupd(t);
  const lookupTcp = [`127.0.0.1:${l1.tcpEndpoint.port}`, `127.0.0.1:${l2.tcpEndpoint.port}`];
  const nodes = [await startNsqd(t, { nsqlookupdTcpAddresses: lookupTcp }), await startNsqd(t, { nsqlookupdTcpAddresses: lookupTcp }), await startNsqd(t, { nsqlookupdTcpAddresses: lookupTcp })];

  // publish to topic "orders" on nodes 0 and 1, topic "audit" on node 2
  const producers = nodes.map((n) => new Producer(tcpOf(n)));
  t.teardown(() => Promise.all(producers.map((p) => p.close())));
  await producers[0]!.mpublish('orders', ['a1', 'a2', 'a3']);
  await producers[1]!.mpublish('orders', ['b1', 'b2']);
  await producers[2]!.mpublish('audit', ['c1']);

  for (const l of [l1, l2]) {
    await until(`lookupd ${http(l)} lists both orders producers`, async () => (await getJson<LookupAnswer>(`http://${http(l)}/lookup?topic=orders`)).producers?.length === 2);
  }
  const lookup = await getJson<LookupAnswer>(`http://${http(l1)}/lookup?topic=orders`);
  t.same(
    lookup.producers.map((p) => `${p.broadcast_address}:${p.tcp_port}`).sort(),
    [tcpOf(nodes[0]!), tcpOf(nodes[1]!)].sort(),
    '/lookup gives the nodes holding the topic, at their broadcast address and TCP port',
  );
  const nodesAnswer = await getJson<{ producers: { tcp_port: number; topics: string[] }[] }>(`http://${http(l2)}/nodes`);
  t.equal(nodesAnswer.producers.length, 3, '/nodes lists all three nsqd');
  t.same(nodesAnswer.producers.find((p) => p.tcp_port === nodes[2]!.tcpEndpoint.port)!.topics, ['audit']);

  // a consumer that knows only the lookupds gets every message from every node
  const got: string[] = [];
  const c = new Consumer({ topic: 'orders', channel: 'c', nsqdTcpAddresses: [], lookupdHttpAddresses: [http(l1), http(l2)], lookupdPollInterval: 200, maxInFlight: 10 }, (m) => {
    got.push(m.body.toString());
  });
  await c.start();
  t.teardown(() => c.stop());
  await until('all five messages', () => got.length === 5);
  t.same([...got].sort(), ['a1', 'a2', 'a3', 'b1', 'b2']);
  await until('the channel registered with lookupd', async () => (await getJson<LookupAnswer>(`http://${http(l1)}/lookup?topic=orders`)).channels?.includes('c'));

  // losing one lookupd changes nothing for the consumer
  await l1.stop();
  await producers[1]!.publish('orders', 'b3');
  await until('a message after one lookupd died', () => got.includes('b3'));
  t.equal(c.connectionCount, 2, 'still connected to both nodes');

  // tombstoning node 0 for "orders" keeps new consumers away from it
  const n0 = nodes[0]!;
  const tomb = await fetch(`http://${http(l2)}/topic/tombstone?topic=orders&node=127.0.0.1:${n0.httpEndpoint.port}`, { method: 'POST' });
  t.equal(tomb.status, 200);
  const afterTomb = await getJson<LookupAnswer>(`http://${http(l2)}/lookup?topic=orders`);
  t.same(afterTomb.producers.map((p) => p.tcp_port), [nodes[1]!.tcpEndpoint.port], 'the tombstoned node is hidden from /lookup');
  const fresh = new Consumer({ topic: 'orders', channel: 'fresh', nsqdTcpAddresses: [], lookupdHttpAddresses: [http(l2)], lookupdPollInterval: 200 }, () => {});
  await fresh.start();
  t.teardown(() => fresh.stop());
  await until('the new consumer connects', () => fresh.connectionCount === 1);
  t.equal(n0.getExistingTopic('orders')!.getExistingChannel('fresh'), undefined, 'no connection to the tombstoned node');
  t.ok(nodes[1]!.getExistingTopic('orders')!.getExistingChannel('fresh'), 'the other node got the consumer');

  // a restarted lookupd gets everything registered again
  const again = await startLookupd(t, lookupTcp[0]);
  await until('re-registration after the lookupd restart', async () => {
    const a = await getJson<LookupAnswer>(`http://${http(again)}/lookup?topic=orders`).catch(() => ({ producers: [], channels: [] }) as LookupAnswer);
    return a.producers?.length === 2 && a.channels?.includes('c');
  }, 15_000);
  const audit = await getJson<LookupAnswer>(`http://${http(again)}/lookup?topic=audit`);
  t.same(audit.producers.map((p) => p.tcp_port), [nodes[2]!.tcpEndpoint.port]);
});

t.test('nsq tail given only a lookupd receives messages from two nodes', async (t) => {
  const l = await startLookupd(t);
  const lookupTcp = [`127.0.0.1:${l.tcpEndpoint.port}`];
  const a = await startNsqd(t, { nsqlookupdTcpAddresses: lookupTcp });
  const b = await startNsqd(t, { nsqlookupdTcpAddresses: lookupTcp });
  a.getTopic('feed');
  b.getTopic('feed');
  await until('both nodes registered', async () => (await getJson<LookupAnswer>(`http://${http(l)}/lookup?topic=feed`)).producers?.length === 2);
  const tail = spawnNsq(t, ['tail', 'feed', '-n', '2', `--lookupd-http-address=${http(l)}`]);
  await until('tail subscribed on both nodes', () => a.getExistingTopic('feed')!.channels.size === 1 && b.getExistingTopic('feed')!.channels.size === 1);
  const pa = new Producer(tcpOf(a));
  const pb = new Producer(tcpOf(b));
  t.teardown(() => Promise.all([pa.close(), pb.close()]));
  await pa.publish('feed', 'from a');
  await pb.publish('feed', 'from b');
  t.equal((await tail.exit).code, 0);
  t.same(tail.stdout().trim().split('\n').sort(), ['from a', 'from b']);
});

t.test('nsq top --once --lookupd-http-address lists every node; nsq serve registers from the command line', async (t) => {
  const l = await startLookupd(t);
  const s = spawnNsq(t, ['serve', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--lookupd-tcp-address=127.0.0.1:${l.tcpEndpoint.port}`]);
  const ports = await serverPorts(s);
  await fetch(`http://127.0.0.1:${ports.http}/topic/create?topic=spawned`, { method: 'POST' });
  const n = await startNsqd(t, { nsqlookupdTcpAddresses: [`127.0.0.1:${l.tcpEndpoint.port}`] });
  n.getTopic('inproc');
  await until('two nodes registered', async () => (await getJson<{ producers: unknown[] }>(`http://${http(l)}/nodes`)).producers.length === 2);
  const top = spawnNsq(t, ['top', '--once', '--interval=100ms', `--lookupd-http-address=${http(l)}`]);
  t.equal((await top.exit).code, 0);
  t.match(top.stdout(), /^nodes: 2 up, 0 down\s+topics: 2/);
  t.match(top.stdout(), /spawned/);
  t.match(top.stdout(), /inproc/);
  s.child.kill('SIGTERM');
  await s.exit;
});

t.test('nsq serve --with-lookupd is a complete cluster of one', async (t) => {
  const s = spawnNsq(t, ['serve', '--with-lookupd', '--with-lookupd-tcp-address=127.0.0.1:0', '--with-lookupd-http-address=127.0.0.1:0', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0']);
  // the lookupd starts first: wait for the nsqd's own lines too
  await until('both servers listening', () => /\[nsqd\].*HTTP: listening on/.test(s.stderr()));
  const lookupHttp = Number(/\[nsqlookupd\].*HTTP: listening on .*:(\d+)/.exec(s.stderr())![1]);
  const nsqdTcp = Number(/\[nsqd\].*TCP: listening on .*:(\d+)/.exec(s.stderr())![1]);
  await until('the node registered with its own lookupd', async () => (await getJson<{ producers: { tcp_port: number }[] }>(`http://127.0.0.1:${lookupHttp}/nodes`)).producers[0]?.tcp_port === nsqdTcp);
  const p = new Producer(`127.0.0.1:${nsqdTcp}`);
  await p.publish('solo', 'hi');
  await p.close();
  const a = await getJson<LookupAnswer>(`http://127.0.0.1:${lookupHttp}/lookup?topic=solo`);
  t.same(a.producers.map((x) => x.tcp_port), [nsqdTcp]);
  s.child.kill('SIGTERM');
  t.equal((await s.exit).code, 0);
});

t.test('nsq to-file --topic-pattern picks up a topic created after it started', async (t) => {
  const l = await startLookupd(t);
  const n = await startNsqd(t, { nsqlookupdTcpAddresses: [`127.0.0.1:${l.tcpEndpoint.port}`] });
  const out = tempDir(t);
  const toFile = spawnNsq(t, ['to-file', '--topic-pattern=^logs\\.', `--lookupd-http-address=${http(l)}`, '--topic-refresh=200ms', `--output-dir=${out}`, '--sync-interval=100ms', '--lookupd-poll-interval=200ms']);
  await new Promise((r) => setTimeout(r, 500));
  n.getTopic('other');
  const p = new Producer(tcpOf(n));
  t.teardown(() => p.close());
  await p.mpublish('logs.app', ['line 1', 'line 2']);
  await p.publish('other', 'not matched');
  await until('the new topic written to a file', () => readdirSync(out).some((f) => f.startsWith('logs.app.') && readFileSync(join(out, f), 'utf8') === 'line 1\nline 2\n'), 10_000);
  t.notOk(readdirSync(out).some((f) => f.startsWith('other.')), 'a topic that does not match is left alone');
  toFile.child.kill('SIGTERM');
  t.equal((await toFile.exit).code, 0);
});

t.test('a topic new to a node takes the channels lookupd knows for it; bench finds nodes through lookupd', async (t) => {
  const l = await startLookupd(t);
  const lookupTcp = [`127.0.0.1:${l.tcpEndpoint.port}`];
  const a = await startNsqd(t, { nsqlookupdTcpAddresses: lookupTcp });
  const b = await startNsqd(t, { nsqlookupdTcpAddresses: lookupTcp });
  a.getTopic('shared').getChannel('billing');
  a.getTopic('shared').getChannel('peek#ephemeral');
  await until('the channel registered', async () => (await getJson<LookupAnswer>(`http://${http(l)}/lookup?topic=shared`)).channels?.includes('billing'));
  // wait until b has identified with the lookupd (it learns the HTTP address from the answer)
  await until('b registered', async () => (await getJson<{ producers: unknown[] }>(`http://${http(l)}/nodes`)).producers.length === 2);
  await new Promise((r) => setTimeout(r, 100));
  const p = new Producer(tcpOf(b));
  t.teardown(() => p.close());
  await p.publish('shared', 'published on b');
  await until('b adopted the channel', () => b.getExistingTopic('shared')?.getExistingChannel('billing') !== undefined);
  t.equal(b.getExistingTopic('shared')!.getExistingChannel('peek#ephemeral'), undefined, 'ephemeral channels are not copied');
  await until('the message waits in the adopted channel', () => b.getExistingTopic('shared')!.getExistingChannel('billing')!.depth === 1);
  // over HTTP, as nsqd: /topic/create answers once the topic has lookupd's channels
  const res = await fetch(`http://127.0.0.1:${b.httpEndpoint.port}/topic/create?topic=shared2`, { method: 'POST' });
  t.equal(res.status, 200);
  t.equal(b.getExistingTopic('shared2')?.getExistingChannel('billing2'), undefined, 'no channel lookupd does not know');
  a.getTopic('shared3').getChannel('billing3');
  await until('billing3 registered', async () => (await getJson<LookupAnswer>(`http://${http(l)}/lookup?topic=shared3`)).channels?.includes('billing3'));
  const res3 = await fetch(`http://127.0.0.1:${b.httpEndpoint.port}/topic/create?topic=shared3`, { method: 'POST' });
  t.equal(res3.status, 200);
  t.ok(b.getExistingTopic('shared3')?.getExistingChannel('billing3'), 'the channel is there when /topic/create answers');

  const sub = spawnNsq(t, ['bench', 'sub', '--topic=shared', '--channel=billing', '--count=1', '--json', `--lookupd-http-address=${http(l)}`]);
  t.equal((await sub.exit).code, 0, sub.stderr());
  const r = JSON.parse(sub.stdout()) as { messages: number; addresses: string[] };
  t.equal(r.messages, 1);
  t.same([...r.addresses].sort(), [tcpOf(a), tcpOf(b)].sort(), 'bench sub consumed from every node with the topic');
});

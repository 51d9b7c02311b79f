// `nsq pub --lookupd-http-address`: the spawned binary against a real lookupd with two nsqd
// registered. Each record goes to one node; a node lost mid-run costs nothing; no node, or no
// lookupd, is a one-line error and a non-zero exit.

import { createServer } from 'node:net';
import t from 'tap';
import { Producer } from '../../src/client/producer.js';
import type { NSQLookupd } from '../../src/lookupd/lookupd.js';
import type { NSQD } from '../../src/nsqd/nsqd.js';
import { startLookupd } from '../helpers/lookupd.js';
import { serverPorts, spawnNsq, startNsqd } from '../helpers/nsqd.js';
import { waitFor } from '../helpers/stats.js';
import type { TopicStats } from '../../src/protocol/stats-json.js';

type Teardown = { teardown(fn: () => unknown): void };

const lookupFlag = (l: NSQLookupd): string => `--lookupd-http-address=127.0.0.1:${l.httpEndpoint.port}`;
const count = (n: NSQD, topic: string): number => n.getExistingTopic(topic)?.messageCount ?? 0;

async function registeredNodes(l: NSQLookupd): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${l.httpEndpoint.port}/nodes`);
  return ((await res.json()) as { producers: unknown[] }).producers.length;
}

async function cluster(t: Teardown): Promise<{ l: NSQLookupd; a: NSQD; b: NSQD }> {
  const l = await startLookupd(t);
  const lookupTcp = [`127.0.0.1:${l.tcpEndpoint.port}`];
  const a = await startNsqd(t, { nsqlookupdTcpAddresses: lookupTcp });
  const b = await startNsqd(t, { nsqlookupdTcpAddresses: lookupTcp });
  await waitFor('both nsqd registered', async () => (await registeredNodes(l)) === 2);
  return { l, a, b };
}

const lines = (n: number, prefix: string): string => Array.from({ length: n }, (_, i) => `${prefix}${i}`).join('\n');

t.test('a topic no node has yet: published through /nodes, each record once, spread over both', async (t) => {
  const { l, a, b } = await cluster(t);
  const p = spawnNsq(t, ['pub', 'fresh', lookupFlag(l), '--progress'], { input: lines(2000, 'r') });
  t.equal((await p.exit).code, 0, p.stderr());
  t.equal(count(a, 'fresh') + count(b, 'fresh'), 2000, 'every record published exactly once');
  t.ok(count(a, 'fresh') > 0 && count(b, 'fresh') > 0, `spread over both nodes (${count(a, 'fresh')} + ${count(b, 'fresh')})`);
  t.match(p.stderr(), /published 2,000 messages .* across 2 nsqd/);

  // message arguments, as in the report
  const q = spawnNsq(t, ['pub', 'orders', lookupFlag(l), 'via-lookupd']);
  t.equal((await q.exit).code, 0, q.stderr());
  t.equal(count(a, 'orders') + count(b, 'orders'), 1);
});

t.test('an existing topic: only the nodes lookupd lists for it get the records', async (t) => {
  const { l, a, b } = await cluster(t);
  const prod = new Producer(`127.0.0.1:${a.tcpEndpoint.port}`);
  t.teardown(() => prod.close());
  await prod.publish('known', 'first');
  await waitFor('lookupd lists the topic', async () => (await fetch(`http://127.0.0.1:${l.httpEndpoint.port}/lookup?topic=known`)).status === 200);
  const p = spawnNsq(t, ['pub', 'known', lookupFlag(l)], { input: lines(500, 'k') });
  t.equal((await p.exit).code, 0, p.stderr());
  t.equal(count(a, 'known'), 501, 'all on the node that has the topic');
  t.equal(b.getExistingTopic('known'), undefined, 'the other node was not given the topic');
});

t.test('a node killed mid-run: its share goes to the other node, none lost, exit 0', async (t) => {
  const l = await startLookupd(t);
  const lookupTcp = `127.0.0.1:${l.tcpEndpoint.port}`;
  const a = await startNsqd(t, { nsqlookupdTcpAddresses: [lookupTcp] });
  const s = spawnNsq(t, ['serve', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--lookupd-tcp-address=${lookupTcp}`]);
  const ports = await serverPorts(s);
  await waitFor('both nsqd registered', async () => (await registeredNodes(l)) === 2, 8000);
  const depthOfB = async (): Promise<number> => {
    const stats = (await (await fetch(`http://127.0.0.1:${ports.http}/stats?format=json&topic=kill`)).json()) as { topics: TopicStats[] | null };
    return (stats.topics ?? []).find((x) => x.topic_name === 'kill')?.message_count ?? 0;
  };

  const run = spawnNsq(t, ['pub', 'kill', lookupFlag(l), '--progress'], { open: true });
  run.child.stdin!.write(`${lines(1000, 'x')}\n`);
  await waitFor('first 1000 acknowledged', async () => count(a, 'kill') + (await depthOfB()) === 1000, 8000);
  const onB = await depthOfB();
  t.ok(onB > 0 && count(a, 'kill') > 0, `first half spread (${count(a, 'kill')} + ${onB})`);
  s.child.kill('SIGKILL');
  await s.exit;
  run.child.stdin!.end(`${lines(1000, 'y')}\n`);
  t.equal((await run.exit).code, 0, run.stderr());
  t.equal(count(a, 'kill'), 2000 - onB, 'every record not taken by the killed node is on the other one');
  t.match(run.stderr(), /publishing to the other 1 nsqd/);
  t.match(run.stderr(), /published 2,000 messages/);
});

t.test('no nsqd registered: one line, exit 1', async (t) => {
  const l = await startLookupd(t);
  const p = spawnNsq(t, ['pub', 'nowhere', lookupFlag(l)], { input: 'a\nb\n' });
  t.equal((await p.exit).code, 1);
  t.equal(p.stderr(), `nsq: no nsqd to publish to: lookupd 127.0.0.1:${l.httpEndpoint.port} knows none\n`);
});

t.test('lookupd not reachable: one line, exit 1', async (t) => {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  const p = spawnNsq(t, ['pub', 'nowhere', `--lookupd-http-address=127.0.0.1:${port}`, 'x']);
  t.equal((await p.exit).code, 1);
  t.equal(p.stderr(), `nsq: connect to lookupd 127.0.0.1:${port}: connection refused\n`);
});

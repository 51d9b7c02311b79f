// `nsq ls` run as a user runs it, against a real cluster (nsq lookupd + 2 nsq serve, spawned): the
// table and --json with known depths, in flight, deferred, consumers and paused; nodes and lookupds
// that do not answer.

import t from 'tap';
import { nsq, post, registered, startCliCluster, untouchable } from '../helpers/cli-cluster.js';
import { RawConn } from '../helpers/raw.js';
import { waitFor } from '../helpers/stats.js';
import type { LsTopic } from '../../src/tools/ls.js';
import { deadAddress } from '../helpers/ports.js';

/** The table's rows as cells (header included), from cli-table3's box drawing. */
function rows(out: string): string[][] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('│'))
    .map((l) => l.split('│').slice(1, -1).map((c) => c.trim()));
}

const row = (out: string, topic: string, channel: string, node: string): string[] | undefined => rows(out).find((r) => r[0] === topic && r[1] === channel && r[2] === node);

// one cluster for the file: starting processes is most of its time
const c = await startCliCluster(t);
const [a, b] = c.nodes as [string, string];

t.test('nsq ls: both nodes of a lookupd, with their topics and channels, as a table and as JSON', async (t) => {
  // node a: orders/billing with 3 messages, billing paused
  await post(a, '/topic/create?topic=orders');
  await post(a, '/channel/create?topic=orders&channel=billing');
  await post(a, '/mpub?topic=orders', 'a1\na2\na3');
  await post(a, '/channel/pause?topic=orders&channel=billing');
  // node b: orders/billing and orders/audit with 5 messages and 1 deferred; events with 2 and no channel
  await post(b, '/topic/create?topic=orders');
  await post(b, '/channel/create?topic=orders&channel=billing');
  await post(b, '/channel/create?topic=orders&channel=audit');
  await post(b, '/mpub?topic=orders', 'b1\nb2\nb3\nb4\nb5');
  await post(b, '/pub?topic=orders&defer=60000', 'later');
  await post(b, '/mpub?topic=events', 'e1\ne2');
  // a consumer on b's billing holding 2 messages in flight
  const sub = await RawConn.open(c.tcpPorts[1]!);
  t.teardown(() => sub.close());
  sub.send('SUB orders billing\n');
  t.equal((await sub.next())?.text, 'OK');
  sub.send('RDY 2\n');
  await sub.next();
  await sub.next();
  await registered(c.lookupd, 'orders', 2);
  await registered(c.lookupd, 'events', 1);

  const ls = await nsq(t, ['ls', `--lookupd-http-address=${c.lookupd}`]);
  t.equal(ls.code, 0, ls.stderr);
  t.equal(ls.stderr, '');
  t.match(ls.stdout, /^nodes: 2 up\n/);
  t.match(ls.stdout, new RegExp(`^  ${a}\\s+up\\s+v1\\.3\\.0\\s+1 topic$`, 'm'));
  t.match(ls.stdout, new RegExp(`^  ${b}\\s+up\\s+v1\\.3\\.0\\s+2 topics$`, 'm'));
  t.same(rows(ls.stdout)[0], ['topic', 'channel', 'node', 'depth', 'in-flight', 'deferred', 'messages', 'consumers', 'paused']);
  //                                                       depth in-flight deferred messages consumers paused
  t.same(row(ls.stdout, 'orders', '', a), ['orders', '', a, '0', '', '', '3', '', '']);
  t.same(row(ls.stdout, 'orders', 'billing', a), ['orders', 'billing', a, '3', '0', '0', '3', '0', 'paused']);
  t.same(row(ls.stdout, 'orders', '', b), ['orders', '', b, '0', '', '', '6', '', '']);
  t.same(row(ls.stdout, 'orders', 'billing', b)?.filter((_, i) => i !== 6), ['orders', 'billing', b, '3', '2', '1', '1', ''], 'b/billing: 3 waiting, 2 in flight, 1 deferred, 1 consumer');
  t.same(row(ls.stdout, 'orders', 'audit', b)?.filter((_, i) => i !== 6), ['orders', 'audit', b, '5', '0', '1', '0', '']);
  t.same(row(ls.stdout, 'events', '', b), ['events', '', b, '2', '', '', '2', '', '']);
  t.equal(rows(ls.stdout).length, 7, 'the header and six rows: nothing else');
  t.equal(rows(ls.stdout)[1]![0], 'events', 'topics sorted by name');

  const json = await nsq(t, ['ls', `--lookupd-http-address=${c.lookupd}`, '--json']);
  t.equal(json.code, 0);
  const parsed = JSON.parse(json.stdout) as { nodes: { address: string; ok: boolean; topics: number }[]; topics: LsTopic[] };
  t.same(parsed.nodes.map((n) => [n.address, n.ok, n.topics]).sort(), [[a, true, 1], [b, true, 2]].sort());
  const ordersB = parsed.topics.find((x) => x.topic === 'orders' && x.node === b)!;
  t.match(ordersB, { depth: 0, messages: 6, paused: false });
  t.same(ordersB.channels.map((ch) => ch.channel), ['audit', 'billing'], 'channels sorted by name');
  t.match(ordersB.channels[1], { channel: 'billing', depth: 3, in_flight: 2, deferred: 1, consumers: 1, paused: false });
  t.match(parsed.topics.find((x) => x.topic === 'orders' && x.node === a)!.channels[0], { channel: 'billing', depth: 3, in_flight: 0, deferred: 0, consumers: 0, paused: true });

  // one topic; a topic no node has
  const one = await nsq(t, ['ls', 'events', `--lookupd-http-address=${c.lookupd}`, '--json']);
  t.equal(one.code, 0);
  t.same((JSON.parse(one.stdout) as { topics: LsTopic[] }).topics.map((x) => [x.topic, x.node, x.depth]), [['events', b, 2]]);
  const none = await nsq(t, ['ls', 'nope', `--lookupd-http-address=${c.lookupd}`]);
  t.equal(none.code, 1);
  t.equal(none.stderr, 'nsq: no node has topic nope\n');

  // a node registered with lookupd that stops answering: the other is listed, exit 1, one warning
  c.procs[1]!.child.kill('SIGSTOP');
  t.teardown(() => c.procs[1]!.child.kill('SIGCONT'));
  const stopped = await nsq(t, ['ls', `--lookupd-http-address=${c.lookupd}`, '--timeout=500ms']);
  c.procs[1]!.child.kill('SIGCONT');
  t.equal(stopped.code, 1);
  t.match(stopped.stdout, /^nodes: 1 up, 1 down\n/);
  t.match(stopped.stdout, new RegExp(`^  ${b}\\s+down\\s+no answer in 500ms$`, 'm'));
  t.same(row(stopped.stdout, 'orders', 'billing', a), ['orders', 'billing', a, '3', '0', '0', '3', '0', 'paused']);
  t.notOk(row(stopped.stdout, 'orders', 'billing', b));
  t.equal(stopped.stderr, `nsq: warning: node ${b} did not answer: no answer in 500ms\n`);
});

t.test('nsq ls: nodes and lookupds that do not answer; bad names', async (t) => {
  const dead = await deadAddress();
  const watched = await untouchable(t);
  // independent runs, side by side
  const [some, someJson, all, noLookupd, badName, badTimeout] = await Promise.all([
    nsq(t, ['ls', `--nsqd-http-address=${a}`, `--nsqd-http-address=${dead}`]),
    nsq(t, ['ls', `--nsqd-http-address=${a}`, `--nsqd-http-address=${dead}`, '--json']),
    nsq(t, ['ls', `--nsqd-http-address=${dead}`]),
    nsq(t, ['ls', `--lookupd-http-address=${dead}`]),
    nsq(t, ['ls', 'bad name', `--nsqd-http-address=${watched.address}`]),
    nsq(t, ['ls', '--timeout=soon', `--nsqd-http-address=${watched.address}`]),
  ]);

  t.equal(some.code, 1, 'a node down: exit 1');
  t.match(some.stdout, /^nodes: 1 up, 1 down\n/);
  t.match(some.stdout, new RegExp(`^  ${dead}\\s+down\\s+connection refused$`, 'm'));
  t.same(row(some.stdout, 'orders', 'billing', a), ['orders', 'billing', a, '3', '0', '0', '3', '0', 'paused'], 'the node that answered is listed');
  t.equal(some.stderr, `nsq: warning: node ${dead} did not answer: connection refused\n`);
  t.equal(someJson.code, 1);
  t.same((JSON.parse(someJson.stdout) as { nodes: unknown[] }).nodes, [
    { address: a, ok: true, version: '1.3.0', topics: 1 },
    { address: dead, ok: false, error: 'connection refused' },
  ]);

  t.equal(all.code, 1, 'nothing answered: exit 1');
  t.equal(all.stdout, '');
  t.equal(all.stderr, `nsq: no nsqd answered: ${dead}: connection refused\n`);
  t.equal(noLookupd.code, 1);
  t.equal(noLookupd.stdout, '');
  t.equal(noLookupd.stderr, `nsq: no lookupd answered: connect to lookupd ${dead}: connection refused\n`);

  t.equal(badName.code, 2);
  t.equal(badName.stderr, 'nsq: invalid topic name "bad name": 1-64 characters of [.a-zA-Z0-9_-], optionally ending in #ephemeral\n');
  t.equal(badTimeout.code, 2);
  t.equal(badTimeout.stderr, 'nsq: invalid value "soon" for flag --timeout: invalid duration "soon"\n');
  t.equal(watched.connections(), 0, 'no request was made');
});

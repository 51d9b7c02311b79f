// Replication across real processes (docs/replication.md): a publish on a node with
// --replication-factor=2 is answered OK only once its replica has it; when the node is killed and
// its data path deleted, the replica delivers every acknowledged, unfinished message (deferred ones
// at their due time); a node that comes back with its disk does not deliver what the replica took
// over; with the replica gone, publishes are refused (or accepted with --replication-degraded=accept);
// SIGSTOP past the timeout and a link cut through a TCP proxy are the partition cases. A control
// without replication shows the loss the test is there to catch.

import { rmSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import t from 'tap';
import nsq from 'nsqjs';
import { Connection } from '../../src/client/connection.js';
import { tempDir } from '../helpers/nsqd.js';
import { api, consume, consumeFor, inSync, kill9, proxy, publishMix, serve, stats, tookOver, waitFor } from '../helpers/replication.js';
import type { TopicStats } from '../../src/protocol/stats-json.js';

t.test('kill -9 and a deleted data path: the replica delivers every acknowledged message', async (t) => {
  const b = await serve(t, tempDir(t), ['--replica-name=B']);
  const a = await serve(t, tempDir(t), ['--replica-name=A', `--replica-address=127.0.0.1:${b.tcp}`, '--replication-factor=2']);
  await waitFor('A in sync with B', () => inSync(a));
  t.equal((await api(a, 'POST', '/topic/create?topic=orders')).status, 200);
  t.equal((await api(a, 'POST', '/channel/create?topic=orders&channel=billing')).status, 200);
  const sent = await publishMix(t, a, 'orders', 'm', 300, 2500);
  // a consumer on A finishes some first: the replica must not deliver those again (FINs are replicated)
  const finished = await consume(t, a, 'orders', 'billing', 100, 3000);
  t.equal(finished.length, 100, 'A delivered and finished 100 before the crash');
  await delay(300); // FINs reach B with the next commits
  await kill9(a);
  rmSync(a.dir, { recursive: true, force: true });

  await waitFor('B takes over', async () => ((await stats(b)).replication?.taken_over_messages ?? 0) > 0, 10_000);
  t.match((await api(b, 'GET', '/metrics')).text, /^nsq_replication_taken_over_total 200$/m, "/metrics counts what B took over: A's 200 unfinished");
  const fromB = new Set<string>();
  const reader = new nsq.Reader('orders', 'billing', { nsqdTCPAddresses: [`127.0.0.1:${b.tcp}`], maxInFlight: 200 });
  reader.on('error', () => {});
  reader.on('message', (m: { body: Buffer; finish(): void }) => {
    fromB.add(m.body.toString());
    m.finish();
  });
  reader.connect();
  t.teardown(() => reader.close());
  const delivered = (): number => new Set([...finished, ...fromB]).size;
  await waitFor(`every acknowledged message delivered (${delivered()} of ${sent.length})`, () => delivered() === sent.length, 10_000);
  const lost = sent.filter((m) => !fromB.has(m) && !finished.includes(m));
  t.same(lost, [], 'acknowledged and never delivered: none');
  const dups = finished.filter((m) => fromB.has(m)).length;
  t.equal(dups, 0, `duplicates after failover: ${dups} (FINs replicated before the kill)`);
  t.ok(fromB.has('mdeferred'), 'the deferred message came from B');
  t.comment(`failover: ${sent.length} acknowledged, ${finished.length} finished on A, ${fromB.size} delivered by B, ${dups} duplicates`);
});

t.test('control: durable without replication loses everything with its data path', async (t) => {
  const b = await serve(t, tempDir(t), []);
  const a = await serve(t, tempDir(t), []);
  await api(a, 'POST', '/topic/create?topic=orders');
  await api(a, 'POST', '/channel/create?topic=orders&channel=billing');
  const sent = await publishMix(t, a, 'orders', 'c', 50, 100);
  await kill9(a);
  rmSync(a.dir, { recursive: true, force: true });
  await delay(1500);
  const got = await consume(t, b, 'orders', 'billing', sent.length, 500);
  t.equal(got.length, 0, `without a replica, all ${sent.length} acknowledged messages are gone: the check above can see a loss`);
});

t.test('with its replica gone, durable publishes are refused and /ping says why; in sync again, accepted', async (t) => {
  const bDir = tempDir(t);
  let b = await serve(t, bDir, ['--replica-name=B']);
  const bPort = b.tcp;
  const a = await serve(t, tempDir(t), ['--replica-name=A', `--replica-address=127.0.0.1:${bPort}`, '--replication-factor=2']);
  await waitFor('in sync', () => inSync(a));
  const conn = await Connection.open({ host: '127.0.0.1', port: a.tcp });
  t.teardown(() => conn.close());
  await conn.publish('t', 'before');
  await kill9(b);
  await waitFor('A sees B gone', async () => !(await inSync(a)));
  const ping = await api(a, 'GET', '/ping');
  t.equal(ping.status, 500);
  t.match(ping.text, /NOK - replication: 0 of 1 replica\(s\) in sync/);
  const metrics = (await api(a, 'GET', '/metrics')).text;
  t.match(metrics, /^nsq_replication_in_sync 0$/m, '/metrics: no replica in sync');
  t.match(metrics, /^nsq_replication_needed 1$/m);
  t.match(metrics, new RegExp(`^nsq_replication_link_in_sync\\{replica="127\\.0\\.0\\.1:${bPort}"\\} 0$`, 'm'));
  t.match(metrics, /^nsq_healthy 0$/m, '/metrics agrees with /ping');
  await t.rejects(conn.publish('t', 'refused'), { code: 'E_PUB_FAILED' }, 'PUB refused');
  const http = await api(a, 'POST', '/pub?topic=t', 'refused-http');
  t.equal(http.status, 503, 'HTTP /pub 503');
  b = await serve(t, bDir, ['--replica-name=B'], bPort);
  await waitFor('in sync again', () => inSync(a));
  t.equal((await api(a, 'GET', '/ping')).text, 'OK');
  const log = a.proc.stderr();
  t.equal(log.match(/REPLICATION: DEGRADED, replication: 0 of 1 replica\(s\) in sync: refusing durable publishes\n/g)?.length, 1, 'the log says A refuses, once, not once per reconnect attempt');
  t.match(log, /INFO: REPLICATION: 1 of 1 replica\(s\) in sync: durable publishes have every copy again\n/);
  const again = await Connection.open({ host: '127.0.0.1', port: a.tcp });
  t.teardown(() => again.close());
  await again.publish('t', 'after');
  const got = await consume(t, a, 't', 'c', 2, 3000);
  t.notOk(got.includes('refused') || got.includes('refused-http'), 'refused publishes are never delivered');
});

t.test('--replication-degraded=accept: acknowledged with fewer copies, and /stats says so', async (t) => {
  const b = await serve(t, tempDir(t), ['--replica-name=B']);
  const a = await serve(t, tempDir(t), ['--replica-name=A', `--replica-address=127.0.0.1:${b.tcp}`, '--replication-factor=2', '--replication-degraded=accept']);
  await waitFor('in sync', () => inSync(a));
  await kill9(b);
  await waitFor('A sees B gone', async () => !(await inSync(a)));
  const conn = await Connection.open({ host: '127.0.0.1', port: a.tcp });
  t.teardown(() => conn.close());
  await conn.publish('t', 'degraded');
  t.equal((await api(a, 'GET', '/ping')).text, 'OK', '/ping stays OK in accept mode');
  const r = (await stats(a)).replication!;
  t.equal(r.healthy, false);
  t.match((await api(a, 'GET', '/stats')).text, /DEGRADED: accepting with fewer copies/);
  t.match(a.proc.stderr(), /WARNING: REPLICATION: DEGRADED, replication: 0 of 1 replica\(s\) in sync: accepting durable publishes with fewer copies \(--replication-degraded=accept\)\n/, 'and the log says so');
});

t.test('back with its disk after a takeover: the node skips what the replica delivered', async (t) => {
  const b = await serve(t, tempDir(t), ['--replica-name=B']);
  const aDir = tempDir(t);
  const aArgs = ['--replica-name=A', `--replica-address=127.0.0.1:${b.tcp}`, '--replication-factor=2'];
  let a = await serve(t, aDir, aArgs);
  await waitFor('in sync', () => inSync(a));
  await api(a, 'POST', '/topic/create?topic=jobs');
  await api(a, 'POST', '/channel/create?topic=jobs&channel=w');
  const sent = await publishMix(t, a, 'jobs', 'j', 100, 200);
  await kill9(a);
  await waitFor('B takes over', async () => ((await stats(b)).replication?.taken_over_messages ?? 0) > 0, 10_000);
  const fromB = await consume(t, b, 'jobs', 'w', sent.length, 8000);
  t.equal(new Set(fromB).size, sent.length, 'B delivered all of them');
  a = await serve(t, aDir, aArgs);
  await waitFor('A in sync again', () => inSync(a));
  const conn = await Connection.open({ host: '127.0.0.1', port: a.tcp });
  t.teardown(() => conn.close());
  await conn.publish('jobs', 'new');
  const fromA = await consume(t, a, 'jobs', 'w', 1, 3000);
  t.same(fromA, ['new'], 'A delivers only what came after its return, not the messages B took over');
});

t.test('SIGSTOP past the failover timeout, then SIGCONT: both delivered, nothing lost, the origin stops at the boundary', async (t) => {
  const b = await serve(t, tempDir(t), ['--replica-name=B']);
  const a = await serve(t, tempDir(t), ['--replica-name=A', `--replica-address=127.0.0.1:${b.tcp}`, '--replication-factor=2']);
  await waitFor('in sync', () => inSync(a));
  await api(a, 'POST', '/topic/create?topic=s');
  await api(a, 'POST', '/channel/create?topic=s&channel=c');
  const sent = await publishMix(t, a, 's', 's', 120, 300);
  a.proc.child.kill('SIGSTOP');
  await waitFor('B takes over the stopped node', async () => ((await stats(b)).replication?.taken_over_messages ?? 0) > 0, 10_000);
  const fromB = await consume(t, b, 's', 'c', sent.length, 8000);
  a.proc.child.kill('SIGCONT');
  // A resumes, reconnects, hears of the takeover: from then on it skips those messages
  await waitFor('A in sync again', () => inSync(a));
  const fromA = await consumeFor(t, a, 's', 'c', 1500);
  const all = new Set([...fromB, ...fromA]);
  t.same(sent.filter((m) => !all.has(m)), [], 'acknowledged and never delivered: none');
  t.equal(new Set(fromB).size, sent.length, 'B delivered every unfinished message');
  t.equal(fromA.length, 0, `A delivered nothing B took over after it resumed (${fromA.length})`);
});

t.test('the replication link cut (a TCP proxy): A refuses, B takes over; restored, A skips what B took', async (t) => {
  const b = await serve(t, tempDir(t), ['--replica-name=B']);
  const p = await proxy(t, b.tcp);
  const a = await serve(t, tempDir(t), ['--replica-name=A', `--replica-address=127.0.0.1:${p.port}`, '--replication-factor=2']);
  await waitFor('in sync', () => inSync(a));
  await api(a, 'POST', '/topic/create?topic=p');
  await api(a, 'POST', '/channel/create?topic=p&channel=c');
  const sent = await publishMix(t, a, 'p', 'p', 80, 300);
  p.cut();
  await waitFor('A degraded', async () => !(await inSync(a)));
  const refused = await api(a, 'POST', '/pub?topic=p', 'during-cut');
  t.equal(refused.status, 503, 'a publish during the cut is refused');
  await waitFor('B takes over', async () => ((await stats(b)).replication?.taken_over_messages ?? 0) > 0, 10_000);
  const fromB = await consume(t, b, 'p', 'c', sent.length, 8000);
  p.restore();
  await waitFor('A in sync again', () => inSync(a));
  const fromA = await consumeFor(t, a, 'p', 'c', 1500);
  t.equal(new Set(fromB).size, sent.length, 'B delivered every acknowledged message');
  t.notOk([...fromA, ...fromB].includes('during-cut'), 'the refused publish was never delivered');
  t.equal(fromA.length, 0, 'A skips what B took over');
});

t.test('plain topics on a replicated node are not replicated and never refused; durable ones are', async (t) => {
  const b = await serve(t, tempDir(t), ['--replica-name=B']);
  const a = await serve(t, tempDir(t), ['--durable=false', '--durable-topic=pay.*', '--replica-name=A', `--replica-address=127.0.0.1:${b.tcp}`, '--replication-factor=2']);
  await waitFor('in sync', () => inSync(a));
  await kill9(b);
  await waitFor('A degraded', async () => !(await inSync(a)));
  const conn = await Connection.open({ host: '127.0.0.1', port: a.tcp });
  t.teardown(() => conn.close());
  await conn.publish('logs', 'plain-1');
  await t.rejects(conn.publish('pay.eu', 'durable-refused'), { code: 'E_PUB_FAILED' }, 'the durable topic is refused while degraded');
  const again = await Connection.open({ host: '127.0.0.1', port: a.tcp });
  t.teardown(() => again.close());
  await again.mpublish('logs', ['plain-2', 'plain-3']);
  t.equal((await api(a, 'POST', '/pub?topic=logs', 'plain-4')).status, 200, 'HTTP /pub to a plain topic: 200');
  t.equal((await api(a, 'POST', '/pub?topic=pay.eu', 'durable-refused-http')).status, 503, 'HTTP /pub to the durable topic: 503');
  const got = await consume(t, a, 'logs', 'c', 4, 3000);
  t.same(got.sort(), ['plain-1', 'plain-2', 'plain-3', 'plain-4'], 'plain publishes are delivered as nsqd would');
  t.same(await consumeFor(t, a, 'pay.eu', 'c', 500), [], 'refused durable publishes are never delivered');
});

t.test('a pipelined publish is answered only once the replica confirmed its own commit, not an earlier one', async (t) => {
  const b = await serve(t, tempDir(t), ['--replica-name=B', '--failover-timeout=8s']);
  const p = await proxy(t, b.tcp);
  const a = await serve(t, tempDir(t), ['--replica-name=A', `--replica-address=127.0.0.1:${p.port}`, '--replication-factor=2', '--failover-timeout=8s']);
  await waitFor('in sync', () => inSync(a));
  const conn = await Connection.open({ host: '127.0.0.1', port: a.tcp });
  t.teardown(() => conn.close());
  await conn.publish('q', 'warm');
  const answered: string[] = [];
  // B's confirmation of the first publish's commit is held in the proxy...
  p.hold('down');
  const first = conn.publish('q', 'first').then(() => void answered.push('first'));
  await delay(300);
  // ...and the second publish's commit never reaches B while the first one's confirmation goes back
  p.hold('up');
  const second = conn.publish('q', 'second').then(() => void answered.push('second'));
  await delay(300);
  p.flow('down');
  await first;
  await delay(500);
  t.same(answered, ['first'], 'the second publish is not answered: B does not have it yet');
  const link = (await stats(a)).replication!.links[0]!;
  t.equal(link.lag_messages, 1, '/stats: 1 message committed on A that B has not confirmed');
  const topics = (JSON.parse((await api(a, 'GET', '/stats?format=json&topic=q')).text) as { topics: TopicStats[] }).topics;
  t.same(topics.find((x) => x.topic_name === 'q')?.replication, { lag_messages: 1 }, "and per topic: topic q's 1");
  t.match((await api(a, 'GET', '/metrics')).text, /^nsq_replication_lag_messages\{replica="[^"]+"\} 1$/m, '/metrics says the same');
  p.flow('up');
  await second;
  t.same(answered, ['first', 'second'], 'answered once B confirmed it');
  t.equal((await stats(a)).replication!.links[0]!.lag_messages, 0, 'no lag once B confirmed it');
});

t.test('an idle origin is not taken over: PINGs come well inside a 1 s failover timeout', async (t) => {
  const b = await serve(t, tempDir(t), ['--replica-name=B']);
  const a = await serve(t, tempDir(t), ['--replica-name=A', `--replica-address=127.0.0.1:${b.tcp}`, '--replication-factor=2']);
  await waitFor('in sync', () => inSync(a));
  t.equal((await api(a, 'POST', '/pub?topic=idle', 'x')).status, 200);
  const end = Date.now() + 4000;
  let dropped = false;
  while (Date.now() < end && !dropped) {
    dropped = !(await inSync(a)) || (await tookOver(b));
    await delay(100);
  }
  t.notOk(dropped, 'in sync for 4 idle seconds, and B took nothing over');
  t.equal((await stats(b)).replication?.mirrors[0]?.state, 'following');
});

t.test('a replica that does not speak REPL (a plain node, as a Go nsqd answers E_INVALID): refused, degraded, said once', async (t) => {
  const plain = await serve(t, tempDir(t), ['--durable=false']);
  const a = await serve(t, tempDir(t), ['--replica-name=A', `--replica-address=127.0.0.1:${plain.tcp}`, '--replication-factor=2']);
  await waitFor('the link refused', async () => (await stats(a)).replication?.links[0]?.state === 'refused');
  const link = (await stats(a)).replication!.links[0]!;
  t.match(link.error, /E_INVALID/, `/stats says why: ${link.error}`);
  const conn = await Connection.open({ host: '127.0.0.1', port: a.tcp });
  t.teardown(() => conn.close());
  await t.rejects(conn.publish('t', 'x'), { code: 'E_PUB_FAILED' }, 'durable publishes are refused');
  await delay(1500);
  const said = a.proc.stderr().split('\n').filter((l) => l.includes(`replica 127.0.0.1:${plain.tcp} refused the link: E_INVALID`));
  t.equal(said.length, 1, `the refusal is logged once, not at every retry: ${JSON.stringify(said)}`);
});

t.test("another command's answer waits behind the publish OKs still waiting for the replica", async (t) => {
  const { RawConn } = await import('../helpers/raw.js');
  const b = await serve(t, tempDir(t), ['--replica-name=B', '--failover-timeout=8s']);
  const p = await proxy(t, b.tcp);
  const a = await serve(t, tempDir(t), ['--replica-name=A', `--replica-address=127.0.0.1:${p.port}`, '--replication-factor=2', '--failover-timeout=8s']);
  await waitFor('in sync', () => inSync(a));
  const raw = await RawConn.open(a.tcp);
  t.teardown(() => raw.close());
  const body = Buffer.from('held');
  const size = Buffer.alloc(4);
  size.writeUInt32BE(body.length);
  // B's confirmation is held: the PUB's OK cannot go out, so neither may SUB's OK nor FIN's error
  p.hold('down');
  raw.send(Buffer.concat([Buffer.from('PUB q\n'), size, body, Buffer.from('SUB q c\nFIN 0000000000000000\n')]));
  t.ok(await raw.quietFor(600), 'nothing answered while the PUB waits for B');
  p.flow('down');
  const frames = [await raw.next(), await raw.next(), await raw.next()].map((f) => f?.text);
  t.same(frames, ['OK', 'OK', 'E_FIN_FAILED FIN 0000000000000000 failed ID not in flight'], 'then in command order: PUB, SUB, FIN');
});

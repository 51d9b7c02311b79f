// Replication's return and takeover paths beyond a pair (docs/replication.md, "Return" and
// "Failover"), with real processes: a node that comes back with an empty data path inside the
// failover timeout takes its unfinished messages back from its replica (which then holds no copy to
// take over, so nothing is delivered twice), and with R=3 on three nodes one replica takes a lost
// node over while the other, told by CLAIM and RELEASE, does not.

import { rmSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import t, { type Test } from 'tap';
import nsq from 'nsqjs';
import { tempDir } from '../helpers/nsqd.js';
import { api, consume, consumeFor, inSync, kill9, publishMix, serve, stats, waitFor, type Node } from '../helpers/replication.js';
import { freePort } from '../helpers/ports.js';

/** A, B and C, each naming the other two as replicas (A's list: B then C), R=3, all in sync. */
async function ringOfThree(t: Test): Promise<[Node, Node, Node]> {
  const ports = { A: await freePort(), B: await freePort(), C: await freePort() };
  const names = Object.keys(ports) as Array<keyof typeof ports>;
  const start = (me: keyof typeof ports): Promise<Node> =>
    serve(t, tempDir(t), [`--replica-name=${me}`, '--replication-factor=3', ...names.filter((n) => n !== me).map((n) => `--replica-address=127.0.0.1:${ports[n]}`)], ports[me]);
  const [a, b, c] = await Promise.all([start('A'), start('B'), start('C')]);
  await waitFor('all in sync', async () => (await inSync(a)) && (await inSync(b)) && (await inSync(c)));
  return [a, b, c];
}

async function mirrorsOf(n: Node): Promise<Array<{ origin: string; incarnation: string; state: string; bytes: number; topics: Record<string, number> }>> {
  return (await stats(n)).replication?.mirrors ?? [];
}

t.test('back with an empty data path inside the failover timeout: restored from the replica, nothing delivered twice', async (t) => {
  const b = await serve(t, tempDir(t), ['--replica-name=B', '--failover-timeout=10s']);
  const aDir = tempDir(t);
  const aArgs = ['--replica-name=A', `--replica-address=127.0.0.1:${b.tcp}`, '--replication-factor=2', '--failover-timeout=10s'];
  let a = await serve(t, aDir, aArgs);
  await waitFor('A in sync with B', () => inSync(a));
  await api(a, 'POST', '/topic/create?topic=orders');
  await api(a, 'POST', '/channel/create?topic=orders&channel=billing');
  const sent = await publishMix(t, a, 'orders', 'r', 200, 3000);
  const finished = await consume(t, a, 'orders', 'billing', 50, 3000);
  t.equal(finished.length, 50, 'A finished 50 before the crash');
  await delay(300); // the FINs reach B with the next commits
  const oldInc = (await mirrorsOf(b)).find((m) => m.origin === 'A')?.incarnation;
  t.ok(oldInc, 'B holds a copy of A');
  await kill9(a);
  rmSync(aDir, { recursive: true, force: true });
  const held = (await mirrorsOf(b)).find((m) => m.origin === 'A' && m.incarnation === oldInc);
  t.ok(held !== undefined && held.bytes > 0 && held.topics['orders'] === held.bytes, `B's /stats: the copy's ${held?.bytes} bytes, all of topic orders, while A is down`);
  t.match((await api(b, 'GET', '/stats')).text, /copy of A +following +bytes: [1-9]\d* .*\n +\[orders +\] bytes: [1-9]/, 'and in the text format, per topic');

  a = await serve(t, aDir, aArgs, a.tcp);
  // the restore may wait up to 3 failover timeouts for the restored messages to reach B again
  let restore: string | undefined;
  await waitFor(
    'A restored its messages from B',
    async () => (restore = (await stats(a)).replication?.restore) === 'done',
    35_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message} (restore state: ${restore ?? 'none'})`);
  });
  const r = (await stats(a)).replication!;
  t.equal(r.restored_messages, sent.length - finished.length, `A took back its ${sent.length - finished.length} unfinished messages`);
  t.notOk(
    (await mirrorsOf(b)).some((m) => m.origin === 'A' && m.incarnation === oldInc),
    "B released its copy of A's old incarnation (it has nothing left to take over)",
  );
  const fromA = await consume(t, a, 'orders', 'billing', sent.length - finished.length, 10_000);
  const all = new Set([...finished, ...fromA]);
  t.same(sent.filter((m) => !all.has(m)), [], 'acknowledged and never delivered: none');
  t.equal(fromA.filter((m) => finished.includes(m)).length, 0, 'nothing finished before the crash comes again');
  t.ok(fromA.includes('rdeferred'), 'the deferred message was restored too');
  // past B's failover timeout: B never delivers A's old messages
  await delay(10_500);
  t.equal((await stats(b)).replication?.taken_over_messages, 0, 'B took nothing over');
  t.same(await consumeFor(t, b, 'orders', 'billing', 500), [], 'B delivers none of them');
});

t.test('R=3 on three nodes: one replica takes a lost node over, the other is told (CLAIM, RELEASE) and does not', async (t) => {
  const [a, b, c] = await ringOfThree(t);
  await api(a, 'POST', '/topic/create?topic=jobs');
  await api(a, 'POST', '/channel/create?topic=jobs&channel=w');
  const sent = await publishMix(t, a, 'jobs', 'j', 60, 500);
  await delay(300);
  await kill9(a);
  rmSync(a.dir, { recursive: true, force: true });

  // B is first in A's replica list: it takes over after one timeout; C, second, would after two
  await waitFor('B takes A over', async () => ((await stats(b)).replication?.taken_over_messages ?? 0) > 0, 10_000);
  await waitFor("C drops its copy of A (RELEASE)", async () => !(await mirrorsOf(c)).some((m) => m.origin === 'A'), 10_000);
  await delay(2500); // past C's own turn (two timeouts)
  t.equal((await stats(b)).replication?.taken_over_messages, sent.length, 'B took over every acknowledged message');
  t.equal((await stats(c)).replication?.taken_over_messages, 0, 'C took nothing over: no second delivery');

  const got: string[] = [];
  const reader = new nsq.Reader('jobs', 'w', { nsqdTCPAddresses: [`127.0.0.1:${b.tcp}`, `127.0.0.1:${c.tcp}`], maxInFlight: 100 });
  reader.on('error', () => {});
  reader.on('message', (m: { body: Buffer; finish(): void }) => {
    got.push(m.body.toString());
    m.finish();
  });
  reader.connect();
  t.teardown(() => reader.close());
  await waitFor(`every message delivered (${new Set(got).size} of ${sent.length})`, () => new Set(got).size === sent.length, 10_000);
  await delay(500);
  t.same(sent.filter((m) => !got.includes(m)), [], 'acknowledged and never delivered: none');
  t.equal(got.length, sent.length, `each delivered once (${got.length - new Set(got).size} duplicates)`);
});

t.test('R=3: two nodes lost at once, disks and all; the third delivers both their acknowledged messages', async (t) => {
  const [a, b, c] = await ringOfThree(t);
  for (const n of [a, b]) {
    await api(n, 'POST', '/topic/create?topic=jobs');
    await api(n, 'POST', '/channel/create?topic=jobs&channel=w');
  }
  const sent = [...(await publishMix(t, a, 'jobs', 'a', 40, 500)), ...(await publishMix(t, b, 'jobs', 'b', 40, 500))];
  await delay(300);
  await Promise.all([kill9(a), kill9(b)]);
  rmSync(a.dir, { recursive: true, force: true });
  rmSync(b.dir, { recursive: true, force: true });

  await waitFor('C takes both over', async () => (await stats(c)).replication?.taken_over_messages === sent.length, 15_000);
  const got = await consume(t, c, 'jobs', 'w', sent.length, 10_000);
  t.same(sent.filter((m) => !got.includes(m)), [], `acknowledged and never delivered: none (${got.length} of ${sent.length} from C)`);
  t.equal(got.length, new Set(got).size, 'each once');
});

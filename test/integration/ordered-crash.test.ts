// An ordered channel in durable mode across kill -9 (docs/ordered-channels.md): `nsq serve --durable
// --ordered-channel=orders/line`, 3,000 messages answered OK, a consumer that FINs most and REQs some;
// the server is killed with SIGKILL partway and restarted on the same data path. After the restart
// the line starts again at the first message whose FIN was not yet durable: what the consumer
// finishes after the restart is exactly a suffix of the publish sequence, and together with what it
// finished before, every message in publish order. The control is a normal channel of the same
// topic under the same consumer, whose FIN sequence must be out of publish order. The same through
// a replica's takeover after kill -9 and a deleted data path: the replica continues the line in order.

import t from 'tap';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { rmSync } from 'node:fs';
import { serverPorts, spawnNsq, tempDir } from '../helpers/nsqd.js';
import { api, inSync, kill9, serve, stats, waitFor } from '../helpers/replication.js';
import { delay } from '../helpers/stats.js';

const COUNT = 3000;

function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

async function until(what: string, ms: number, ok: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

function consumer(addr: string, channel: string, fins: string[], seed: number): Consumer {
  const rand = rng(seed);
  const c = new Consumer({ topic: 'orders', channel, nsqdTcpAddresses: [addr], maxInFlight: 5, autoFinish: false, maxBackoff: 0 }, (m) => {
    if (m.attempts <= 2 && rand(100) < 4) return m.requeue(0);
    fins.push(m.body.toString());
    m.finish();
  });
  c.events.error = () => {};
  return c;
}

t.test('an ordered channel keeps publish order across kill -9 in durable mode', async (t) => {
  const dir = tempDir(t, 'nsq-ordered-crash-');
  const args = ['serve', `--data-path=${dir}`, '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--durable', '--ordered-channel=orders/line'];
  const bodies = Array.from({ length: COUNT }, (_, i) => `m${i}`);

  const first = spawnNsq(t, args);
  let ports = await serverPorts(first);
  for (const path of ['/topic/create?topic=orders', '/channel/create?topic=orders&channel=line', '/channel/create?topic=orders&channel=free']) {
    await fetch(`http://127.0.0.1:${ports.http}${path}`, { method: 'POST' });
  }
  const producer = new Producer(`127.0.0.1:${ports.tcp}`);
  await producer.connect();
  for (let i = 0; i < COUNT; i += 100) await producer.mpublish('orders', bodies.slice(i, i + 100));
  await producer.close();
  t.pass(`${COUNT} messages answered OK`);

  const before: string[] = [];
  const freeBefore: string[] = [];
  const c1 = consumer(`127.0.0.1:${ports.tcp}`, 'line', before, 1);
  const f1 = consumer(`127.0.0.1:${ports.tcp}`, 'free', freeBefore, 2);
  await c1.start();
  await f1.start();
  await until('1,000 FINs on the line', 30_000, () => before.length >= 1000);
  first.child.kill('SIGKILL');
  await first.exit;
  await Promise.all([c1.stop(50), f1.stop(50)]);
  t.ok(before.length < COUNT, `killed with ${before.length} of ${COUNT} finished on the line`);

  const second = spawnNsq(t, args);
  ports = await serverPorts(second);
  const after: string[] = [];
  const freeAfter: string[] = [];
  const c2 = consumer(`127.0.0.1:${ports.tcp}`, 'line', after, 3);
  const f2 = consumer(`127.0.0.1:${ports.tcp}`, 'free', freeAfter, 4);
  t.teardown(() => Promise.all([c2.stop(50), f2.stop(50)]));
  await c2.start();
  await f2.start();
  await until('the line to finish the rest', 60_000, () => after.length > 0 && after[after.length - 1] === bodies[COUNT - 1]);
  await delay(300);

  const k = bodies.indexOf(after[0]!);
  t.ok(k >= 0 && k <= before.length, `after the restart the line starts again at m${k}, at or before the first message not finished before the kill (m${before.length})`);
  t.same(after, bodies.slice(k), 'what the line finishes after the restart is exactly the rest of the publish sequence, in order');
  t.same(before.slice(0, k), bodies.slice(0, k), 'and before the kill it finished the publish sequence up to there');
  const free = [...freeBefore, ...freeAfter];
  const seen = new Set<string>();
  const freeFirst = free.filter((b) => (seen.has(b) ? false : (seen.add(b), true)));
  t.notSame(freeFirst, bodies.slice(0, freeFirst.length), 'control: the normal channel finished out of publish order');
});

t.test('a replica that takes an ordered channel over continues it in the same order', async (t) => {
  const b = await serve(t, tempDir(t), ['--replica-name=B']);
  const a = await serve(t, tempDir(t), ['--replica-name=A', `--replica-address=127.0.0.1:${b.tcp}`, '--replication-factor=2']);
  await waitFor('A in sync with B', () => inSync(a));
  for (const path of ['/topic/create?topic=orders', '/channel/create?topic=orders&channel=line', '/channel/create?topic=orders&channel=free']) t.equal((await api(a, 'POST', path)).status, 200);
  // ordered by the API on A only: B learns it from the replicated metadata
  t.equal((await api(a, 'POST', '/channel/config?topic=orders&channel=line&ordered=true')).status, 200);
  const bodies = Array.from({ length: 1000 }, (_, i) => `r${i}`);
  const producer = new Producer(`127.0.0.1:${a.tcp}`);
  await producer.connect();
  for (let i = 0; i < bodies.length; i += 100) await producer.mpublish('orders', bodies.slice(i, i + 100));
  await producer.close();
  const before: string[] = [];
  const c1 = consumer(`127.0.0.1:${a.tcp}`, 'line', before, 5);
  await c1.start();
  await until('300 FINs on A', 30_000, () => before.length >= 300);
  await c1.stop(50);
  await delay(300); // FINs reach B with the next commits
  await kill9(a);
  rmSync(a.dir, { recursive: true, force: true });

  await waitFor('B takes over', async () => ((await stats(b)).replication?.taken_over_messages ?? 0) > 0, 10_000);
  const line = ((await stats(b)).topics ?? []).find((x) => x.topic_name === 'orders')?.channels.find((c) => c.channel_name === 'line');
  t.equal(line?.ordered, true, "B's copy of the channel is ordered");
  const after: string[] = [];
  const free: string[] = [];
  const c2 = consumer(`127.0.0.1:${b.tcp}`, 'line', after, 6);
  const f2 = consumer(`127.0.0.1:${b.tcp}`, 'free', free, 7);
  t.teardown(() => Promise.all([c2.stop(50), f2.stop(50)]));
  await c2.start();
  await f2.start();
  await until('B to finish the line', 30_000, () => after.length > 0 && after[after.length - 1] === bodies[bodies.length - 1]);
  await until('B to finish the normal channel', 30_000, () => new Set(free).size >= bodies.length);
  const k = bodies.indexOf(after[0]!);
  t.ok(k >= 0 && k <= before.length, `B starts the line at r${k}, at or before the first message A had not finished (r${before.length})`);
  t.same(after, bodies.slice(k), 'what B finishes is exactly the rest of the publish sequence, in order');
  t.same(before.slice(0, k), bodies.slice(0, k), 'after what A finished in order');
  t.notSame(free, bodies.slice(0, free.length), "control: B's normal channel finishes out of publish order");
});

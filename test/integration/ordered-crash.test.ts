// An ordered channel in durable mode across kill -9 (docs/ordered-channels.md): `nsq serve --durable
// --ordered-channel=orders/line`, 10,000 messages answered OK, three consumers (two of our client, one
// nsqjs) that FIN most and at random REQ, REQ with a delay, or let a message time out;
// the server is killed with SIGKILL partway and restarted on the same data path. After the restart
// the line starts again at the first message whose FIN was not yet durable: what the consumer
// finishes after the restart is exactly a suffix of the publish sequence, and together with what it
// finished before, every message in publish order. The control is a normal channel of the same
// topic under the same consumers, whose FIN sequence must be out of publish order. The same through
// a replica's takeover after kill -9 and a deleted data path: the replica continues the line in order.

import t from 'tap';
import type * as Tap from 'tap';
import { rmSync } from 'node:fs';
import { serverPorts, spawnNsq, tempDir } from '../helpers/nsqd.js';
import { api, inSync, kill9, serve, stats, waitFor } from '../helpers/replication.js';
import { delay } from '../helpers/stats.js';
import { consumers, firstDifference, publish, until } from '../helpers/ordered.js';

const COUNT = 10_000;

/** the line's FINs after a restart or takeover: exactly the rest of the publish sequence from where it starts again */
function checkRest(t: Tap.Test, before: string[], after: string[], bodies: string[], where: string): void {
  const k = bodies.indexOf(after[0]!);
  t.ok(k >= 0 && k <= before.length, `${where} the line starts again at ${after[0]}, at or before the first message not finished before (${bodies[before.length]})`);
  t.equal(firstDifference(after, bodies.slice(k)), -1, `what the line finishes ${where} is exactly the rest of the publish sequence, in order (${after.length} messages)`);
  t.equal(firstDifference(before.slice(0, k), bodies.slice(0, k)), -1, 'and before, it finished the publish sequence up to there');
}

/** the normal channel's FINs, first sightings only: out of publish order */
function checkControl(t: Tap.Test, fins: string[], bodies: string[]): void {
  const seen = new Set<string>();
  const first = fins.filter((b) => (seen.has(b) ? false : (seen.add(b), true)));
  t.not(firstDifference(first, bodies.slice(0, first.length)), -1, 'control: the normal channel finished out of publish order');
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
  await publish(ports.tcp, 'orders', bodies);
  t.pass(`${COUNT} messages answered OK`);

  const line1 = await consumers(t, ports.tcp, 'orders', 'line', 1, 2);
  const free1 = await consumers(t, ports.tcp, 'orders', 'free', 2, 2);
  await until('3,000 FINs on the line', 60_000, () => line1.fins.length >= 3000);
  first.child.kill('SIGKILL');
  await first.exit;
  await Promise.all([line1.stop(), free1.stop()]);
  const before = [...line1.fins];
  t.ok(before.length < COUNT, `killed with ${before.length} of ${COUNT} finished on the line`);

  const second = spawnNsq(t, args);
  ports = await serverPorts(second);
  const line2 = await consumers(t, ports.tcp, 'orders', 'line', 3, 2);
  const free2 = await consumers(t, ports.tcp, 'orders', 'free', 4, 2);
  await until('the line to finish the rest', 120_000, () => line2.fins.length > 0 && line2.fins[line2.fins.length - 1] === bodies[COUNT - 1]);
  await until('the normal channel to finish the rest', 60_000, () => new Set([...free1.fins, ...free2.fins]).size >= COUNT);
  await Promise.all([line2.stop(), free2.stop()]);
  checkRest(t, before, line2.fins, bodies, 'after the restart');
  checkControl(t, [...free1.fins, ...free2.fins], bodies);
});

t.test('a replica that takes an ordered channel over continues it in the same order', async (t) => {
  // B would make orders/free ordered by its own flag: the origin's metadata says it is normal
  const b = await serve(t, tempDir(t), ['--replica-name=B', '--ordered-channel=orders/free']);
  const a = await serve(t, tempDir(t), ['--replica-name=A', `--replica-address=127.0.0.1:${b.tcp}`, '--replication-factor=2']);
  await waitFor('A in sync with B', () => inSync(a));
  for (const path of ['/topic/create?topic=orders', '/channel/create?topic=orders&channel=line', '/channel/create?topic=orders&channel=free']) t.equal((await api(a, 'POST', path)).status, 200);
  // ordered by the API on A only: B learns it from the replicated metadata
  t.equal((await api(a, 'POST', '/channel/config?topic=orders&channel=line&ordered=true')).status, 200);
  const bodies = Array.from({ length: COUNT }, (_, i) => `r${i}`);
  await publish(a.tcp, 'orders', bodies);
  const line1 = await consumers(t, a.tcp, 'orders', 'line', 5, 2);
  await until('3,000 FINs on A', 60_000, () => line1.fins.length >= 3000);
  await line1.stop();
  const before = [...line1.fins];
  await delay(300); // FINs reach B with the next commits
  await kill9(a);
  rmSync(a.dir, { recursive: true, force: true });

  await waitFor('B takes over', async () => ((await stats(b)).replication?.taken_over_messages ?? 0) > 0, 10_000);
  const line = ((await stats(b)).topics ?? []).find((x) => x.topic_name === 'orders')?.channels.find((c) => c.channel_name === 'line');
  t.equal(line?.ordered, true, "B's copy of the channel is ordered");
  const freeStats = ((await stats(b)).topics ?? []).find((x) => x.topic_name === 'orders')?.channels.find((c) => c.channel_name === 'free');
  t.equal(freeStats?.ordered, false, "and the normal channel normal, though B's --ordered-channel names it");
  const line2 = await consumers(t, b.tcp, 'orders', 'line', 6, 2);
  const free = await consumers(t, b.tcp, 'orders', 'free', 7, 2);
  await until('B to finish the line', 120_000, () => line2.fins.length > 0 && line2.fins[line2.fins.length - 1] === bodies[COUNT - 1]);
  await until('B to finish the normal channel', 60_000, () => new Set(free.fins).size >= COUNT);
  await Promise.all([line2.stop(), free.stop()]);
  checkRest(t, before, line2.fins, bodies, 'on B after the takeover');
  checkControl(t, free.fins, bodies);
});

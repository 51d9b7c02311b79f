// statsd with replication: two `nsq serve --durable` processes (A copies to B) push to a real UDP
// socket; the replication gauges follow the link as B is killed and restarted, and B counts the
// messages it takes over once A is killed. (A node without replication pushes none: test/nsqd/http.test.ts.)

import { createSocket } from 'node:dgram';
import { setTimeout as delay } from 'node:timers/promises';
import t from 'tap';
import { tempDir } from '../helpers/nsqd.js';
import { api, inSync, kill9, serve, waitFor } from '../helpers/replication.js';

t.test('statsd: replication.in_sync, needed, lag_bytes per replica and taken_over', async (t) => {
  const udp = createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => udp.close());
  const lines: string[] = [];
  udp.on('message', (m) => lines.push(...m.toString().split('\n')));
  /** Waits for a line pushed after `from` (an index into `lines`); returns its index. */
  const pushed = async (line: string | RegExp, from = 0): Promise<number> => {
    let i = -1;
    await waitFor(`statsd line ${String(line)}`, () => (i = lines.findIndex((l, k) => k >= from && (typeof line === 'string' ? l === line : line.test(l)))) >= 0, 10_000);
    return i;
  };
  const statsd = (name: string): string[] => [`--statsd-address=127.0.0.1:${udp.address().port}`, '--statsd-interval=100ms', `--statsd-prefix=nsq.${name}`, '--statsd-mem-stats=false'];

  const bDir = tempDir(t);
  const bArgs = ['--replica-name=B', ...statsd('b')];
  let b = await serve(t, bDir, bArgs);
  const a = await serve(t, tempDir(t), ['--replica-name=A', `--replica-address=127.0.0.1:${b.tcp}`, '--replication-factor=2', ...statsd('a')]);
  const link = `nsq.a.replication.replica.127_0_0_1_${b.tcp}`;
  await waitFor('A in sync', () => inSync(a));
  let at = await pushed('nsq.a.replication.in_sync:1|g');
  const batch = lines.slice(at, at + 40);
  t.ok(batch.includes('nsq.a.replication.needed:1|g'), 'needed: factor 2 needs 1 replica');
  t.ok(batch.includes(`${link}.in_sync:1|g`), "the replica's link, its address as one key segment");
  t.ok(batch.some((l) => /^nsq\.a\.replication\.lag_bytes:\d+\|g$/.test(l)), 'lag_bytes, all replicas summed');
  t.ok(batch.some((l) => new RegExp(`^${link.replace(/\./g, '\\.')}\\.lag_bytes:\\d+\\|g$`).test(l)), 'lag_bytes of the replica');
  t.ok(batch.some((l) => /^nsq\.a\.replication\.lag_messages:\d+\|g$/.test(l)), 'lag_messages, the replica furthest behind');
  t.ok(batch.some((l) => new RegExp(`^${link.replace(/\./g, '\\.')}\\.lag_messages:\\d+\\|g$`).test(l)), 'lag_messages of the replica');
  t.ok(batch.includes('nsq.a.replication.taken_over:0|c'), 'taken_over: a counter, nothing yet');
  await pushed(/^nsq\.b\.replication\.needed:0\|g$/);
  t.pass('B (factor 1, holding a copy of A) pushes the replication figures too, as /metrics shows them');

  t.equal((await api(a, 'POST', '/topic/create?topic=jobs')).status, 200);
  t.equal((await api(a, 'POST', '/channel/create?topic=jobs&channel=w')).status, 200);
  for (let i = 0; i < 5; i++) t.equal((await api(a, 'POST', '/pub?topic=jobs', `m${i}`)).status, 200);

  await kill9(b);
  at = await pushed('nsq.a.replication.in_sync:0|g', lines.length);
  t.ok(lines.slice(at, at + 40).includes(`${link}.in_sync:0|g`), 'the link to the killed replica: 0');
  b = await serve(t, bDir, bArgs, b.tcp);
  await pushed('nsq.a.replication.in_sync:1|g', lines.length);
  t.pass('in sync again after the replica restarts');

  const before = lines.length;
  await kill9(a);
  await pushed('nsq.b.replication.taken_over:5|c', before);
  await delay(300);
  const taken = lines.slice(before).filter((l) => l.startsWith('nsq.b.replication.taken_over:'));
  t.equal(taken.reduce((n, l) => n + Number(/:(\d+)\|c$/.exec(l)![1]), 0), 5, "B's counter deltas add up to the 5 messages it took over (pushed once, then 0)");
});

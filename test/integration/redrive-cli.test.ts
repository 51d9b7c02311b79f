// `nsq redrive` as a spawned process against a spawned `nsq serve --durable`: every message of
// T.dead back in T (read with nsqjs), FIN only after the publish; exit 1 with E_REDRIVE_INCOMPLETE
// when fewer than the depth at start could be moved, exit 1 for a topic that does not exist, exit 2
// for a name without .dead and no --destination-topic.

import t from 'tap';
import { Consumer } from '../../src/client/consumer.js';
import { serverPorts, spawnNsq, tempDir, type Teardown } from '../helpers/nsqd.js';
import { drainNsqjs } from '../helpers/drain.js';
import { waitFor, type TopicJson } from '../helpers/stats.js';

async function server(t: Teardown): Promise<{ tcp: number; http: number }> {
  const s = spawnNsq(t, ['serve', `--data-path=${tempDir(t)}`, '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--durable', '--max-attempts=1']);
  return serverPorts(s);
}

async function post(http: number, path: string, body?: string): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${http}${path}`, { method: 'POST', body });
  if (res.status !== 200) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
}

async function topic(http: number, name: string): Promise<TopicJson | undefined> {
  const res = await fetch(`http://127.0.0.1:${http}/stats?format=json&topic=${name}`);
  return ((await res.json()) as { topics: TopicJson[] | null }).topics?.find((x) => x.topic_name === name);
}

async function redrive(t: Teardown, s: { tcp: number; http: number }, args: string[]): Promise<{ code: number | null; stderr: string }> {
  const p = spawnNsq(t, ['redrive', ...args, `--nsqd-tcp-address=127.0.0.1:${s.tcp}`, `--nsqd-http-address=127.0.0.1:${s.http}`]);
  const { code } = await p.exit;
  return { code, stderr: p.stderr() };
}

const bodies = Array.from({ length: 5 }, (_, i) => `dead-${i}`);

t.test('every message of orders.dead goes back to orders; exit 0', async (t) => {
  const s = await server(t);
  await post(s.http, '/topic/create?topic=orders');
  await post(s.http, '/channel/create?topic=orders&channel=c');
  await post(s.http, '/mpub?topic=orders.dead', bodies.join('\n'));
  const r = await redrive(t, s, ['orders.dead']);
  t.same([r.code, r.stderr.trim()], [0, 'moved 5 of 5 from orders.dead to orders']);
  const ch = (await topic(s.http, 'orders.dead'))?.channels.find((c) => c.channel_name === 'nsq_redrive');
  t.same([ch?.depth, ch?.in_flight_count], [0, 0], 'all FINed on nsq_redrive');
  t.same((await drainNsqjs(t, s.tcp, 'orders', 'c', 5)).sort(), bodies, 'orders/c has them, once each (nsqjs)');
  const again = await redrive(t, s, ['orders.dead']);
  t.same([again.code, again.stderr.trim()], [0, 'moved 0 of 0 from orders.dead to orders'], 'nothing left: exit 0');
});

t.test('--destination-topic; a name without .dead needs it (exit 2); a missing topic is exit 1', async (t) => {
  const s = await server(t);
  await post(s.http, '/mpub?topic=failed', bodies.join('\n'));
  const usage = await redrive(t, s, ['failed']);
  t.equal(usage.code, 2, 'no .dead, no --destination-topic: usage error');
  t.match(usage.stderr, /does not end in \.dead: give --destination-topic/);
  t.notMatch(usage.stderr, /\n\s+at /, 'no stack trace');
  const r = await redrive(t, s, ['failed', '--destination-topic', 'retry']);
  t.equal(r.code, 0, r.stderr);
  t.equal((await topic(s.http, 'retry'))?.depth, 5, 'the destination topic holds them');
  const missing = await redrive(t, s, ['nothing.dead']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /topic nothing\.dead does not exist/);
  t.notMatch(missing.stderr, /\n\s+at /, 'no stack trace');
});

t.test('fewer moved than the depth at start (another consumer holds some): exit 1, E_REDRIVE_INCOMPLETE', async (t) => {
  const s = await server(t);
  await post(s.http, '/mpub?topic=jobs.dead', bodies.join('\n'));
  // another consumer on nsq_redrive that takes two and never answers
  const held: string[] = [];
  const c = new Consumer({ topic: 'jobs.dead', channel: 'nsq_redrive', nsqdTcpAddresses: [`127.0.0.1:${s.tcp}`], maxInFlight: 2, autoFinish: false, msgTimeout: 60_000 }, (m) => void held.push(m.body.toString()));
  await c.start();
  t.teardown(() => c.stop(100));
  await waitFor('two held', () => held.length === 2);
  const r = await redrive(t, s, ['jobs.dead', '--idle-timeout=500ms']);
  t.equal(r.code, 1);
  t.match(r.stderr, /E_REDRIVE_INCOMPLETE moved 3 of 5/);
  t.equal((await topic(s.http, 'jobs'))?.depth, 3, 'the three it got are in jobs');
});

// Dead letters in durable mode (docs/dead-letters.md, "Durable mode"): a move is one journal record
// in the dead-letter topic, so after kill -9 a moved message is in the dead-letter topic and never
// redelivered at its source; recovery writes a source ack that was missing; a refused dead-letter
// journal write keeps the message at its source. Real servers (spawned, killed with SIGKILL) and
// both our client and nsqjs. The random-moment crash loop is test/integration/dead-letters-crash.test.ts.

import { existsSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import nsq from 'nsqjs';
import type { Message as NsqjsMessage } from 'nsqjs';
import t from 'tap';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { startNsqd, tempDir, type Teardown } from '../helpers/nsqd.js';
import { drainNsqjs } from '../helpers/drain.js';
import { kill9, post, serve, type Server } from '../helpers/retention.js';
import { channelStats as inProcessChannelStats, delay, waitFor, type ChannelJson, type TopicJson } from '../helpers/stats.js';

const QUIET_MS = 300;

async function channelStats(s: Server, topic: string, channel: string): Promise<ChannelJson | undefined> {
  const res = await fetch(`http://127.0.0.1:${s.http}/stats?format=json&topic=${topic}`, { signal: AbortSignal.timeout(5000) });
  const topics = ((await res.json()) as { topics: TopicJson[] | null }).topics ?? [];
  return topics.find((x) => x.topic_name === topic)?.channels.find((c) => c.channel_name === channel);
}

/** Our client, REQing everything it gets at once: a message reaches max attempts quickly. */
async function requeueAll(t: Teardown, s: Server, topic: string, channel: string): Promise<Consumer> {
  const c = new Consumer({ topic, channel, nsqdTcpAddresses: [`127.0.0.1:${s.tcp}`], maxInFlight: 10, autoFinish: false, maxBackoff: 0 }, (m) => m.requeue(0));
  c.events.error = () => {};
  t.teardown(() => c.stop(100));
  await c.start();
  return c;
}

/** Everything a channel delivers within QUIET_MS of subscribing, FINed (nsqjs). */
async function nothingOn(t: Teardown, s: Server, topic: string, channel: string): Promise<string[]> {
  const reader = new nsq.Reader(topic, channel, { nsqdTCPAddresses: [`127.0.0.1:${s.tcp}`], maxInFlight: 100 });
  const got: string[] = [];
  reader.on('error', () => {});
  reader.on('message', (m: NsqjsMessage) => {
    got.push(m.body.toString());
    m.finish();
  });
  reader.connect();
  t.teardown(() => reader.close());
  await waitFor('nsqjs subscribed', async () => ((await channelStats(s, topic, channel))?.client_count ?? 0) > 0);
  await delay(QUIET_MS);
  reader.close();
  return got;
}

const range = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const ackFiles = (dir: string, topic: string, channel: string): string[] => readdirSync(dir).filter((f) => f.startsWith(`${topic}:${channel}.acks.`));

t.jobs = 2;

t.test('moved under --durable: after kill -9 the messages are in <topic>.dead and never redelivered at the source', async (t) => {
  const dir = tempDir(t);
  let s = await serve(t, dir, ['--durable', '--max-attempts=2']);
  await post(s, '/topic/create?topic=orders');
  await post(s, '/channel/create?topic=orders&channel=work');
  await post(s, '/topic/create?topic=orders.dead');
  await post(s, '/channel/create?topic=orders.dead&channel=ops');
  const bodies = range('order-', 6);
  const p = new Producer(`127.0.0.1:${s.tcp}`);
  t.teardown(() => p.close());
  await p.mpublish('orders', bodies);
  await p.close();
  const c = await requeueAll(t, s, 'orders', 'work');
  await waitFor('all moved', async () => (await channelStats(s, 'orders.dead', 'ops'))?.depth === 6);
  const src = await channelStats(s, 'orders', 'work');
  t.same([src?.depth, src?.in_flight_count, src?.dead_lettered_count], [0, 0, 6], 'the source holds nothing and counts 6 moved');
  await c.stop();
  await kill9(s);
  const meta = JSON.parse(readFileSync(`${dir}/nsqd.dat`, 'utf8')) as { topics: { name: string; dead_letters?: boolean }[] };
  t.equal(meta.topics.find((x) => x.name === 'orders.dead')?.dead_letters, true, 'nsqd.dat marks the dead-letter topic');

  s = await serve(t, dir, ['--durable', '--max-attempts=2']);
  t.same(await nothingOn(t, s, 'orders', 'work'), [], 'the source redelivers none of them (nsqjs)');
  t.same((await drainNsqjs(t, s.tcp, 'orders.dead', 'ops', 6, { quietMs: QUIET_MS })).sort(), bodies, 'each is in the dead-letter topic once, body unchanged (nsqjs)');
  // the FINs reached the server (a close it reads first requeues them: nothing was acked then)
  await waitFor('the FINs applied', async () => {
    const ops = await channelStats(s, 'orders.dead', 'ops');
    return ops?.depth === 0 && ops.in_flight_count === 0 && ops.requeue_count === 0;
  });
  await kill9(s);
  s = await serve(t, dir, ['--durable', '--max-attempts=2']);
  t.equal((await channelStats(s, 'orders.dead', 'ops'))?.depth, 0, 'FINed in the dead-letter topic: gone after another kill -9');
  t.equal((await channelStats(s, 'orders', 'work'))?.depth, 0, 'and still nothing at the source');
});

t.test('a source ack lost after the move (crash between fsync and ack write): recovery skips the ID and writes the ack', async (t) => {
  const dir = tempDir(t);
  let s = await serve(t, dir, ['--durable', '--max-attempts=1']);
  await post(s, '/topic/create?topic=jobs');
  await post(s, '/channel/create?topic=jobs&channel=w');
  await post(s, '/channel/create?topic=jobs&channel=other');
  await post(s, '/topic/create?topic=jobs.dead');
  await post(s, '/channel/create?topic=jobs.dead&channel=d');
  const p = new Producer(`127.0.0.1:${s.tcp}`);
  t.teardown(() => p.close());
  await p.mpublish('jobs', range('job-', 4));
  await p.close();
  const c = await requeueAll(t, s, 'jobs', 'w');
  await waitFor('all moved', async () => (await channelStats(s, 'jobs.dead', 'd'))?.depth === 4);
  await c.stop();
  await kill9(s);
  // what a crash right after the dead-letter journal's fsync leaves: the move records, no source acks
  for (const f of ackFiles(dir, 'jobs', 'w')) rmSync(`${dir}/${f}`);
  t.same(ackFiles(dir, 'jobs', 'w'), [], 'the source channel has no ack');

  s = await serve(t, dir, ['--durable', '--max-attempts=1']);
  t.same(await nothingOn(t, s, 'jobs', 'w'), [], 'the move record alone keeps the source from redelivering');
  // left unconsumed: its copies keep the source journal from compaction, so the source records stay
  t.equal((await channelStats(s, 'jobs', 'other'))?.depth, 4, 'another channel of the source still has its own copies');
  t.same((await drainNsqjs(t, s.tcp, 'jobs.dead', 'd', 4, { quietMs: 100 })).sort(), range('job-', 4), 'the dead-letter topic delivers them');
  // a clean stop seals and compacts: the dead-letter journal, now done, goes with its move records
  s.proc.child.kill('SIGTERM');
  t.equal((await s.proc.exit).code, 0);
  t.notOk(readdirSync(dir).some((f) => /^jobs\.dead\.journal\.\d+\.dat$/.test(f) && readFileSync(`${dir}/${f}`).length > 0), 'no move record is left in the dead-letter journal');
  s = await serve(t, dir, ['--durable', '--max-attempts=1']);
  t.ok(readdirSync(dir).some((f) => /^jobs\.journal\.\d+\.dat$/.test(f)), 'the source journal is still there');
  t.same(await nothingOn(t, s, 'jobs', 'w'), [], 'the ack recovery wrote keeps them done without the move records');
});

t.test('plain source, durable dead-letter topic (--durable-topic): the move takes the journal path too', async (t) => {
  const dir = tempDir(t);
  const n = await startNsqd(t, { dataPath: dir, durableTopics: ['*.dead'] });
  n.getTopic('p').getChannel('c');
  n.getTopic('p.dead').getChannel('d');
  const c = new Consumer({ topic: 'p', channel: 'c', nsqdTcpAddresses: [`127.0.0.1:${n.tcpEndpoint.port}`], maxInFlight: 1, autoFinish: false, maxBackoff: 0 }, (m) => m.requeue(0));
  await c.start();
  t.teardown(() => c.stop(100));
  const res = await fetch(`http://127.0.0.1:${n.httpEndpoint.port}/channel/config?topic=p&channel=c&max_attempts=1`, { method: 'POST' });
  t.equal(res.status, 200);
  const pr = new Producer(`127.0.0.1:${n.tcpEndpoint.port}`);
  t.teardown(() => pr.close());
  await pr.publish('p', 'hello');
  await waitFor('moved', async () => (await inProcessChannelStats(n, 'p.dead', 'd'))?.depth === 1);
  t.equal((await inProcessChannelStats(n, 'p', 'c'))?.dead_lettered_count, 1);
});

t.test('a dead-letter journal write the disk refuses: the message stays at its source, delivered again, logged', { skip: existsSync('/dev/full') ? false : 'needs /dev/full (Linux)' }, async (t) => {
  const dir = tempDir(t);
  const lines: string[] = [];
  const n = await startNsqd(t, { dataPath: dir, durable: true, maxAttempts: 1, maxBytesPerFile: 64 });
  n.logger.error = (msg: string) => void lines.push(msg);
  n.getTopic('q').getChannel('c');
  const dead = n.getTopic('q.dead');
  dead.getChannel('d');
  const pr = new Producer(`127.0.0.1:${n.tcpEndpoint.port}`);
  t.teardown(() => pr.close());
  // fills the dead-letter journal's 64-byte segment, so its next batch goes to a new segment
  await pr.publish('q.dead', 'x'.repeat(80));
  symlinkSync('/dev/full', `${dir}/q.dead.journal.000001.dat`);
  await pr.publish('q', 'kept');
  const seen: number[] = [];
  const c = new Consumer({ topic: 'q', channel: 'c', nsqdTcpAddresses: [`127.0.0.1:${n.tcpEndpoint.port}`], maxInFlight: 1, autoFinish: false, maxBackoff: 0 }, (m) => {
    seen.push(m.attempts);
    m.requeue(0);
  });
  await c.start();
  t.teardown(() => c.stop(100));
  await waitFor('delivered again after the refused move', () => seen.length >= 3);
  t.ok(lines.some((l) => l.includes('failed to dead-letter message') && l.includes('q.dead')), 'logged');
  const ch = await inProcessChannelStats(n, 'q', 'c');
  t.equal(ch?.dead_lettered_count, 0, 'not counted as moved');
  t.equal((await inProcessChannelStats(n, 'q.dead', 'd'))?.depth, 1, 'the dead-letter topic has only its earlier message');
  t.equal(n.getExistingTopic('q')!.getExistingChannel('c')!.depth + (await inProcessChannelStats(n, 'q', 'c'))!.in_flight_count, 1, 'the message is still at its source');
});

t.test('an ordered channel: a dead-letter move the disk refuses gives the head back, and nothing behind it goes out first; a normal channel (the control) sends the rest meanwhile', { skip: existsSync('/dev/full') ? false : 'needs /dev/full (Linux)' }, async (t) => {
  const dir = tempDir(t);
  const n = await startNsqd(t, { dataPath: dir, durable: true, maxAttempts: 1, maxBytesPerFile: 64 });
  n.logger.error = () => {};
  const q = n.getTopic('q');
  q.getChannel('line').setOrdered(true);
  q.getChannel('free');
  n.getTopic('q.dead').getChannel('d');
  const pr = new Producer(`127.0.0.1:${n.tcpEndpoint.port}`);
  t.teardown(() => pr.close());
  await pr.publish('q.dead', 'x'.repeat(80));
  symlinkSync('/dev/full', `${dir}/q.dead.journal.000001.dat`);
  await pr.mpublish('q', ['poison', 'b', 'c']);
  const seen: Record<string, string[]> = { line: [], free: [] };
  for (const channel of ['line', 'free']) {
    const c = new Consumer({ topic: 'q', channel, nsqdTcpAddresses: [`127.0.0.1:${n.tcpEndpoint.port}`], maxInFlight: 10, autoFinish: false, maxBackoff: 0 }, (m) => {
      const body = m.body.toString();
      seen[channel]!.push(body);
      if (body === 'poison') m.requeue(0);
      else m.finish();
    });
    c.events.error = () => {};
    await c.start();
    t.teardown(() => c.stop(100));
  }
  const twice = (xs: string[]): number => xs.indexOf('poison', xs.indexOf('poison') + 1);
  await waitFor('the ordered line to get its head 4 times, the control its poison message twice', () => seen['line']!.length >= 4 && twice(seen['free']!) > 0);
  t.same(seen['line']!.slice(0, 4), ['poison', 'poison', 'poison', 'poison'], 'the ordered line: the refused head again and again, never b or c before it');
  const free = seen['free']!;
  t.ok(free.includes('b') && free.indexOf('b') < twice(free), `control: the normal channel delivered b before its refused poison message came back (${free.join(' ')})`);
  t.equal((await inProcessChannelStats(n, 'q', 'line'))?.dead_lettered_count, 0, 'nothing counted as moved');
});

t.test('an ordered channel under --durable: the line waits for a dead-letter move to commit, then goes on in order', async (t) => {
  const dir = tempDir(t);
  const n = await startNsqd(t, { dataPath: dir, durable: true, maxAttempts: 2 });
  n.getTopic('jobs').getChannel('line').setOrdered(true);
  n.getTopic('jobs.dead').getChannel('d');
  const pr = new Producer(`127.0.0.1:${n.tcpEndpoint.port}`);
  t.teardown(() => pr.close());
  await pr.mpublish('jobs', ['a', 'poison', 'b', 'c']);
  const seen: string[] = [];
  const c = new Consumer({ topic: 'jobs', channel: 'line', nsqdTcpAddresses: [`127.0.0.1:${n.tcpEndpoint.port}`], maxInFlight: 10, autoFinish: false, maxBackoff: 0 }, (m) => {
    const body = m.body.toString();
    seen.push(`${body}#${m.attempts}`);
    if (body === 'poison') m.requeue(0);
    else m.finish();
  });
  c.events.error = () => {};
  await c.start();
  t.teardown(() => c.stop(100));
  await waitFor('b and c after the poison message moved', () => seen.includes('c#1'));
  t.same(seen, ['a#1', 'poison#1', 'poison#2', 'b#1', 'c#1'], 'in order, the poison message twice, then moved');
  await waitFor('the move counted', async () => (await inProcessChannelStats(n, 'jobs', 'line'))?.dead_lettered_count === 1);
  t.equal((await inProcessChannelStats(n, 'jobs.dead', 'd'))?.depth, 1, 'it waits in the dead-letter topic');
});

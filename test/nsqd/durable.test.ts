// `nsq serve --durable` as a user sees it: what comes back after a kill -9 (or a clean stop) is
// exactly what was acknowledged and not finished: FINs, DPUB due times, channels created later,
// /channel/empty and /topic/empty, compaction, switching between plain and durable mode on one data
// path, a disk that refuses writes, group commit, HTTP publishes, paused topics and deletes. The
// random-moment crash test is test/integration/durable-crash.test.ts; the file formats are in
// segment-log.test.ts.

import { existsSync, lstatSync, readdirSync, symlinkSync } from 'node:fs';
import t from 'tap';
import { Connection, NsqError } from '../../src/client/connection.js';
import { Consumer } from '../../src/client/consumer.js';
import { serverPorts, spawnNsq, startNsqd, tempDir, type Spawned } from '../helpers/nsqd.js';
import { delay, httpBase, waitFor, type ChannelJson, type TopicJson } from '../helpers/stats.js';
import { drainNsqjs as drainWithNsqjs } from '../helpers/drain.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

interface Server {
  proc: Spawned;
  tcp: number;
  http: number;
}

/** after the expected number of messages arrived, how long to wait for any that should not */
const QUIET_MS = 150;

/** `nsq serve` on `dir` (durable unless other mode flags are given), on loopback port 0. */
async function serve(t: Teardown, dir: string, args: string[] = ['--durable']): Promise<Server> {
  const proc = spawnNsq(t, ['serve', `--data-path=${dir}`, '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', ...args]);
  const { tcp, http } = await serverPorts(proc);
  return { proc, tcp, http };
}

async function kill9(s: Server): Promise<void> {
  s.proc.child.kill('SIGKILL');
  const { signal } = await s.proc.exit;
  if (signal !== 'SIGKILL') throw new Error(`the server was not killed by SIGKILL (${signal})`);
}

/** SIGTERM; a clean stop exits 0. */
async function terminate(s: Server): Promise<number | null> {
  s.proc.child.kill('SIGTERM');
  return (await s.proc.exit).code;
}

async function api(s: Server, method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${s.http}${path}`, { method, body, signal: AbortSignal.timeout(5000) });
  return { status: res.status, text: await res.text() };
}

async function post(s: Server, path: string, body?: string): Promise<string> {
  const r = await api(s, 'POST', path, body);
  if (r.status !== 200) throw new Error(`POST ${path}: ${r.status} ${r.text}`);
  return r.text;
}

/** /topic/create then /channel/create (nsqd's /channel/create wants an existing topic). */
async function createChannel(s: Server, topic: string, channel: string): Promise<void> {
  await post(s, `/topic/create?topic=${topic}`);
  await post(s, `/channel/create?topic=${topic}&channel=${channel}`);
}

async function topicStats(s: Server, topic: string): Promise<TopicJson | undefined> {
  const r = await api(s, 'GET', `/stats?format=json&topic=${topic}`);
  return ((JSON.parse(r.text) as { topics: TopicJson[] | null }).topics ?? []).find((x) => x.topic_name === topic);
}

async function channelStats(s: Server, topic: string, channel: string): Promise<ChannelJson | undefined> {
  return (await topicStats(s, topic))?.channels.find((c) => c.channel_name === channel);
}

async function open(t: Teardown, s: Server): Promise<Connection> {
  const conn = await Connection.open({ host: '127.0.0.1', port: s.tcp });
  t.teardown(() => conn.close());
  return conn;
}

/**
 * Consumes (and FINs) `n` messages with our client, then waits QUIET_MS for any extra one; returns
 * every body received, sorted.
 */
async function drain(t: Teardown, s: Server, topic: string, channel: string, n: number): Promise<string[]> {
  const got: string[] = [];
  const c = new Consumer({ topic, channel, nsqdTcpAddresses: [`127.0.0.1:${s.tcp}`], maxInFlight: 100 }, (m) => {
    got.push(m.body.toString());
  });
  c.events.error = () => {};
  t.teardown(() => c.stop(100));
  await c.start();
  await waitFor(`${n} messages on ${topic}/${channel} (have ${got.length})`, () => got.length >= n);
  await delay(QUIET_MS);
  await c.stop();
  return got.sort();
}

/** The same with nsqjs, an independent client. */
const drainNsqjs = async (t: Teardown, s: Server, topic: string, channel: string, n: number): Promise<string[]> =>
  (await drainWithNsqjs(t, s.tcp, topic, channel, n, { quietMs: QUIET_MS })).sort();

// every case has its own servers and data path; two at a time keeps the file within a few seconds
// of its longest waits (a 3 s DPUB, a 2 s compaction period) on a 2-core machine
t.jobs = 2;

const range = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** Files of the data path whose names match. */
const files = (dir: string, re: RegExp): string[] => readdirSync(dir).filter((f) => re.test(f)).sort();
const journalFiles = (dir: string, topic: string): string[] => files(dir, new RegExp(`^${topic}\\.journal\\.\\d{6}\\.dat$`));

t.test('FIN is remembered across kill -9: only the requeued messages come back', async (t) => {
  const dir = tempDir(t);
  let s = await serve(t, dir);
  await createChannel(s, 'fin', 'c');
  const conn = await open(t, s);
  const bodies = range('fin-', 10);
  for (const b of bodies.slice(0, 4)) await conn.publish('fin', b);
  await conn.mpublish('fin', bodies.slice(4));
  const finished = new Set(['fin-0', 'fin-3', 'fin-5', 'fin-9']);
  let handled = 0;
  const c = new Consumer({ topic: 'fin', channel: 'c', nsqdTcpAddresses: [`127.0.0.1:${s.tcp}`], maxInFlight: 10, autoFinish: false }, (m) => {
    handled++;
    if (finished.has(m.body.toString())) m.finish();
    else m.requeue(60_000);
  });
  c.events.error = () => {};
  t.teardown(() => c.stop(100));
  await c.start();
  await waitFor('every message FINed or requeued', async () => {
    const ch = await channelStats(s, 'fin', 'c');
    return handled === 10 && ch !== undefined && ch.in_flight_count === 0 && ch.deferred_count === 6;
  });
  await c.stop();
  await kill9(s);

  s = await serve(t, dir);
  t.same(await drain(t, s, 'fin', 'c', 6), bodies.filter((b) => !finished.has(b)).sort(), 'exactly the 6 unfinished bodies come back; none of the 4 FINed ones');
});

t.test('DPUB keeps its due time across kill -9', async (t) => {
  const dir = tempDir(t);
  let s = await serve(t, dir);
  await createChannel(s, 'dp', 'c');
  const conn = await open(t, s);
  const sent = Date.now();
  // long enough that a restart on a loaded machine is well inside it
  await conn.dpublish('dp', 'later', 8000);
  await kill9(s);

  s = await serve(t, dir);
  const ch = await channelStats(s, 'dp', 'c');
  t.same([ch?.deferred_count, ch?.depth], [1, 0], 'after the restart the message is deferred again, not queued');
  const arrivals: number[] = [];
  const c = new Consumer({ topic: 'dp', channel: 'c', nsqdTcpAddresses: [`127.0.0.1:${s.tcp}`], maxInFlight: 10 }, (m) => {
    arrivals.push(Date.now());
    t.equal(m.body.toString(), 'later');
  });
  c.events.error = () => {};
  t.teardown(() => c.stop(100));
  await c.start();
  await waitFor('the deferred message', () => arrivals.length === 1, 12_000);
  // the due time is the server's clock at the DPUB + 8000 ms, so no earlier than sent + 8000 (1 ms for rounding)
  t.ok(arrivals[0]! >= sent + 7999, `delivered ${arrivals[0]! - sent} ms after the DPUB, not before its due time`);
  t.ok(arrivals[0]! < sent + 12_000, `and not long after it either (${arrivals[0]! - sent} ms)`);
  await delay(QUIET_MS);
  t.equal(arrivals.length, 1, 'delivered once');
});

t.test('a later channel gets only messages from its creation on; a topic without channels keeps its own (kill -9 twice)', async (t) => {
  const dir = tempDir(t);
  let s = await serve(t, dir);
  await createChannel(s, 'late', 'early');
  const conn = await open(t, s);
  await conn.mpublish('late', range('a', 3));
  await createChannel(s, 'late', 'late');
  await conn.mpublish('late', range('b', 2));
  await post(s, '/topic/create?topic=lonely');
  await conn.mpublish('lonely', range('l', 3));
  t.equal((await channelStats(s, 'late', 'late'))?.depth, 2, 'before the crash, the later channel holds 2');
  await kill9(s);

  s = await serve(t, dir);
  t.equal((await channelStats(s, 'late', 'early'))?.depth, 5, 'the first channel has all 5 again');
  t.equal((await channelStats(s, 'late', 'late'))?.depth, 2, 'the later channel has only the 2 published after it was created');
  const lonely = await topicStats(s, 'lonely');
  t.same([lonely?.depth, lonely?.channels.length], [3, 0], 'the topic without channels kept its 3 messages');
  await createChannel(s, 'lonely', 'after');
  await waitFor('the waiting messages to move to the new channel', async () => (await channelStats(s, 'lonely', 'after'))?.depth === 3);
  await kill9(s);

  s = await serve(t, dir);
  t.same(await drain(t, s, 'late', 'early', 5), [...range('a', 3), ...range('b', 2)]);
  t.same(await drain(t, s, 'late', 'late', 2), range('b', 2), 'not the messages from before the channel existed');
  t.same(await drain(t, s, 'lonely', 'after', 3), range('l', 3), 'a channel created after the restart got the topic’s waiting messages, and kept them across kill -9');
});

t.test('/channel/empty and /topic/empty: emptied messages stay gone after kill -9', async (t) => {
  const dir = tempDir(t);
  let s = await serve(t, dir);
  await createChannel(s, 'emc', 'c');
  await post(s, '/topic/create?topic=emt');
  const conn = await open(t, s);
  await conn.mpublish('emc', range('old', 5));
  await conn.mpublish('emt', range('old', 4));
  await post(s, '/channel/empty?topic=emc&channel=c');
  await post(s, '/topic/empty?topic=emt');
  await conn.mpublish('emc', range('new', 2));
  await conn.publish('emt', 'new0');
  t.equal((await channelStats(s, 'emc', 'c'))?.depth, 2);
  t.equal((await topicStats(s, 'emt'))?.depth, 1);
  await kill9(s);

  s = await serve(t, dir);
  t.equal((await channelStats(s, 'emc', 'c'))?.depth, 2, 'the emptied channel holds only what came after /channel/empty');
  t.equal((await topicStats(s, 'emt'))?.depth, 1, 'the emptied topic holds only what came after /topic/empty');
  t.same(await drain(t, s, 'emc', 'c', 2), range('new', 2));
  t.same(await drain(t, s, 'emt', 'c', 1), ['new0']);
});

t.test('compaction deletes the journal segments every channel is done with; a clean stop leaves at most one', async (t) => {
  const dir = tempDir(t);
  // any positive size is accepted; 2 KiB makes a roll every batch or two of 20 ~90-byte records
  const args = ['--durable', '--max-bytes-per-file=2048'];
  let s = await serve(t, dir, args);
  await createChannel(s, 'cp', 'c');
  const conn = await open(t, s);
  const bodies = range('compaction-body-padded-to-be-about-sixty-bytes-long-', 300);
  for (let i = 0; i < 300; i += 20) await conn.mpublish('cp', bodies.slice(i, i + 20));
  const before = journalFiles(dir, 'cp');
  t.ok(before.length >= 5, `the journal rolled into several segments (${before.length})`);
  t.equal((await drain(t, s, 'cp', 'c', 300)).length, 300, 'all 300 consumed and FINed');
  const after = await waitFor('compaction (runs every 2 s) to delete the finished segments', () => {
    const now = journalFiles(dir, 'cp');
    return now.length <= 1 ? now : false;
  }, 6000, 100);
  t.notOk(after.includes(before[0]!), `the oldest segment is gone (left: ${after.join(', ') || 'none'})`);
  await kill9(s);

  s = await serve(t, dir, args);
  const tp = await topicStats(s, 'cp');
  const ch = tp?.channels.find((c) => c.channel_name === 'c');
  t.same([tp?.depth, ch?.depth, ch?.in_flight_count, ch?.deferred_count], [0, 0, 0, 0], 'nothing comes back after the restart');
  t.equal(await terminate(s), 0, 'SIGTERM stops cleanly');
  const left = journalFiles(dir, 'cp');
  t.ok(left.length <= 1, `a clean stop with everything finished leaves at most one journal segment (${left.join(', ') || 'none'})`);
});

t.test('SIGTERM in durable mode: queued, in-flight and deferred messages come back', async (t) => {
  const dir = tempDir(t);
  let s = await serve(t, dir);
  await createChannel(s, 'st', 'c');
  const conn = await open(t, s);
  await conn.mpublish('st', range('m', 6));
  await conn.dpublish('st', 'deferred', 60_000);
  // m0 is finished; with 2 in flight and never answered, m1 and m2 stay in flight, m3-m5 queued
  const c = new Consumer({ topic: 'st', channel: 'c', nsqdTcpAddresses: [`127.0.0.1:${s.tcp}`], maxInFlight: 2, autoFinish: false }, (m) => {
    if (m.body.toString() === 'm0') m.finish();
  });
  c.events.error = () => {};
  t.teardown(() => c.stop(100));
  await c.start();
  await waitFor('2 in flight, 3 queued, 1 deferred', async () => {
    const ch = await channelStats(s, 'st', 'c');
    return ch !== undefined && ch.in_flight_count === 2 && ch.depth === 3 && ch.deferred_count === 1;
  });
  t.equal(await terminate(s), 0, 'SIGTERM stops cleanly');
  await c.stop(100);

  s = await serve(t, dir);
  const ch = await channelStats(s, 'st', 'c');
  t.same([ch?.depth, ch?.deferred_count, ch?.in_flight_count], [5, 1, 0], 'the 3 queued and the 2 in flight are queued again; the DPUB is still deferred');
  t.same(await drain(t, s, 'st', 'c', 5), range('m', 6).slice(1), 'everything but the FINed m0');
});

t.test('mode switches: plain mode takes over a durable data path, and durable mode takes over disk queues', async (t) => {
  t.test('durable → plain → plain', async (t) => {
    const dir = tempDir(t);
    let s = await serve(t, dir);
    await createChannel(s, 'sw', 'c');
    const conn = await open(t, s);
    await conn.mpublish('sw', range('s', 5));
    await kill9(s);
    t.ok(journalFiles(dir, 'sw').length > 0, 'the durable run left a journal');

    s = await serve(t, dir, []);
    t.equal((await channelStats(s, 'sw', 'c'))?.depth, 5, 'plain mode replays the journal');
    // take all 5 in flight without finishing them: a clean stop must keep them
    const got: string[] = [];
    const c = new Consumer({ topic: 'sw', channel: 'c', nsqdTcpAddresses: [`127.0.0.1:${s.tcp}`], maxInFlight: 10, autoFinish: false }, (m) => {
      got.push(m.body.toString());
    });
    c.events.error = () => {};
    t.teardown(() => c.stop(100));
    await c.start();
    await waitFor('the 5 replayed messages delivered', () => got.length === 5);
    t.same(got.sort(), range('s', 5), 'the replayed messages are delivered');
    t.equal(await terminate(s), 0);
    await c.stop(100);
    t.same(files(dir, /\.(journal|acks)\.\d{6}\.dat$/), [], 'after a clean plain-mode stop the journal and ack files are gone');

    s = await serve(t, dir, []);
    t.same(await drainNsqjs(t, s, 'sw', 'c', 5), range('s', 5), 'a third (plain) start still has them (consumed with nsqjs)');
  });

  t.test('plain with disk queues → durable → kill -9 → durable', async (t) => {
    const dir = tempDir(t);
    let s = await serve(t, dir, ['--mem-queue-size=0']);
    await createChannel(s, 'dq', 'c');
    const conn = await open(t, s);
    await conn.mpublish('dq', range('q', 5));
    conn.close();
    t.equal(await terminate(s), 0);
    t.ok(existsSync(`${dir}/dq:c.diskqueue.000000.dat`), 'plain mode left the messages in the channel’s disk queue');

    s = await serve(t, dir);
    t.equal((await channelStats(s, 'dq', 'c'))?.depth, 5, 'durable mode took over the disk queue');
    t.same(files(dir, /\.diskqueue\./), [], 'the disk queue files are removed');
    t.ok(journalFiles(dir, 'dq').length > 0, 'the messages are in the journal');
    await kill9(s);

    s = await serve(t, dir);
    t.same(await drain(t, s, 'dq', 'c', 5), range('q', 5), 'they survive a kill -9 after the move');
  });
});

t.test('a journal write that fails: E_PUB_FAILED and /ping NOK, while other topics are still served', { skip: existsSync('/dev/full') ? false : 'needs /dev/full (Linux)' }, async (t) => {
  const dir = tempDir(t);
  const nsqd = await startNsqd(t, { durable: true, dataPath: dir, maxBytesPerFile: 64 });
  const port = nsqd.tcpEndpoint.port;
  const first = await Connection.open({ host: '127.0.0.1', port });
  t.teardown(() => first.close());
  await first.publish('full', 'one message fills the 64-byte segment, so the journal rolls');
  t.same(journalFiles(dir, 'full'), ['full.journal.000000.dat']);
  // the next segment is a device that answers every write with ENOSPC
  symlinkSync('/dev/full', `${dir}/full.journal.000001.dat`);
  const err = await first.publish('full', 'this one cannot be stored').then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(err instanceof NsqError && err.code === 'E_PUB_FAILED', `the publisher gets E_PUB_FAILED (${String(err)})`);
  const ping = await fetch(`${httpBase(nsqd)}/ping`);
  t.equal(ping.status, 500, '/ping reports the failure');
  t.match(await ping.text(), /^NOK - /);

  const other = await Connection.open({ host: '127.0.0.1', port });
  t.teardown(() => other.close());
  await other.publish('fine', 'another topic, another journal');
  await other.mpublish('fine', ['still', 'served']);
  t.pass('another connection publishing to another topic is answered OK');
  const fine = journalFiles(dir, 'fine');
  t.ok(fine.length > 0 && fine.every((f) => lstatSync(`${dir}/${f}`).isFile()), `its journal is ordinary files (${fine.join(', ')})`);
  const httpPub = async (topic: string): Promise<number> => (await fetch(`${httpBase(nsqd)}/pub?topic=${topic}`, { method: 'POST', body: 'x' })).status;
  t.same([await httpPub('full'), await httpPub('fine')], [503, 200], 'HTTP /pub: 503 for the failing topic, 200 for the other');
  const again = await fetch(`${httpBase(nsqd)}/ping`);
  t.same([again.status, (await again.text()).slice(0, 5)], [500, 'NOK -'], '/ping stays NOK while the failed journal still refuses writes');
});

t.test('a publish whose journal commit fails is never delivered', { skip: existsSync('/dev/full') ? false : 'needs /dev/full (Linux)' }, async (t) => {
  const dir = tempDir(t);
  const nsqd = await startNsqd(t, { durable: true, dataPath: dir, maxBytesPerFile: 64 });
  nsqd.getTopic('full').getChannel('c');
  const port = nsqd.tcpEndpoint.port;
  const sub = await Connection.open({ host: '127.0.0.1', port });
  t.teardown(() => sub.close());
  const got: string[] = [];
  sub.events.message = (m) => {
    got.push(m.body.toString());
    m.finish();
  };
  await sub.subscribe('full', 'c');
  sub.ready(10);
  const pub = await Connection.open({ host: '127.0.0.1', port });
  t.teardown(() => pub.close());
  await pub.publish('full', 'kept: fills the 64-byte segment, so the journal rolls');
  symlinkSync('/dev/full', `${dir}/full.journal.000001.dat`);
  const err = await pub.mpublish('full', ['refused 1', 'refused 2']).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(err instanceof NsqError && err.code === 'E_MPUB_FAILED', `the publisher gets E_MPUB_FAILED (${String(err)})`);
  // the subscriber's own round trip: everything delivered before it has arrived
  await sub.publish('other', 'x');
  t.same(got, ['kept: fills the 64-byte segment, so the journal rolls'], 'the consumer got only the acknowledged message');
  t.equal(nsqd.getExistingTopic('full')!.getExistingChannel('c')!.depth, 0, 'and nothing of the refused batch waits in the channel');
});

t.test('group commit: 8 connections publishing at once all get OK, and every message is on disk after kill -9', async (t) => {
  const dir = tempDir(t);
  let s = await serve(t, dir);
  await createChannel(s, 'gc', 'c');
  const conns = await Promise.all(Array.from({ length: 8 }, () => open(t, s)));
  const sent: string[] = [];
  await Promise.all(
    conns.map((conn, k) => {
      const bodies = range(`c${k}-`, 25);
      sent.push(...bodies);
      return Promise.all(bodies.map((b) => conn.publish('gc', b)));
    }),
  );
  t.equal(sent.length, 200, 'all 200 PUBs were answered OK');
  await kill9(s);

  s = await serve(t, dir);
  t.same(await drain(t, s, 'gc', 'c', 200), sent.sort(), 'all 200 are back');
});

t.test('HTTP /pub and /mpub in durable mode answer 200 OK and the messages survive kill -9', async (t) => {
  const dir = tempDir(t);
  let s = await serve(t, dir);
  await createChannel(s, 'hp', 'c');
  t.same(await api(s, 'POST', '/pub?topic=hp', 'h0'), { status: 200, text: 'OK' });
  t.same(await api(s, 'POST', '/mpub?topic=hp', 'h1\nh2\nh3'), { status: 200, text: 'OK' });
  await kill9(s);

  s = await serve(t, dir);
  t.same(await drainNsqjs(t, s, 'hp', 'c', 4), range('h', 4), 'all four delivered after the restart (consumed with nsqjs)');
});

t.test('a paused topic keeps holding its waiting messages across kill -9; its channels keep what they had', async (t) => {
  const dir = tempDir(t);
  let s = await serve(t, dir);
  await createChannel(s, 'pz', 'c');
  const conn = await open(t, s);
  await conn.mpublish('pz', range('before', 2));
  await post(s, '/topic/pause?topic=pz');
  await conn.mpublish('pz', range('held', 3));
  const tp = await topicStats(s, 'pz');
  t.same([tp?.paused, tp?.depth, tp?.channels[0]?.depth], [true, 3, 2], 'before the crash: 3 held by the paused topic, 2 in the channel');
  await kill9(s);

  s = await serve(t, dir);
  const after = await topicStats(s, 'pz');
  t.same([after?.paused, after?.depth, after?.channels[0]?.depth], [true, 3, 2], 'after the restart: the same split, the topic still paused');
  t.same(await drain(t, s, 'pz', 'c', 2), range('before', 2), 'a consumer gets only what the channel had, not what the paused topic holds');
  await post(s, '/topic/unpause?topic=pz');
  t.same(await drain(t, s, 'pz', 'c', 3), range('held', 3), 'the held messages follow once the topic is unpaused');
});

t.test('deleted channels and topics stay deleted across kill -9, and their messages with them', async (t) => {
  const dir = tempDir(t);
  let s = await serve(t, dir);
  await createChannel(s, 'del', 'c');
  await createChannel(s, 'gone', 'c');
  const conn = await open(t, s);
  await conn.mpublish('del', range('old', 3));
  await conn.mpublish('gone', range('g', 3));
  await post(s, '/channel/delete?topic=del&channel=c');
  await post(s, '/topic/delete?topic=gone');
  await conn.mpublish('del', range('new', 2));
  const before = await topicStats(s, 'del');
  t.same([before?.depth, before?.channels.length], [2, 0], 'before the crash: the topic keeps what came after its only channel was deleted');
  await kill9(s);

  s = await serve(t, dir);
  t.equal(await topicStats(s, 'gone'), undefined, 'the deleted topic is not back');
  const after = await topicStats(s, 'del');
  t.same([after?.depth, after?.channels.length], [2, 0], 'the deleted channel is not back, nor its messages');
  t.same(await drain(t, s, 'del', 'c', 2), range('new', 2));
  t.same(files(dir, /^gone[.:]/), [], 'the deleted topic’s files are gone');
});

t.test('--durable-topic: matching topics are durable, the others plain (in memory, lost to kill -9)', async (t) => {
  const dir = tempDir(t);
  const args = ['--durable-topic=pay*', '--durable-topic=invoices'];
  const s1 = await serve(t, dir, args);
  t.match(s1.proc.stderr(), /durable topics \(pay\*, invoices\)/, 'the log says which topics are durable');
  for (const topic of ['payments', 'invoices', 'logs']) await createChannel(s1, topic, 'c');
  const conn = await open(t, s1);
  for (const topic of ['payments', 'invoices', 'logs']) await conn.mpublish(topic, ['1', '2', '3']);
  const names = readdirSync(dir);
  t.ok(names.includes('payments.journal.000000.dat') && names.includes('invoices.journal.000000.dat'), 'the durable topics have journals');
  t.notOk(names.some((n) => n.startsWith('logs.')), 'the plain topic has no files (its messages are in memory)');
  await kill9(s1);
  const s2 = await serve(t, dir, args);
  t.equal((await channelStats(s2, 'payments', 'c'))?.depth, 3, 'payments: all 3 back after kill -9');
  t.equal((await channelStats(s2, 'invoices', 'c'))?.depth, 3, 'invoices: all 3 back');
  t.equal((await channelStats(s2, 'logs', 'c'))?.depth, 0, 'logs (plain): lost, as with nsqd');
  await terminate(s2);
});

t.test('a durable backlog beyond --mem-queue-size spills to scratch files: memory stays bounded, nothing is lost to kill -9', async (t) => {
  const dir = tempDir(t);
  const args = ['--durable', '--mem-queue-size=20'];
  const s1 = await serve(t, dir, args);
  await createChannel(s1, 'deep', 'c');
  const conn = await open(t, s1);
  const bodies = Array.from({ length: 500 }, (_, i) => `m${i}`);
  for (let i = 0; i < bodies.length; i += 100) await conn.mpublish('deep', bodies.slice(i, i + 100));
  const before = await channelStats(s1, 'deep', 'c');
  t.equal(before?.depth, 500);
  t.equal(before?.backend_depth, 480, 'all but --mem-queue-size of them wait on disk');
  t.ok(readdirSync(dir).some((n) => n.startsWith('deep:c#spill.diskqueue.')), 'in the channel\'s spill files');
  await kill9(s1);
  const s2 = await serve(t, dir, args);
  const after = await channelStats(s2, 'deep', 'c');
  t.same([after?.depth, after?.backend_depth], [500, 480], 'rebuilt from the journal after kill -9, spilled again');
  const got: string[] = [];
  const c = new Consumer({ topic: 'deep', channel: 'c', nsqdTcpAddresses: [`127.0.0.1:${s2.tcp}`], maxInFlight: 50 }, (m) => {
    got.push(m.body.toString());
  });
  await c.start();
  t.teardown(() => c.stop());
  await waitFor('500 messages', () => got.length >= 500, 10_000);
  await c.stop();
  await delay(QUIET_MS);
  t.same(got, bodies, 'every message once, in publish order');
  t.equal(await terminate(s2), 0);
  t.notOk(readdirSync(dir).some((n) => n.includes('#spill')), 'a clean stop leaves no spill files');
});

// Dead letters over real sockets (docs/dead-letters.md): a message past max attempts moves to the
// dead-letter topic, body unchanged, after a REQ, a deferred REQ or a timeout; per-channel settings
// over POST /channel/config, kept in nsqd.dat; errors; a failing dead-letter publish keeps the message.
// Consumers are our client and nsqjs; a control without a limit shows the message keeps cycling.

import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import nsq from 'nsqjs';
import type { Message as NsqjsMessage } from 'nsqjs';
import { Consumer } from '../../src/client/consumer.js';
import type { Message } from '../../src/client/connection.js';
import { Producer } from '../../src/client/producer.js';
import type { NSQD } from '../../src/nsqd/nsqd.js';
import { startAuthd } from '../helpers/authd.js';
import { startNsqd, tempDir, type Teardown } from '../helpers/nsqd.js';
import { channelStats, httpBase, waitFor } from '../helpers/stats.js';

const TIMEOUT = 5000;

const tcp = (n: NSQD): string => `127.0.0.1:${n.tcpEndpoint.port}`;

async function post(n: NSQD, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${httpBase(n)}${path}`, { method: 'POST', signal: AbortSignal.timeout(TIMEOUT) });
  return { status: res.status, text: await res.text() };
}

async function ok(n: NSQD, path: string): Promise<string> {
  const r = await post(n, path);
  if (r.status !== 200) throw new Error(`POST ${path}: ${r.status} ${r.text}`);
  return r.text;
}

async function publish(t: Teardown, n: NSQD, topic: string, body: string): Promise<void> {
  const p = new Producer(tcp(n));
  t.teardown(() => p.close());
  await p.publish(topic, body);
  await p.close();
}

/** A consumer (our client) that requeues everything it gets, after `delayMs`; records each attempt it saw. */
async function requeuer(t: Teardown, n: NSQD, topic: string, channel: string, delayMs = 0): Promise<number[]> {
  const attempts: number[] = [];
  const c = new Consumer({ topic, channel, nsqdTcpAddresses: [tcp(n)], maxInFlight: 1, autoFinish: false, maxBackoff: 0 }, (m: Message) => {
    attempts.push(m.attempts);
    m.requeue(delayMs);
  });
  await c.start();
  t.teardown(() => c.stop());
  return attempts;
}

/** A consumer (our client) that finishes everything: the bodies and attempts it got. */
async function collector(t: Teardown, n: NSQD, topic: string, channel: string): Promise<{ body: string; attempts: number }[]> {
  const got: { body: string; attempts: number }[] = [];
  const c = new Consumer({ topic, channel, nsqdTcpAddresses: [tcp(n)], maxInFlight: 10 }, (m: Message) => {
    got.push({ body: m.body.toString(), attempts: m.attempts });
  });
  await c.start();
  t.teardown(() => c.stop());
  return got;
}

t.test('REQ past --max-attempts moves the message to <topic>.dead with the same body (our client)', async (t) => {
  const n = await startNsqd(t, { maxAttempts: 3 });
  await ok(n, '/topic/create?topic=jobs.dead');
  await ok(n, '/channel/create?topic=jobs.dead&channel=dlq');
  const dead = await collector(t, n, 'jobs.dead', 'dlq');
  const seen = await requeuer(t, n, 'jobs', 'work');
  await publish(t, n, 'jobs', 'poison \u00e9');
  await waitFor('the dead letter', () => dead.length === 1);
  t.same(dead, [{ body: 'poison \u00e9', attempts: 1 }], 'same body, a new message (attempt 1) in jobs.dead');
  t.same(seen, [1, 2, 3], 'delivered exactly 3 times, never a 4th');
  const c = await channelStats(n, 'jobs', 'work');
  t.same([c?.depth, c?.in_flight_count, c?.deferred_count, c?.dead_lettered_count, c?.max_attempts, c?.dead_letter_topic], [0, 0, 0, 1, 3, 'jobs.dead'], '/stats: gone from the channel, counted');
});

t.test('control: without max attempts the message keeps cycling and no dead-letter topic appears', async (t) => {
  const n = await startNsqd(t);
  const seen = await requeuer(t, n, 'jobs', 'work');
  await publish(t, n, 'jobs', 'poison');
  await waitFor('six deliveries', () => seen.length >= 6);
  t.same(seen.slice(0, 6), [1, 2, 3, 4, 5, 6]);
  t.equal(n.getExistingTopic('jobs.dead'), undefined, 'no jobs.dead');
  t.equal((await channelStats(n, 'jobs', 'work'))?.dead_lettered_count, 0);
});

t.test('a timeout past max attempts moves it too; the dead-letter topic is created (nsqjs)', async (t) => {
  const n = await startNsqd(t, { maxAttempts: 2, msgTimeout: 100, queueScanInterval: 20 });
  const seen: number[] = [];
  // nsqjs consumer that never answers: every delivery times out
  const reader = new nsq.Reader('slow', 'c', { nsqdTCPAddresses: [tcp(n)], maxInFlight: 1 });
  t.teardown(() => reader.close());
  reader.on('message', (m: NsqjsMessage) => void seen.push(m.attempts));
  reader.connect();
  await waitFor('subscribed', () => n.getExistingTopic('slow')?.getExistingChannel('c')?.clients.length === 1);
  await publish(t, n, 'slow', 'stuck');
  const topic = await waitFor('slow.dead', () => n.getExistingTopic('slow.dead'));
  t.equal(topic.depth, 1, 'waits in slow.dead (no channel yet)');
  t.same(seen, [1, 2], 'two timed-out deliveries, no third');
  // a consumer of the dead-letter topic gets the body
  const dlq = new nsq.Reader('slow.dead', 'c', { nsqdTCPAddresses: [tcp(n)], maxInFlight: 1 });
  t.teardown(() => dlq.close());
  const body = new Promise<string>((resolve) =>
    dlq.on('message', (m: NsqjsMessage) => {
      m.finish();
      resolve(m.body.toString());
    }),
  );
  dlq.connect();
  t.equal(await body, 'stuck');
  const c = await channelStats(n, 'slow', 'c');
  t.same([c?.timeout_count, c?.dead_lettered_count, c?.depth, c?.in_flight_count], [2, 1, 0, 0]);
});

t.test('a deferred REQ counts: the message moves when it comes due (nsqjs)', async (t) => {
  const n = await startNsqd(t, { maxAttempts: 2, queueScanInterval: 20 });
  await ok(n, '/topic/create?topic=later.dead');
  await ok(n, '/channel/create?topic=later.dead&channel=dlq');
  const dead = await collector(t, n, 'later.dead', 'dlq');
  const seen: number[] = [];
  const reader = new nsq.Reader('later', 'c', { nsqdTCPAddresses: [tcp(n)], maxInFlight: 1 });
  t.teardown(() => reader.close());
  reader.on('message', (m: NsqjsMessage) => {
    seen.push(m.attempts);
    m.requeue(100, false);
  });
  reader.connect();
  await waitFor('subscribed', () => n.getExistingTopic('later')?.getExistingChannel('c')?.clients.length === 1);
  await publish(t, n, 'later', 'deferred');
  await waitFor('the second delivery', () => seen.length === 2);
  const c = await waitFor('deferred after the 2nd REQ', async () => {
    const s = await channelStats(n, 'later', 'c');
    return s?.deferred_count === 1 ? s : undefined;
  });
  t.equal(c.dead_lettered_count, 0, 'not moved at the REQ: it waits out its delay');
  await waitFor('the dead letter', () => dead.length === 1);
  t.same(dead.map((d) => d.body), ['deferred']);
  t.same(seen, [1, 2]);
});

t.test('per channel: its own max_attempts beats the server default; another channel is unaffected', async (t) => {
  const n = await startNsqd(t, { maxAttempts: 5 });
  await ok(n, '/topic/create?topic=orders');
  await ok(n, '/channel/create?topic=orders&channel=strict');
  await ok(n, '/channel/create?topic=orders&channel=other');
  await ok(n, '/topic/create?topic=orders.failed');
  await ok(n, '/channel/create?topic=orders.failed&channel=dlq');
  const answer = JSON.parse(await ok(n, '/channel/config?topic=orders&channel=strict&max_attempts=1&dead_letter_topic=orders.failed')) as Record<string, unknown>;
  t.same(answer, { topic: 'orders', channel: 'strict', max_attempts: 1, dead_letter_topic: 'orders.failed', ordered: false }, 'answers the settings in force');
  const dead = await collector(t, n, 'orders.failed', 'dlq');
  const strict = await requeuer(t, n, 'orders', 'strict');
  const other = await requeuer(t, n, 'orders', 'other');
  await publish(t, n, 'orders', 'o1');
  await waitFor('the dead letter', () => dead.length === 1);
  t.same(dead.map((d) => d.body), ['o1'], 'to the channel\'s own dead-letter topic');
  t.same(strict, [1], 'one delivery on the strict channel');
  await waitFor('five deliveries on the other channel', () => other.length === 5);
  await waitFor('the other channel\'s copy moved too', () => n.getExistingTopic('orders.dead')?.depth === 1);
  t.same(other, [1, 2, 3, 4, 5], 'the other channel follows the server default');
  t.equal(dead.length, 1, 'not to the strict channel\'s topic');
  const s = await channelStats(n, 'orders', 'other');
  t.same([s?.max_attempts, s?.dead_letter_topic, s?.dead_lettered_count], [5, 'orders.dead', 1]);
});

t.test('per channel max_attempts=0 is unlimited even with a server default', async (t) => {
  const n = await startNsqd(t, { maxAttempts: 2 });
  await ok(n, '/topic/create?topic=keep');
  await ok(n, '/channel/create?topic=keep&channel=c');
  await ok(n, '/channel/config?topic=keep&channel=c&max_attempts=0');
  const seen = await requeuer(t, n, 'keep', 'c');
  await publish(t, n, 'keep', 'k');
  await waitFor('five deliveries', () => seen.length >= 5);
  t.same(seen.slice(0, 5), [1, 2, 3, 4, 5]);
  t.equal(n.getExistingTopic('keep.dead'), undefined);
});

t.test('a FINed message never moves; one that reached the limit and is FINed stays done', async (t) => {
  const n = await startNsqd(t, { maxAttempts: 1 });
  const got = await collector(t, n, 'fine', 'c');
  await publish(t, n, 'fine', 'f');
  await waitFor('delivered', () => got.length === 1);
  await waitFor('finished', async () => (await channelStats(n, 'fine', 'c'))?.in_flight_count === 0);
  t.equal(n.getExistingTopic('fine.dead'), undefined);
});

t.test('the channel settings survive a restart in nsqd.dat, as extra fields on the channel entry', async (t) => {
  const dir = tempDir(t);
  const a = await startNsqd(t, { dataPath: dir });
  await ok(a, '/topic/create?topic=keep');
  await ok(a, '/channel/create?topic=keep&channel=c');
  await ok(a, '/channel/create?topic=keep&channel=plain');
  await ok(a, '/channel/config?topic=keep&channel=c&max_attempts=7&dead_letter_topic=keep.graveyard');
  await a.stop();
  const file = JSON.parse(readFileSync(join(dir, 'nsqd.dat'), 'utf8')) as { topics: { name: string; channels: Record<string, unknown>[] }[] };
  const channels = file.topics.find((x) => x.name === 'keep')!.channels;
  t.same(
    channels.sort((x, y) => String(x['name']).localeCompare(String(y['name']))),
    [
      { name: 'c', paused: false, max_attempts: 7, dead_letter_topic: 'keep.graveyard' },
      { name: 'plain', paused: false },
    ],
    'only a channel with its own settings carries the fields',
  );
  const b = await startNsqd(t, { dataPath: dir });
  const s = await channelStats(b, 'keep', 'c');
  t.same([s?.max_attempts, s?.dead_letter_topic, s?.dead_lettered_count], [7, 'keep.graveyard', 0]);
  const p = await channelStats(b, 'keep', 'plain');
  t.same([p?.max_attempts, p?.dead_letter_topic], [0, 'keep.dead']);
});

t.test('POST /channel/config: bad values are 400, unknown topic or channel 404, nothing changed', async (t) => {
  const n = await startNsqd(t);
  const long = 'x'.repeat(60);
  await ok(n, '/topic/create?topic=t');
  await ok(n, '/channel/create?topic=t&channel=c');
  await ok(n, `/topic/create?topic=${long}`);
  await ok(n, `/channel/create?topic=${long}&channel=c`);
  const cases: [string, number, string][] = [
    ['/channel/config?topic=t&channel=c&max_attempts=-1', 400, 'INVALID_ARG_MAX_ATTEMPTS'],
    ['/channel/config?topic=t&channel=c&max_attempts=abc', 400, 'INVALID_ARG_MAX_ATTEMPTS'],
    ['/channel/config?topic=t&channel=c&max_attempts=65536', 400, 'INVALID_ARG_MAX_ATTEMPTS'],
    ['/channel/config?topic=t&channel=c&max_attempts=', 400, 'INVALID_ARG_MAX_ATTEMPTS'],
    ['/channel/config?topic=t&channel=c&max_attempts=2&dead_letter_topic=bad!name', 400, 'INVALID_ARG_DEAD_LETTER_TOPIC'],
    ['/channel/config?topic=t&channel=c&dead_letter_topic=t', 400, 'INVALID_ARG_DEAD_LETTER_TOPIC'],
    ['/channel/config?topic=t&channel=c&dead_letter_topic=d%23ephemeral', 400, 'INVALID_ARG_DEAD_LETTER_TOPIC'],
    [`/channel/config?topic=${long}&channel=c&max_attempts=2`, 400, 'INVALID_ARG_DEAD_LETTER_TOPIC'],
    ['/channel/config?channel=c&max_attempts=2', 400, 'MISSING_ARG_TOPIC'],
    ['/channel/config?topic=t&max_attempts=2', 400, 'MISSING_ARG_CHANNEL'],
    ['/channel/config?topic=nope&channel=c&max_attempts=2', 404, 'TOPIC_NOT_FOUND'],
    ['/channel/config?topic=t&channel=nope&max_attempts=2', 404, 'CHANNEL_NOT_FOUND'],
  ];
  for (const [path, status, message] of cases) {
    const r = await post(n, path);
    t.same([r.status, JSON.parse(r.text)], [status, { message }], path);
  }
  const s = await channelStats(n, 't', 'c');
  t.same([s?.max_attempts, s?.dead_letter_topic], [0, 't.dead'], 'unchanged');
  await ok(n, `/channel/config?topic=${long}&channel=c&max_attempts=0`);
  t.pass('max_attempts=0 on a long topic needs no dead-letter name');
  await ok(n, `/channel/config?topic=${long}&channel=c&max_attempts=2&dead_letter_topic=short.dead`);
  t.equal((await channelStats(n, long, 'c'))?.max_attempts, 2, 'a long topic works with a dead-letter name of its own');
});

t.test('a failing dead-letter publish keeps the message in the channel (delivered again), logged', async (t) => {
  const n = await startNsqd(t, { maxAttempts: 2 });
  const target = n.getTopic('jobs.dead');
  const errors: string[] = [];
  const logError = n.logger.error.bind(n.logger);
  n.logger.error = (msg: string) => {
    errors.push(msg);
    logError(msg);
  };
  t.teardown(() => {
    n.logger.error = logError;
  });
  // what a disk queue refusing writes does to a publish: it throws
  target.publish = () => {
    throw new Error('disk full');
  };
  const seen = await requeuer(t, n, 'jobs', 'work');
  await publish(t, n, 'jobs', 'kept');
  await waitFor('delivered past the limit', () => seen.length >= 4);
  t.same(seen.slice(0, 4), [1, 2, 3, 4], 'kept cycling while the publish fails');
  t.match(errors.join('\n'), /CHANNEL\(jobs:work\): failed to dead-letter message [0-9a-f]{16} to jobs\.dead - disk full/);
  t.equal((await channelStats(n, 'jobs', 'work'))?.dead_lettered_count, 0);
  // the disk recovers: the next requeue moves it
  delete (target as { publish?: unknown }).publish;
  await waitFor('moved once the publish works', () => target.depth === 1);
  t.equal((await channelStats(n, 'jobs', 'work'))?.dead_lettered_count, 1);
});

t.test('stats text, /metrics, statsd, and the durable checks', async (t) => {
  const udp = createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => udp.close());
  const packets: string[] = [];
  udp.on('message', (m) => packets.push(m.toString()));
  const n = await startNsqd(t, { maxAttempts: 1, statsdAddress: `127.0.0.1:${udp.address().port}`, statsdInterval: 100, broadcastAddress: '10.0.0.1' });
  const seen = await requeuer(t, n, 'm', 'c');
  await publish(t, n, 'm', 'x');
  await waitFor('moved', () => n.getExistingTopic('m.dead')?.depth === 1);
  t.same(seen, [1]);
  const text = await (await fetch(`${httpBase(n)}/stats`)).text();
  t.match(text, /\[c\s*\].* timeout: 0\s+dead: 1\s+msgs:/, 'text /stats shows the count');
  const metrics = await (await fetch(`${httpBase(n)}/metrics`)).text();
  t.match(metrics, /nsq_channel_dead_lettered_total\{topic="m",channel="c"\} 1/);
  const line = `nsq.10_0_0_1_${n.httpEndpoint.port}.topic.m.channel.c.dead_lettered_count:1|c`;
  await waitFor('the statsd counter', () => packets.join('\n').split('\n').includes(line));
  t.pass('statsd: a dead_lettered_count counter');

  const dd = await startNsqd(t, { durable: true, maxAttempts: 3 });
  t.equal(dd.options.maxAttempts, 3, '--max-attempts with --durable is accepted');
  await t.rejects(startNsqd(t, { durableTopics: ['pay'], maxAttempts: 3 }), /--max-attempts with --durable-topic=pay: the dead-letter topic pay\.dead of its topics is not durable/, 'a durable topic whose <topic>.dead would be plain: refused at start');
  await t.rejects(startNsqd(t, { maxAttempts: 65536 }), /--max-attempts=65536 must be between 0 and 65535/);
  const d = await startNsqd(t, { durableTopics: ['pay.*'] });
  await ok(d, '/topic/create?topic=pay.in');
  await ok(d, '/channel/create?topic=pay.in&channel=c');
  await ok(d, '/topic/create?topic=plain');
  await ok(d, '/channel/create?topic=plain&channel=c');
  const r = await post(d, '/channel/config?topic=pay.in&channel=c&max_attempts=3&dead_letter_topic=failed');
  t.same([r.status, JSON.parse(r.text)], [400, { message: 'DEAD_LETTER_NOT_DURABLE' }], 'a durable channel refuses a plain dead-letter topic');
  t.equal((await channelStats(d, 'pay.in', 'c'))?.max_attempts, 0, 'nothing changed');
  await ok(d, '/channel/config?topic=pay.in&channel=c&max_attempts=3');
  t.equal((await channelStats(d, 'pay.in', 'c'))?.dead_letter_topic, 'pay.in.dead', 'a durable <topic>.dead is accepted');
  await ok(d, '/channel/config?topic=plain&channel=c&max_attempts=3&dead_letter_topic=pay.dead');
  await ok(d, '/channel/config?topic=plain&channel=c&max_attempts=3');
});

t.test('--auth-http-api: /channel/config is authorized as the /channel/* routes, and a dead_letter_topic needs publish on it', async (t) => {
  const admin = { ttl: 3600, identity: 'a', authorizations: [{ topic: '^orders$', channels: ['.*'], permissions: ['publish', 'subscribe'] }] };
  const both = { ttl: 3600, identity: 'b', authorizations: [...admin.authorizations, { topic: '^failed$', channels: ['.*'], permissions: ['publish'] }] };
  const authd = await startAuthd(t, { admin, both, reader: { ttl: 3600, identity: 'r', authorizations: [{ topic: '^orders$', channels: ['.*'], permissions: ['subscribe'] }] } });
  const n = await startNsqd(t, { authHttpAddresses: [authd.address], authHttpApi: true });
  n.getTopic('orders').getChannel('c');
  const call = async (path: string, secret?: string): Promise<[number, string]> => {
    const res = await fetch(`${httpBase(n)}${path}`, { method: 'POST', headers: secret === undefined ? {} : { authorization: `Bearer ${secret}` } });
    return [res.status, await res.text()];
  };
  t.same(await call('/channel/config?topic=orders&channel=c&max_attempts=2'), [401, '{"message":"AUTH_REQUIRED"}'], 'no bearer');
  t.same(await call('/channel/config?topic=orders&channel=c&max_attempts=2', 'reader'), [403, '{"message":"UNAUTHORIZED"}'], 'subscribe only');
  t.same((await call('/channel/config?topic=orders&channel=c&max_attempts=2', 'admin'))[0], 200, 'both permissions on the channel');
  t.same(await call('/channel/config?topic=orders&channel=c&dead_letter_topic=failed', 'admin'), [403, '{"message":"UNAUTHORIZED"}'], 'no publish on the dead-letter topic');
  t.same((await call('/channel/config?topic=orders&channel=c&dead_letter_topic=failed', 'both'))[0], 200, 'publish on it granted');
  const s = await channelStats(n, 'orders', 'c');
  t.same([s?.max_attempts, s?.dead_letter_topic], [2, 'failed']);
});

t.test('a setting kept from a plain-mode run applies on a durable restart: the message moves', async (t) => {
  const dir = tempDir(t);
  const a = await startNsqd(t, { dataPath: dir });
  await ok(a, '/topic/create?topic=d');
  await ok(a, '/channel/create?topic=d&channel=c');
  await ok(a, '/channel/config?topic=d&channel=c&max_attempts=1');
  await a.stop();
  const b = await startNsqd(t, { dataPath: dir, durable: true });
  t.equal((await channelStats(b, 'd', 'c'))?.max_attempts, 1, 'the setting is read');
  const seen = await requeuer(t, b, 'd', 'c');
  await publish(t, b, 'd', 'x');
  await waitFor('moved', () => b.getExistingTopic('d.dead')?.depth === 1);
  t.same(seen, [1]);
});

t.test('a consumer that disconnects holding a message at the limit: the message moves (nsqjs)', async (t) => {
  const n = await startNsqd(t, { maxAttempts: 1 });
  const reader = new nsq.Reader('gone', 'c', { nsqdTCPAddresses: [tcp(n)], maxInFlight: 1 });
  t.teardown(() => reader.close());
  const got = new Promise<number>((resolve) => reader.on('message', (m: NsqjsMessage) => resolve(m.attempts)));
  reader.connect();
  await waitFor('subscribed', () => n.getExistingTopic('gone')?.getExistingChannel('c')?.clients.length === 1);
  await publish(t, n, 'gone', 'held');
  t.equal(await got, 1);
  reader.close();
  await waitFor('moved', () => n.getExistingTopic('gone.dead')?.depth === 1);
  const s = await channelStats(n, 'gone', 'c');
  t.same([s?.depth, s?.requeue_count, s?.dead_lettered_count], [0, 1, 1]);
});

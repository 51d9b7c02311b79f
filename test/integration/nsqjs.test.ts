// Our nsqd against nsqjs, an independent client, so our server and our client cannot agree on a
// mistake: publishing over TCP and HTTP, requeue, timeouts, TOUCH, DPUB, load sharing, ephemeral
// channels, pause and the /stats JSON.

import { once } from 'node:events';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import t from 'tap';
import nsq from 'nsqjs';
import type { ConnectionOptions, Message, Reader, ReaderOptions, Writer } from 'nsqjs';
import type { NSQD } from '../../src/nsqd/nsqd.js';
import { startNsqd } from '../helpers/nsqd.js';
import { getStats, type ChannelJson, type StatsJson, type TopicJson } from '../helpers/stats.js';

const HOST = '127.0.0.1';
const NSQJS_USER_AGENT = `nsqjs/${(createRequire(import.meta.url)('nsqjs/package.json') as { version: string }).version}`;
/** how long any single awaited event may take before the test fails instead of hanging */
const EVENT_TIMEOUT = 5000;

interface Teardown {
  teardown(fn: () => unknown): void;
}

// ---- helpers ------------------------------------------------------------------------------------

/** Rejects when `p` has not settled within `ms`, so a missing event fails the test instead of hanging it. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms}ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `probe` (for state only visible through HTTP) until it gives a value; bounded. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 3000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await delay(20);
  }
}

/** Every message a Reader receives, with its arrival time, and a way to await the n-th. */
class Inbox {
  readonly messages: Message[] = [];
  /** performance.now() at each arrival */
  readonly times: number[] = [];
  #waiters: { n: number; resolve: () => void }[] = [];

  constructor(reader: Reader, handler?: (msg: Message) => void) {
    reader.on('message', (msg: Message) => {
      this.messages.push(msg);
      this.times.push(performance.now());
      handler?.(msg);
      this.#waiters = this.#waiters.filter((w) => {
        if (this.messages.length < w.n) return true;
        w.resolve();
        return false;
      });
    });
  }

  get length(): number {
    return this.messages.length;
  }

  bodies(): string[] {
    return this.messages.map((m) => m.body.toString('hex'));
  }

  /** Resolves with the messages once at least `n` have arrived. */
  async waitFor(n: number, what = `${n} messages`, timeoutMs = EVENT_TIMEOUT): Promise<Message[]> {
    if (this.messages.length < n) {
      await within(new Promise<void>((resolve) => this.#waiters.push({ n, resolve })), timeoutMs, `${what} (have ${this.messages.length})`);
    }
    return this.messages;
  }
}

interface Consumer {
  reader: Reader;
  inbox: Inbox;
  errors: Error[];
}

/** A connected and subscribed nsqjs Reader; closed when the test ends. */
async function openReader(t: Teardown, nsqd: NSQD, topic: string, channel: string, options: ReaderOptions = {}, handler?: (msg: Message) => void): Promise<Consumer> {
  const reader = new nsq.Reader(topic, channel, { nsqdTCPAddresses: [`${HOST}:${nsqd.tcpEndpoint.port}`], ...options });
  const errors: Error[] = [];
  reader.on('error', (err: Error) => errors.push(err));
  const inbox = new Inbox(reader, handler);
  const ready = once(reader, 'ready');
  reader.connect();
  t.teardown(() => reader.close());
  await within(ready, EVENT_TIMEOUT, `reader ${topic}/${channel} to subscribe`);
  return { reader, inbox, errors };
}

/** A connected nsqjs Writer; closed when the test ends. */
async function openWriter(t: Teardown, nsqd: NSQD, options: ConnectionOptions = {}): Promise<{ writer: Writer; errors: Error[] }> {
  const writer = new nsq.Writer(HOST, nsqd.tcpEndpoint.port, options);
  const errors: Error[] = [];
  writer.on('error', (err: Error) => errors.push(err));
  const ready = once(writer, 'ready');
  writer.connect();
  t.teardown(() => writer.close());
  await within(ready, EVENT_TIMEOUT, 'writer to connect');
  return { writer, errors };
}

/** PUB (one body) or MPUB (an array), resolved on the server's OK. */
function publish(writer: Writer, topic: string, msgs: string | Buffer | (string | Buffer)[]): Promise<void> {
  const sent = new Promise<void>((resolve, reject) => writer.publish(topic, msgs, (err) => (err ? reject(err) : resolve())));
  return within(sent, EVENT_TIMEOUT, `publish to ${topic}`);
}

function deferPublish(writer: Writer, topic: string, msg: string, ms: number): Promise<void> {
  const sent = new Promise<void>((resolve, reject) => writer.deferPublish(topic, [msg], ms, (err) => (err ? reject(err) : resolve())));
  return within(sent, EVENT_TIMEOUT, `deferred publish to ${topic}`);
}

/** POST to nsqd's HTTP API; anything but 200 fails. */
async function post(nsqd: NSQD, path: string, body?: string | Buffer): Promise<string> {
  const res = await fetch(`http://${HOST}:${nsqd.httpEndpoint.port}${path}`, { method: 'POST', body, signal: AbortSignal.timeout(EVENT_TIMEOUT) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST ${path}: ${res.status} ${text}`);
  return text;
}

function findTopic(s: StatsJson, topic: string): TopicJson | undefined {
  return s.topics?.find((x) => x.topic_name === topic);
}

function findChannel(s: StatsJson, topic: string, channel: string): ChannelJson | undefined {
  return findTopic(s, topic)?.channels.find((c) => c.channel_name === channel);
}

/** Polls /stats until `ready` holds for the channel; returns that snapshot's channel. */
function channelUntil(nsqd: NSQD, topic: string, channel: string, what: string, ready: (c: ChannelJson) => boolean): Promise<ChannelJson> {
  return until(what, async () => {
    const c = findChannel(await getStats(nsqd), topic, channel);
    return c !== undefined && ready(c) ? c : undefined;
  });
}

function sumClients(c: ChannelJson, key: 'message_count' | 'finish_count' | 'requeue_count'): number {
  return (c.clients ?? []).reduce((n, cl) => n + cl[key], 0);
}

/** The body of a binary /mpub: [count]([size][bytes])*. */
function binaryBatch(bodies: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  const count = Buffer.alloc(4);
  count.writeInt32BE(bodies.length);
  parts.push(count);
  for (const b of bodies) {
    const size = Buffer.alloc(4);
    size.writeInt32BE(b.length);
    parts.push(size, b);
  }
  return Buffer.concat(parts);
}

const hex = (bodies: (string | Buffer)[]): string[] => bodies.map((b) => Buffer.from(b).toString('hex')).sort();
const range = (n: number, prefix: string): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

// ---- tests --------------------------------------------------------------------------------------

t.test('PUB and MPUB over TCP, /pub and /mpub (text and binary) over HTTP all reach a Reader exactly once', async (t) => {
  const nsqd = await startNsqd(t);
  const topic = 'publish_all';
  const consumer = await openReader(t, nsqd, topic, 'ch', { maxInFlight: 100 }, (m) => m.finish());
  const { writer, errors: writerErrors } = await openWriter(t, nsqd);

  const binaryBody = Buffer.from([0x00, 0x0a, 0xff, 0x0d, 0x0a, 0x80, 0x00]);
  await publish(writer, topic, 'tcp-pub');
  await publish(writer, topic, binaryBody);
  await publish(writer, topic, ['tcp-mpub-1', 'tcp-mpub-2', Buffer.from('tcp-mpub-3\nsecond line')]);
  t.equal(await post(nsqd, `/pub?topic=${topic}`, 'http-pub'), 'OK');
  // text mode: one message a line, empty lines skipped, \r kept
  t.equal(await post(nsqd, `/mpub?topic=${topic}`, 'http-mpub-1\nhttp-mpub-2\r\n\nhttp-mpub-3\n'), 'OK');
  const binaryBodies = [Buffer.from('http-bin-1\nnot split'), Buffer.from([0xde, 0xad, 0x00, 0x0a])];
  t.equal(await post(nsqd, `/mpub?topic=${topic}&binary=true`, binaryBatch(binaryBodies)), 'OK');

  const expected = ['tcp-pub', binaryBody, 'tcp-mpub-1', 'tcp-mpub-2', 'tcp-mpub-3\nsecond line', 'http-pub', 'http-mpub-1', 'http-mpub-2\r', 'http-mpub-3', ...binaryBodies];
  await consumer.inbox.waitFor(expected.length, 'every published message');
  const ch = await channelUntil(nsqd, topic, 'ch', 'all messages finished', (c) => sumClients(c, 'finish_count') === expected.length);

  t.same(consumer.inbox.bodies().sort(), hex(expected), 'bodies arrive byte for byte');
  t.equal(new Set(consumer.inbox.messages.map((m) => m.id)).size, expected.length, 'every message has its own ID');
  t.ok(
    consumer.inbox.messages.every((m) => m.attempts === 1),
    'first deliveries carry attempts=1',
  );
  // the server's count of deliveries shows there were no duplicates, not even late ones
  t.equal(ch.message_count, expected.length, 'channel message_count');
  t.equal(sumClients(ch, 'message_count'), expected.length, 'deliveries to the client');
  t.equal(ch.depth, 0);
  t.equal(ch.in_flight_count, 0);
  const s = await getStats(nsqd);
  t.equal(findTopic(s, topic)?.message_count, expected.length, 'topic message_count');
  t.same(
    s.producers?.map((p) => p.pub_counts),
    [[{ topic, count: 5 }]],
    'the Writer counts its PUB, PUB and 3-message MPUB; HTTP publishes count for no client',
  );
  t.same(consumer.errors, [], 'the Reader saw no errors');
  t.same(writerErrors, [], 'the Writer saw no errors');
});

t.test('a message requeued with a delay comes back no earlier than the delay, with attempts=2', async (t) => {
  const nsqd = await startNsqd(t);
  const topic = 'requeue_delay';
  const DELAY = 500;
  const consumer = await openReader(t, nsqd, topic, 'ch', { maxInFlight: 1 }, (m) => {
    // no backoff: nsqjs would otherwise pause the Reader and blur the timing
    if (m.attempts === 1) m.requeue(DELAY, false);
    else m.finish();
  });
  await post(nsqd, `/pub?topic=${topic}`, 'come back later');

  await consumer.inbox.waitFor(1, 'the first delivery');
  const waiting = await getStats(nsqd);
  if (consumer.inbox.length === 1) {
    // only meaningful while the delay runs (a stalled machine could have passed it already)
    const c = findChannel(waiting, topic, 'ch');
    t.equal(c?.deferred_count, 1, 'deferred while waiting');
    t.equal(c?.in_flight_count, 0, 'not in flight while deferred');
    t.equal(c?.depth, 0, 'not queued while deferred');
  }

  const [first, second] = await consumer.inbox.waitFor(2, 'the redelivery');
  const gap = consumer.inbox.times[1]! - consumer.inbox.times[0]!;
  t.ok(gap >= DELAY, `redelivered after ${gap.toFixed(0)}ms, no earlier than ${DELAY}ms`);
  t.ok(gap < DELAY + 1500, `redelivered after ${gap.toFixed(0)}ms, not much later than ${DELAY}ms`);
  t.equal(first!.attempts, 1);
  t.equal(second!.attempts, 2, 'the redelivery counts as attempt 2');
  t.equal(second!.id, first!.id, 'same message ID');
  t.equal(second!.timestamp, first!.timestamp, 'same publish timestamp');
  t.equal(second!.body.toString(), 'come back later');

  const c = await channelUntil(nsqd, topic, 'ch', 'the redelivery finished', (ch) => sumClients(ch, 'finish_count') === 1);
  t.equal(c.requeue_count, 1, 'channel requeue_count');
  t.equal(sumClients(c, 'requeue_count'), 1, 'client requeue_count');
  t.equal(c.deferred_count, 0);
  t.equal(c.timeout_count, 0);
  t.equal(c.message_count, 1, 'a requeue is not a new message');
  t.same(consumer.errors, []);
});

t.test('an unfinished message times out (--msg-timeout) and is redelivered with attempts=2', async (t) => {
  const MSG_TIMEOUT = 1000;
  const nsqd = await startNsqd(t, { msgTimeout: MSG_TIMEOUT });
  const topic = 'msg_timeout';
  // the first delivery is left unanswered
  const consumer = await openReader(t, nsqd, topic, 'ch', { maxInFlight: 1 }, (m) => {
    if (m.attempts >= 2) m.finish();
  });
  await post(nsqd, `/pub?topic=${topic}`, 'slow worker');

  const [first, second] = await consumer.inbox.waitFor(2, 'the redelivery after the timeout');
  const gap = consumer.inbox.times[1]! - consumer.inbox.times[0]!;
  // the deadline starts when the server sends, a moment before nsqjs hands the message over
  t.ok(gap >= MSG_TIMEOUT - 50, `redelivered after ${gap.toFixed(0)}ms, not before the ${MSG_TIMEOUT}ms timeout`);
  t.ok(gap < MSG_TIMEOUT + 1500, `redelivered after ${gap.toFixed(0)}ms, soon after the timeout`);
  t.equal(first!.attempts, 1);
  t.equal(second!.attempts, 2);
  t.equal(second!.id, first!.id);
  t.equal(second!.body.toString(), 'slow worker');

  const c = await channelUntil(nsqd, topic, 'ch', 'the redelivery finished', (ch) => sumClients(ch, 'finish_count') === 1);
  t.equal(c.timeout_count, 1, 'timeout_count');
  t.equal(c.requeue_count, 0, 'a timeout is not a REQ');
  t.equal(c.in_flight_count, 0);
  t.equal(c.depth, 0);
  t.equal(sumClients(c, 'message_count'), 2, 'two deliveries');
  t.equal(consumer.inbox.length, 2, 'no third delivery');
  t.same(consumer.errors, []);
});

t.test('TOUCH keeps a message in flight past its IDENTIFY msg_timeout; an untouched one times out', async (t) => {
  // the server default is 60s: only nsqjs's IDENTIFY msg_timeout makes the timeout 1s here
  const nsqd = await startNsqd(t);
  const MSG_TIMEOUT = 1000;
  const HOLD = 2500;
  const topic = 'touch';
  let touches = 0;
  let touching: NodeJS.Timeout | undefined;
  t.teardown(() => clearInterval(touching));
  const consumer = await openReader(t, nsqd, topic, 'ch', { maxInFlight: 2, messageTimeout: MSG_TIMEOUT }, (m) => {
    const body = m.body.toString();
    if (body === 'touched' && m.attempts === 1) {
      touching = setInterval(() => {
        m.touch();
        touches++;
      }, MSG_TIMEOUT / 4);
    } else if (body === 'untouched' && m.attempts >= 2) {
      m.finish();
    }
    // anything else (the first 'untouched', or a 'touched' redelivered because TOUCH failed) stays in flight
  });
  await post(nsqd, `/mpub?topic=${topic}`, 'touched\nuntouched');

  await consumer.inbox.waitFor(2, 'both first deliveries');
  const start = consumer.inbox.times[0]!;
  // the control: without TOUCH the timeout is in force
  await consumer.inbox.waitFor(3, 'the untouched message to time out and come back');
  const redelivered = consumer.inbox.messages[2]!;
  t.equal(redelivered.body.toString(), 'untouched', 'only the untouched message is redelivered');
  t.equal(redelivered.attempts, 2);

  // keep touching well past two timeouts; the touched message must not come back
  const left = start + HOLD - performance.now();
  if (left > 0) await delay(left);
  clearInterval(touching);
  t.ok(touches >= 5, `touched ${touches} times`);
  t.same(
    consumer.inbox.messages.map((m) => `${m.body.toString()}#${m.attempts}`).sort(),
    ['touched#1', 'untouched#1', 'untouched#2'],
    `no redelivery of the touched message in ${HOLD}ms with a ${MSG_TIMEOUT}ms timeout`,
  );

  const touched = consumer.inbox.messages.find((m) => m.body.toString() === 'touched')!;
  touched.finish();
  const c = await channelUntil(nsqd, topic, 'ch', 'the touched message finished', (ch) => sumClients(ch, 'finish_count') === 2);
  t.equal(c.timeout_count, 1, 'only the untouched message timed out');
  t.equal(c.in_flight_count, 0);
  t.equal(c.depth, 0);
  t.equal(sumClients(c, 'message_count'), 3);
  t.same(consumer.errors, [], 'no E_TOUCH_FAILED or E_FIN_FAILED');
});

t.test('deferred publishes (DPUB and /pub?defer=) arrive no earlier than the deferral', async (t) => {
  const nsqd = await startNsqd(t);
  const topic = 'deferred';
  const DEFER = 700;
  const consumer = await openReader(t, nsqd, topic, 'ch', { maxInFlight: 10 }, (m) => m.finish());
  const { writer, errors: writerErrors } = await openWriter(t, nsqd);

  const sentAt = performance.now();
  await deferPublish(writer, topic, 'deferred-tcp', DEFER);
  t.equal(await post(nsqd, `/pub?topic=${topic}&defer=${DEFER}`, 'deferred-http'), 'OK');
  const waiting = await getStats(nsqd);
  t.ok(performance.now() - sentAt < DEFER, 'the snapshot was taken while the deferral runs');
  const c = findChannel(waiting, topic, 'ch');
  t.equal(c?.deferred_count, 2, 'both messages deferred');
  t.equal(c?.depth, 0, 'nothing queued yet');
  t.equal(c?.in_flight_count, 0, 'nothing in flight yet');
  t.equal(c?.message_count, 2, 'deferred messages count as channel messages');
  t.equal(findTopic(waiting, topic)?.message_count, 2);
  t.equal(consumer.inbox.length, 0, 'nothing delivered yet');

  await consumer.inbox.waitFor(2, 'the deferred messages');
  for (let i = 0; i < 2; i++) {
    const after = consumer.inbox.times[i]! - sentAt;
    t.ok(after >= DEFER, `${consumer.inbox.messages[i]!.body.toString()} arrived after ${after.toFixed(0)}ms, no earlier than ${DEFER}ms`);
    t.ok(after < DEFER + 1500, `${consumer.inbox.messages[i]!.body.toString()} arrived after ${after.toFixed(0)}ms, soon after the deferral`);
  }
  t.same(consumer.inbox.bodies().sort(), hex(['deferred-tcp', 'deferred-http']));
  t.ok(
    consumer.inbox.messages.every((m) => m.attempts === 1),
    'a deferral is not an attempt',
  );

  const done = await channelUntil(nsqd, topic, 'ch', 'deferred messages finished', (ch) => sumClients(ch, 'finish_count') === 2);
  t.equal(done.deferred_count, 0);
  t.equal(done.requeue_count, 0);
  t.same(consumer.errors, []);
  t.same(writerErrors, []);
});

t.test('two Readers on one channel share its messages: both get some, none twice', async (t) => {
  const nsqd = await startNsqd(t);
  const topic = 'shared';
  const N = 200;
  // finishing on the next turn keeps both consumers' RDY slots busy, so the server must spread
  const finishSoon = (m: Message): void => void setImmediate(() => m.finish());
  const a = await openReader(t, nsqd, topic, 'workers', { maxInFlight: 2 }, finishSoon);
  const b = await openReader(t, nsqd, topic, 'workers', { maxInFlight: 2 }, finishSoon);
  const expected = range(N, 'job');
  await post(nsqd, `/mpub?topic=${topic}`, expected.join('\n'));

  const c = await channelUntil(nsqd, topic, 'workers', `${N} messages finished`, (ch) => sumClients(ch, 'finish_count') >= N);
  const all = [...a.inbox.messages, ...b.inbox.messages];
  t.ok(a.inbox.length > 0, `first Reader got ${a.inbox.length}`);
  t.ok(b.inbox.length > 0, `second Reader got ${b.inbox.length}`);
  t.equal(all.length, N, 'together exactly every message');
  t.equal(new Set(all.map((m) => m.id)).size, N, 'no message delivered twice');
  t.same(hex(all.map((m) => m.body)), hex(expected), 'the bodies are the published ones');
  t.equal(c.client_count, 2);
  t.equal(c.message_count, N);
  t.equal(sumClients(c, 'message_count'), N, 'the server delivered each message once');
  t.equal(sumClients(c, 'finish_count'), N);
  t.same([...a.errors, ...b.errors], []);
});

t.test('two channels of one topic each get every message', async (t) => {
  const nsqd = await startNsqd(t);
  const topic = 'fan_out';
  const N = 20;
  const one = await openReader(t, nsqd, topic, 'one', { maxInFlight: 50 }, (m) => m.finish());
  const two = await openReader(t, nsqd, topic, 'two', { maxInFlight: 50 }, (m) => m.finish());
  const { writer } = await openWriter(t, nsqd);
  const expected = range(N, 'fan');
  await publish(writer, topic, expected);

  await one.inbox.waitFor(N, 'every message on channel one');
  await two.inbox.waitFor(N, 'every message on channel two');
  t.same(one.inbox.bodies().sort(), hex(expected), 'channel one got every body');
  t.same(two.inbox.bodies().sort(), hex(expected), 'channel two got every body');
  t.same(one.inbox.messages.map((m) => m.id).sort(), two.inbox.messages.map((m) => m.id).sort(), 'the channel copies share message IDs');

  const c1 = await channelUntil(nsqd, topic, 'one', 'channel one finished', (ch) => sumClients(ch, 'finish_count') === N);
  const c2 = await channelUntil(nsqd, topic, 'two', 'channel two finished', (ch) => sumClients(ch, 'finish_count') === N);
  t.equal(c1.message_count, N);
  t.equal(c2.message_count, N);
  t.equal(sumClients(c1, 'message_count'), N, 'no extra deliveries on channel one');
  t.equal(sumClients(c2, 'message_count'), N, 'no extra deliveries on channel two');
  t.equal(findTopic(await getStats(nsqd), topic)?.message_count, N, 'the topic counts each message once');
  t.same([...one.errors, ...two.errors], []);
});

t.test('an ephemeral channel disappears when its last Reader closes; a durable one stays', async (t) => {
  const nsqd = await startNsqd(t);
  const topic = 'ephemeral_test';
  const EPH = 'chan#ephemeral';
  const eph = await openReader(t, nsqd, topic, EPH, { maxInFlight: 5 }, (m) => m.finish());
  const durable = await openReader(t, nsqd, topic, 'durable', { maxInFlight: 5 }, (m) => m.finish());
  await post(nsqd, `/pub?topic=${topic}`, 'hello');
  await eph.inbox.waitFor(1, 'a message on the ephemeral channel');
  t.equal(eph.inbox.messages[0]!.body.toString(), 'hello');

  const before = await getStats(nsqd);
  t.equal(findChannel(before, topic, EPH)?.client_count, 1, 'the ephemeral channel is listed with its consumer');

  durable.reader.close();
  await channelUntil(nsqd, topic, 'durable', 'the durable channel to lose its consumer', (c) => c.client_count === 0);
  eph.reader.close();
  const after = await until('the ephemeral channel to be removed', async () => {
    const s = await getStats(nsqd);
    return findChannel(s, topic, EPH) === undefined ? s : undefined;
  });
  t.ok(findChannel(after, topic, 'durable'), 'the durable channel without consumers stays');
  t.ok(findTopic(after, topic), 'the (durable) topic stays');
  t.same([...eph.errors, ...durable.errors], []);
});

t.test('/channel/pause and /topic/pause hold messages back; unpause delivers them all', async (t) => {
  const nsqd = await startNsqd(t);
  const topic = 'pausing';
  const QUIET = 300;
  const consumer = await openReader(t, nsqd, topic, 'ch', { maxInFlight: 10 }, (m) => m.finish());
  const q = `topic=${topic}&channel=ch`;

  // channel pause: messages pile up in the channel
  await post(nsqd, `/channel/pause?${q}`);
  await post(nsqd, `/mpub?topic=${topic}`, 'cp-1\ncp-2\ncp-3');
  const paused = await channelUntil(nsqd, topic, 'ch', 'channel depth 3 (or a delivery)', (c) => c.depth === 3 || consumer.inbox.length > 0);
  t.equal(paused.depth, 3, 'the paused channel keeps the messages');
  t.equal(paused.paused, true);
  await delay(QUIET);
  t.equal(consumer.inbox.length, 0, `nothing delivered in ${QUIET}ms while the channel is paused`);
  await post(nsqd, `/channel/unpause?${q}`);
  await consumer.inbox.waitFor(3, 'the held messages after /channel/unpause');
  t.same(consumer.inbox.bodies().sort(), hex(['cp-1', 'cp-2', 'cp-3']));
  t.equal(findChannel(await getStats(nsqd), topic, 'ch')?.paused, false);

  // topic pause: messages pile up in the topic, the channel gets nothing
  await post(nsqd, `/topic/pause?topic=${topic}`);
  await post(nsqd, `/mpub?topic=${topic}`, 'tp-1\ntp-2\ntp-3');
  const topicPaused = await until('topic depth 3 (or a delivery)', async () => {
    const x = findTopic(await getStats(nsqd), topic);
    return x !== undefined && (x.depth === 3 || consumer.inbox.length > 3) ? x : undefined;
  });
  t.equal(topicPaused.depth, 3, 'the paused topic keeps the messages');
  t.equal(topicPaused.paused, true);
  t.equal(topicPaused.channels[0]?.depth, 0, 'the channel gets nothing from a paused topic');
  await delay(QUIET);
  t.equal(consumer.inbox.length, 3, `nothing delivered in ${QUIET}ms while the topic is paused`);
  await post(nsqd, `/topic/unpause?topic=${topic}`);
  await consumer.inbox.waitFor(6, 'the held messages after /topic/unpause');
  t.same(consumer.inbox.bodies().sort(), hex(['cp-1', 'cp-2', 'cp-3', 'tp-1', 'tp-2', 'tp-3']));
  const s = await getStats(nsqd);
  t.equal(findTopic(s, topic)?.paused, false);
  t.equal(findTopic(s, topic)?.depth, 0);
  t.same(consumer.errors, []);
});

t.test('/stats?format=json reports a known sequence exactly', async (t) => {
  const nsqd = await startNsqd(t);
  const topic = 'stats_topic';
  // m1 is requeued for a minute, m2 is held in flight, the rest are finished
  const reader = await openReader(t, nsqd, topic, 'c1', { maxInFlight: 10, clientId: 'stats-reader' }, (m) => {
    const body = m.body.toString();
    if (body === 'm1') m.requeue(60_000, false);
    else if (body !== 'm2') m.finish();
  });
  await post(nsqd, `/channel/create?topic=${topic}&channel=c2`);
  const { writer } = await openWriter(t, nsqd, { clientId: 'stats-writer' });
  await publish(writer, topic, 'm1');
  await publish(writer, topic, 'm2');
  await publish(writer, topic, ['m3', 'm4', 'm5']);
  await deferPublish(writer, topic, 'd1', 60_000);
  await post(nsqd, `/pub?topic=${topic}`, 'h1');

  await reader.inbox.waitFor(6, 'the six immediate messages');
  await channelUntil(nsqd, topic, 'c1', 'the reader to answer', (c) => sumClients(c, 'finish_count') === 4 && sumClients(c, 'requeue_count') === 1);
  const s = await getStats(nsqd);

  t.equal(s.version, '1.3.0');
  t.equal(s.health, 'OK');
  t.same(
    s.topics?.map((x) => x.topic_name),
    [topic],
  );
  const tp = findTopic(s, topic)!;
  t.equal(tp.message_count, 7, 'topic message_count: 2 PUB + 3 MPUB + 1 DPUB + 1 HTTP');
  t.equal(tp.message_bytes, 14, 'topic message_bytes');
  t.equal(tp.depth, 0, 'topic depth (its channels took everything)');
  t.equal(tp.paused, false);
  t.same(
    tp.channels.map((c) => c.channel_name),
    ['c1', 'c2'],
    'channels sorted by name',
  );

  const c1 = tp.channels[0]!;
  t.hasStrict(c1, { depth: 0, in_flight_count: 1, deferred_count: 2, requeue_count: 1, timeout_count: 0, message_count: 7, client_count: 1, paused: false }, 'c1 counters');
  t.equal(c1.clients?.length, 1);
  const rc = c1.clients![0]!;
  t.hasStrict(
    rc,
    {
      client_id: 'stats-reader',
      hostname: hostname(),
      version: 'V2',
      user_agent: NSQJS_USER_AGENT,
      state: 3,
      ready_count: 10,
      in_flight_count: 1,
      message_count: 6,
      finish_count: 4,
      requeue_count: 1,
    },
    'the Reader as a channel client',
  );
  t.match(rc.remote_address, /^127\.0\.0\.1:\d+$/);
  t.notOk('pub_counts' in rc, 'a client that never published has no pub_counts');

  const c2 = tp.channels[1]!;
  t.hasStrict(c2, { depth: 6, in_flight_count: 0, deferred_count: 1, requeue_count: 0, timeout_count: 0, message_count: 7, client_count: 0, paused: false }, 'c2 counters (no consumer)');
  t.same(c2.clients, [], 'a channel without consumers lists no clients');

  t.equal(s.producers?.length, 1, 'one producer: the Writer');
  const p = s.producers![0]!;
  t.hasStrict(p, { client_id: 'stats-writer', hostname: hostname(), version: 'V2', user_agent: NSQJS_USER_AGENT, state: 0 }, 'the Writer as a producer');
  t.same(p.pub_counts, [{ topic, count: 6 }], 'pub_counts: PUB, PUB, MPUB of 3, DPUB');

  const noClients = await getStats(nsqd, '&include_clients=false');
  const ntp = findTopic(noClients, topic)!;
  t.same(
    ntp.channels.map((c) => c.clients),
    [null, null],
    'include_clients=false: clients null',
  );
  t.equal(ntp.channels[0]!.client_count, 1, 'include_clients=false still counts clients');
  t.equal(noClients.producers, null, 'include_clients=false: producers null');

  const missing = await getStats(nsqd, '&topic=no_such_topic');
  t.equal(missing.topics, null, 'a topic filter for a missing topic gives topics null');
  t.equal(missing.producers, null);

  const onlyC2 = await getStats(nsqd, `&topic=${topic}&channel=c2`);
  t.same(
    onlyC2.topics?.map((x) => x.channels.map((c) => c.channel_name)),
    [['c2']],
    'topic and channel filters',
  );
  t.same(reader.errors, []);
});

t.test('deflate: an nsqjs Writer and Reader negotiate compression and move a large message both ways', async (t) => {
  const nsqd = await startNsqd(t);
  const { writer } = await openWriter(t, nsqd, { deflate: true, deflateLevel: 3 } as ConnectionOptions);
  const { inbox } = await openReader(t, nsqd, 'squeezed', 'c', { deflate: true, deflateLevel: 3 } as ReaderOptions, (m) => m.finish());
  const big = Buffer.alloc(300_000, 'abc');
  await publish(writer, 'squeezed', ['small', big, 'last']);
  const got = await inbox.waitFor(3);
  t.same(got.map((m) => m.body.length), [5, 300_000, 4]);
  t.ok(got[1]!.body.equals(big), 'the large body arrives intact');
  const s = await getStats(nsqd, '&topic=squeezed');
  const client = s.topics![0]!.channels[0]!.clients![0] as unknown as { deflate: boolean };
  t.equal(client.deflate, true, '/stats shows the consumer compressed');
  t.equal((s.producers![0] as unknown as { deflate: boolean }).deflate, true, 'and the producer');
});

// GET /channel/peek and /topic/peek over real sockets (docs/peek.md): states, order, bounds, errors,
// every storage mode, and the guarantee that a peek changes nothing: a consumer (nsqjs, an
// independent client) afterwards receives what a consumer of a control server that got no peek does.

import { once } from 'node:events';
import t from 'tap';
import nsq from 'nsqjs';
import type { Message } from 'nsqjs';
import { Logger } from '../../src/util/log.js';
import { DiskQueue } from '../../src/nsqd/disk-queue.js';
import type { NSQD } from '../../src/nsqd/nsqd.js';
import type { NsqdOptions } from '../../src/nsqd/options.js';
import type { PeekJson } from '../../src/protocol/peek-json.js';
import { smallest } from '../../src/nsqd/peek.js';
import { mpubBody } from '../helpers/raw.js';
import { startAuthd } from '../helpers/authd.js';
import { startNsqd, tempDir, type Teardown } from '../helpers/nsqd.js';
import { channelStats, httpBase, topicStats } from '../helpers/stats.js';

const TIMEOUT = 5000;
const BODIES = ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9'];
/** not valid UTF-8: shown as base64 only */
const BINARY = Buffer.from([0xff, 0xfe, 0x00, 0x41]);

async function get(nsqd: NSQD, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${httpBase(nsqd)}${path}`, { signal: AbortSignal.timeout(TIMEOUT) });
  return { status: res.status, text: await res.text() };
}

async function peek(nsqd: NSQD, path: string): Promise<PeekJson> {
  const { status, text } = await get(nsqd, path);
  if (status !== 200) throw new Error(`GET ${path}: ${status} ${text}`);
  return JSON.parse(text) as PeekJson;
}

async function post(nsqd: NSQD, path: string, body?: Buffer | string): Promise<void> {
  const res = await fetch(`${httpBase(nsqd)}${path}`, { method: 'POST', body, signal: AbortSignal.timeout(TIMEOUT) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST ${path}: ${res.status} ${text}`);
}

/** The channel with the ten text bodies and one binary one queued. */
async function loaded(t: Teardown, options: Partial<NsqdOptions>): Promise<NSQD> {
  const nsqd = await startNsqd(t, options);
  await post(nsqd, '/topic/create?topic=orders');
  await post(nsqd, '/channel/create?topic=orders&channel=billing');
  await post(nsqd, '/mpub?topic=orders&binary=true', mpubBody([...BODIES.map((b) => Buffer.from(b)), BINARY]));
  return nsqd;
}

interface Received {
  body: string;
  attempts: number;
}

/** Consumes `count` messages with nsqjs (one at a time, each finished), in arrival order. */
async function consume(t: Teardown, nsqd: NSQD, topic: string, channel: string, count: number): Promise<Received[]> {
  const reader = new nsq.Reader(topic, channel, { nsqdTCPAddresses: [`127.0.0.1:${nsqd.tcpEndpoint.port}`], maxInFlight: 1 });
  t.teardown(() => reader.close());
  const got: Received[] = [];
  const done = new Promise<void>((resolve) => {
    reader.on('message', (msg: Message) => {
      got.push({ body: msg.body.toString('hex'), attempts: msg.attempts });
      msg.finish();
      if (got.length === count) resolve();
    });
  });
  reader.connect();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([done, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${count} messages did not arrive (got ${got.length})`)), TIMEOUT)))]);
  clearTimeout(timer);
  reader.close();
  return got;
}

const MODES: [string, Partial<NsqdOptions>][] = [
  ['plain, memory', {}],
  ['plain, disk overflow (--mem-queue-size=2)', { memQueueSize: 2 }],
  ['durable (--mem-queue-size=2)', { durable: true, memQueueSize: 2 }],
];

for (const [mode, options] of MODES) {
  t.test(`${mode}: queued messages in delivery order, and the peek changes nothing`, async (t) => {
    const peeked = await loaded(t, options);
    const control = await loaded(t, options);
    const before = await channelStats(peeked, 'orders', 'billing');
    if (options.memQueueSize === 2) t.equal(before?.backend_depth, 9, 'most messages are on disk');

    const first = await peek(peeked, '/channel/peek?topic=orders&channel=billing&n=5');
    t.equal(first.count, 5);
    t.equal(first.depth, 11);
    t.same(first.messages.map((m) => m.text), BODIES.slice(0, 5), 'the first five, in order');
    t.ok(first.messages.every((m) => m.state === 'queued' && m.attempts === 0 && /^[0-9a-f]{16}$/.test(m.id)));
    t.equal(Buffer.from(first.messages[0]!.body, 'base64').toString(), 'm0', 'body is base64');

    const all = await peek(peeked, '/channel/peek?topic=orders&channel=billing&n=1000');
    t.equal(all.count, 11, 'everything, memory and disk');
    t.same(all.messages.slice(0, 10).map((m) => m.text), BODIES);
    const last = all.messages[10]!;
    t.equal(last.text, undefined, 'no text for a body that is not UTF-8');
    t.equal(last.body, BINARY.toString('base64'));
    t.same(all.messages.slice(0, 5), first.messages, 'a second peek sees the same');
    t.ok(all.messages.every((m, i) => i === 0 || m.id > all.messages[i - 1]!.id), 'ids in publish order');

    const text = await get(peeked, '/channel/peek?topic=orders&channel=billing&n=3&format=text');
    const lines = text.text.trimEnd().split('\n');
    t.equal(lines.length, 3, 'format=text: one line per message');
    t.match(lines[0], new RegExp(`^${all.messages[0]!.id} queued attempts=0 \\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z "m0"$`));

    t.same(await channelStats(peeked, 'orders', 'billing'), before, 'stats are unchanged');
    const want = await consume(t, control, 'orders', 'billing', 11);
    const got = await consume(t, peeked, 'orders', 'billing', 11);
    t.same(got, want, 'a consumer receives what it would have without the peek');
    t.same(got.map((g) => g.attempts), new Array(11).fill(1), 'first attempts');
    t.same(got.slice(0, 10).map((g) => Buffer.from(g.body, 'hex').toString()), BODIES, 'in order');
  });
}

t.test('in-flight and deferred messages: listed with their state, in flight first, deferred last', async (t) => {
  const nsqd = await startNsqd(t);
  await post(nsqd, '/topic/create?topic=work');
  await post(nsqd, '/channel/create?topic=work&channel=c');
  await post(nsqd, '/pub?topic=work&defer=60000', 'later');
  await post(nsqd, '/mpub?topic=work', 'a\nb\nc');
  const reader = new nsq.Reader('work', 'c', { nsqdTCPAddresses: [`127.0.0.1:${nsqd.tcpEndpoint.port}`], maxInFlight: 1, clientId: 'peek-test' });
  t.teardown(() => reader.close());
  const held: Message[] = [];
  reader.on('message', (msg: Message) => held.push(msg));
  reader.connect();
  await once(reader, 'message');
  const started = Date.now();
  const p = await peek(nsqd, '/channel/peek?topic=work&channel=c');
  t.same(p.messages.map((m) => [m.state, m.text]), [['in_flight', 'a'], ['queued', 'b'], ['queued', 'c'], ['deferred', 'later']]);
  const [inFlight, , , deferred] = p.messages;
  t.equal(inFlight!.attempts, 1);
  t.equal(inFlight!.client_id, 'peek-test');
  t.match(inFlight!.client_address, /^127\.0\.0\.1:\d+$/);
  t.ok(inFlight!.timeout_at! > started, 'timeout_at is ahead');
  t.ok(deferred!.due_at! > started + 50_000 && deferred!.due_at! < started + 61_000, 'due_at is the DPUB due time');
  t.equal(p.in_flight_count, 1);
  t.equal(p.deferred_count, 1);
  t.same((await peek(nsqd, '/channel/peek?topic=work&channel=c&n=2')).messages.map((m) => m.text), ['a', 'b'], 'n counts from the head');
  const text = await get(nsqd, '/channel/peek?topic=work&channel=c&format=text');
  t.match(text.text, /in_flight attempts=1 \S+ client=peek-test@127\.0\.0\.1:\d+ "a"\n/);
  t.match(text.text, /deferred attempts=0 \S+ due=\S+Z "later"\n/);

  // the peek took nothing: the held message is still the consumer's, the rest follow in order
  held[0]!.finish();
  await new Promise<void>((resolve) => {
    reader.on('message', (msg: Message) => {
      if (held.length === 3) resolve();
      msg.finish();
    });
  });
  t.same(held.map((m) => m.body.toString()), ['a', 'b', 'c']);
  t.same(held.map((m) => m.attempts), [1, 1, 1]);
});

t.test('several in flight at once: listed in the order they were delivered', async (t) => {
  const nsqd = await startNsqd(t);
  await post(nsqd, '/topic/create?topic=many');
  await post(nsqd, '/channel/create?topic=many&channel=c');
  const bodies = Array.from({ length: 70 }, (_, i) => `b${i}`);
  await post(nsqd, '/mpub?topic=many', bodies.join('\n'));
  const reader = new nsq.Reader('many', 'c', { nsqdTCPAddresses: [`127.0.0.1:${nsqd.tcpEndpoint.port}`], maxInFlight: 100 });
  t.teardown(() => reader.close());
  let got = 0;
  const all = new Promise<void>((resolve) => reader.on('message', () => ++got === bodies.length && resolve()));
  reader.connect();
  await all;
  const p = await peek(nsqd, '/channel/peek?topic=many&channel=c&n=1000');
  t.ok(p.messages.every((m) => m.state === 'in_flight'));
  t.same(p.messages.map((m) => m.text), bodies, 'delivery order, across the in-flight table');
});

t.test('smallest: the first n in order, whatever order they come in', async (t) => {
  const items = Array.from({ length: 500 }, (_, i) => (i * 7919) % 500);
  t.same(smallest<number>((fn) => items.forEach(fn), (a, b) => a - b, 10), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  t.same(smallest<number>((fn) => [3, 1, 2].forEach(fn), (a, b) => a - b, 10), [1, 2, 3]);
  t.same(smallest<number>((fn) => items.forEach(fn), (a, b) => a - b, 0), []);
});

for (const [mode, options] of [['plain', { memQueueSize: 1 }], ['durable', { durable: true, memQueueSize: 1 }]] as const) {
  t.test(`${mode}: a topic with no channel: its own queue (memory and disk) and its waiting DPUBs`, async (t) => {
    const nsqd = await startNsqd(t, options);
    await post(nsqd, '/mpub?topic=solo', 'x\ny\nz');
    await post(nsqd, '/pub?topic=solo&defer=30000', 'w');
    const before = await topicStats(nsqd, 'solo');
    const p = await peek(nsqd, '/topic/peek?topic=solo&n=10');
    t.equal(p.channel, undefined);
    t.same(p.messages.map((m) => [m.state, m.text]), [['queued', 'x'], ['queued', 'y'], ['queued', 'z'], ['deferred', 'w']]);
    t.same(await topicStats(nsqd, 'solo'), before, 'stats unchanged');
    const got = await consume(t, nsqd, 'solo', 'late', 3);
    t.same(got.map((g) => Buffer.from(g.body, 'hex').toString()), ['x', 'y', 'z'], 'a first channel still gets them all, in order');
    t.same((await peek(nsqd, '/topic/peek?topic=solo')).messages, [], 'the topic holds nothing once its channel has them');
  });
}

t.test('bad n, unknown topic or channel: nsqd-style errors', async (t) => {
  const nsqd = await startNsqd(t);
  await post(nsqd, '/topic/create?topic=orders');
  await post(nsqd, '/channel/create?topic=orders&channel=billing');
  for (const n of ['0', '1001', '1.5', 'ten', '-1', '']) {
    t.same(await get(nsqd, `/channel/peek?topic=orders&channel=billing&n=${n}`), { status: 400, text: '{"message":"INVALID_N"}' }, `n=${n}`);
    t.same(await get(nsqd, `/topic/peek?topic=orders&n=${n}`), { status: 400, text: '{"message":"INVALID_N"}' }, `topic, n=${n}`);
  }
  t.equal((await get(nsqd, '/channel/peek?topic=orders&channel=billing&n=1000')).status, 200, 'n=1000 is fine');
  t.same(await get(nsqd, '/channel/peek?topic=nope&channel=billing'), { status: 404, text: '{"message":"TOPIC_NOT_FOUND"}' });
  t.same(await get(nsqd, '/channel/peek?topic=orders&channel=nope'), { status: 404, text: '{"message":"CHANNEL_NOT_FOUND"}' });
  t.same(await get(nsqd, '/topic/peek?topic=nope'), { status: 404, text: '{"message":"TOPIC_NOT_FOUND"}' });
  t.same(await get(nsqd, '/channel/peek?topic=orders'), { status: 400, text: '{"message":"MISSING_ARG_CHANNEL"}' });
  t.same(await get(nsqd, '/topic/peek'), { status: 400, text: '{"message":"MISSING_ARG_TOPIC"}' });
  t.equal((await topicStats(nsqd, 'nope')), undefined, 'a peek creates no topic');
});

t.test('--auth-http-api: a peek shows bodies, so it needs what the channel or topic routes need', async (t) => {
  const grant = (channels: string[], permissions: string[]) => ({ ttl: 3600, authorizations: [{ topic: '^orders$', channels, permissions }] });
  const authd = await startAuthd(t, { reader: grant(['.*'], ['subscribe']), bill: grant(['^billing$'], ['publish', 'subscribe']), olga: grant(['.*'], ['publish', 'subscribe']) });
  const nsqd = await startNsqd(t, { authHttpAddresses: [authd.address], authHttpApi: true });
  const call = async (path: string, secret?: string): Promise<number> => {
    const res = await fetch(`${httpBase(nsqd)}${path}`, { headers: secret === undefined ? {} : { authorization: `Bearer ${secret}` }, signal: AbortSignal.timeout(TIMEOUT) });
    await res.text();
    return res.status;
  };
  for (const path of ['/topic/create?topic=orders', '/channel/create?topic=orders&channel=billing']) {
    const res = await fetch(`${httpBase(nsqd)}${path}`, { method: 'POST', headers: { authorization: 'Bearer olga' }, signal: AbortSignal.timeout(TIMEOUT) });
    t.equal(res.status, 200, path);
  }
  t.equal(await call('/stats'), 200, '/stats stays open');
  t.equal(await call('/channel/peek?topic=orders&channel=billing'), 401, 'no bearer');
  t.equal(await call('/channel/peek?topic=orders&channel=billing', 'reader'), 403, 'subscribe alone is not enough, as for /channel/*');
  t.equal(await call('/channel/peek?topic=orders&channel=billing', 'bill'), 200, 'publish and subscribe on the channel');
  t.equal(await call('/topic/peek?topic=orders', 'bill'), 403, 'the topic peek needs the topic and all its channels');
  t.equal(await call('/topic/peek?topic=orders', 'olga'), 200);
});

t.test('DiskQueue.peek reads from the read position, files and write buffer, and moves nothing', async (t) => {
  const dir = tempDir(t);
  const q = new DiskQueue('dq', { dataPath: dir, maxBytesPerFile: 64, minMsgSize: 1, maxMsgSize: 1024, syncEvery: 1_000_000, syncTimeout: 1_000_000, logger: new Logger('fatal', '') });
  t.teardown(() => q.delete());
  const names = Array.from({ length: 12 }, (_, i) => `record-${String(i).padStart(2, '0')}`);
  for (const s of names.slice(0, 8)) q.put(Buffer.from(s));
  t.same(q.peek(100).map(String), names.slice(0, 8), 'across rolled files');
  for (const s of names.slice(8)) q.put(Buffer.from(s));
  t.same(q.peek(100).map(String), names, 'the last ones from the write buffer, not yet in a file');
  t.same(q.peek(3).map(String), names.slice(0, 3), 'at most n');
  t.equal(q.depth, 12, 'depth unchanged');
  t.equal(String(q.shift()), names[0]);
  t.equal(String(q.shift()), names[1]);
  t.same(q.peek(2).map(String), names.slice(2, 4), 'from the read position');
  q.flush();
  t.same(q.peek(100).map(String), names.slice(2), 'once written, from the file');
  const rest: string[] = [];
  for (let b = q.shift(); b !== null; b = q.shift()) rest.push(String(b));
  t.same(rest, names.slice(2), 'the reader gets every record the peeks showed');
  t.same(q.peek(10), []);
});

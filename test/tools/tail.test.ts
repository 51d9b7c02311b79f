// `nsq tail` as a user runs it: spawned against an in-process nsqd, fed by our Producer.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Consumer } from '../../src/client/consumer.js';
import type { Message } from '../../src/client/connection.js';
import { Producer } from '../../src/client/producer.js';
import type { NSQD } from '../../src/nsqd/nsqd.js';
import { Batch, isoTimestamp, makeFormatter } from '../../src/tools/message-format.js';
import { startLookupd } from '../helpers/lookupd.js';
import { BIN, spawnNsq, startNsqd, type Spawned } from '../helpers/nsqd.js';
import { channelStats, httpBase, topicStats, waitFor } from '../helpers/stats.js';

const EPHEMERAL_TAIL = /^tail\d{6}#ephemeral$/;
const NO_STACK = /\bat .*\.js:\d+/;

interface Teardown {
  teardown(fn: () => unknown): void;
}

const tcp = (nsqd: NSQD): string => `127.0.0.1:${nsqd.tcpEndpoint.port}`;

async function producer(t: Teardown, nsqd: NSQD): Promise<Producer> {
  const p = new Producer(tcp(nsqd));
  await p.connect();
  t.teardown(() => p.close());
  return p;
}

/** Waits until `count` clients are subscribed to `topic` (on `channel`, or on the tail's own channel). */
async function subscribed(nsqd: NSQD, topic: string, channel?: string, count = 1): Promise<string> {
  return waitFor(`a tail subscribed to ${topic}`, async () => {
    const chans = (await topicStats(nsqd, topic))?.channels ?? [];
    const c = chans.find((c) => (channel === undefined ? EPHEMERAL_TAIL.test(c.channel_name) : c.channel_name === channel) && c.client_count >= count);
    return c?.channel_name;
  }, 15_000);
}

async function createChannel(nsqd: NSQD, topic: string, channel: string): Promise<void> {
  const tres = await fetch(`${httpBase(nsqd)}/topic/create?topic=${topic}`, { method: 'POST' });
  if (tres.status !== 200) throw new Error(`topic/create answered ${tres.status}`);
  const res = await fetch(`${httpBase(nsqd)}/channel/create?topic=${topic}&channel=${encodeURIComponent(channel)}`, { method: 'POST' });
  if (res.status !== 200) throw new Error(`channel/create answered ${res.status}`);
}

/** Consumes exactly `n` messages from a channel with our client and finishes them. */
async function drain(t: Teardown, nsqd: NSQD, topic: string, channel: string, n: number): Promise<Message[]> {
  const got: Message[] = [];
  const c = new Consumer({ topic, channel, nsqdTcpAddresses: [tcp(nsqd)], maxInFlight: 100 }, (m) => {
    got.push(m);
  });
  await c.start();
  t.teardown(() => c.stop());
  await waitFor(`${n} messages on ${topic}/${channel}`, () => got.length >= n, 15_000);
  return got;
}

async function exited(p: Spawned, timeoutMs = 10_000): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs}ms; stderr: ${p.stderr()}`)), timeoutMs)));
  try {
    const { code, signal } = await Promise.race([p.exit, timeout]);
    return signal === null ? code : -1;
  } finally {
    clearTimeout(timer);
  }
}

t.test('formats in-process: ISO timestamps with nanoseconds, template spellings and escapes', async (t) => {
  t.equal(isoTimestamp(0n), '1970-01-01T00:00:00.000000000Z');
  t.equal(isoTimestamp(1_795_617_054_437_123_456n), '2026-11-25T14:30:54.437123456Z');
  t.equal(isoTimestamp(1_795_617_054_000_000_001n), '2026-11-25T14:30:54.000000001Z');
  const msg = { id: '0123456789abcdef', attempts: 3, timestamp: 1_795_617_054_437_123_456n, body: Buffer.from('hi') } as Message;
  const src = { topic: 't', channel: 'c', nsqd: '127.0.0.1:4150' };
  const render = (format: string, printTopic = false): string => {
    const b = new Batch();
    makeFormatter(format, printTopic)(msg, src, b);
    return b.take().toString();
  };
  t.equal(render('{{ .ID }}|{{Id}}|{{id}}'), '0123456789abcdef|0123456789abcdef|0123456789abcdef\n');
  t.equal(render('{{.BodyBase64}} {{body_hex}} {{.Size}} {{TimestampNs}} {{nsqd}}'), 'aGk= 6869 2 1795617054437123456 127.0.0.1:4150\n');
  t.equal(render('a\\tb\\nc\\\\d {{.Attempts}}'), 'a\tb\nc\\d 3\n');
  t.equal(render('{{body}}', true), 't | hi\n');
  t.equal(render('raw', true), 't | hi\n');
  t.equal(render('json', true), '{"topic":"t","channel":"c","id":"0123456789abcdef","timestamp":"2026-11-25T14:30:54.437123456Z","attempts":3,"body":"hi"}\n', 'json ignores --print-topic');
  t.throws(() => render('{{Bodyy}}'), /unknown field \{\{Bodyy\}\}/);
  t.throws(() => render('plain text'), /invalid value "plain text" for flag --format/);
  // the scratch buffer grows for big bodies and hands over what it holds
  const big = { ...msg, body: Buffer.alloc(200_000, 'x') } as Message;
  const b = new Batch();
  const raw = makeFormatter('raw', false);
  raw(msg, src, b);
  raw(big, src, b);
  raw(msg, src, b);
  const out = b.take();
  t.equal(out.length, 3 + 200_001 + 3);
  t.equal(out.subarray(0, 3).toString(), 'hi\n');
  t.equal(out.subarray(-3).toString(), 'hi\n');
  t.equal(b.take().length, 0);
});

t.test('raw output is the body and a newline, byte for byte; -n exits 0', async (t) => {
  const nsqd = await startNsqd(t);
  const p = await producer(t, nsqd);
  const tail = spawnNsq(t, ['tail', 'raw', '--nsqd-tcp-address', tcp(nsqd), '-n', '4']);
  await subscribed(nsqd, 'raw');
  const bodies = ['hello', '  spaces\tand tab ', 'unicodé ✓', 'line one\nline two'];
  for (const b of bodies) await p.publish('raw', b);
  t.equal(await exited(tail), 0);
  t.equal(tail.stdout(), bodies.map((b) => b + '\n').join(''));
  t.equal(tail.stderr(), '');
});

t.test('-n N prints exactly N messages and leaves the rest in the channel', async (t) => {
  const nsqd = await startNsqd(t);
  const p = await producer(t, nsqd);
  await createChannel(nsqd, 'many', 'keep');
  await p.mpublish('many', Array.from({ length: 10 }, (_, i) => `m${i}`));
  const tail = spawnNsq(t, ['tail', 'many', '--channel', 'keep', '-n', '3', `--nsqd-tcp-address=${tcp(nsqd)}`]);
  t.equal(await exited(tail), 0);
  t.equal(tail.stdout(), 'm0\nm1\nm2\n');
  const ch = await waitFor('the tail gone and nothing in flight', async () => {
    const c = await channelStats(nsqd, 'many', 'keep');
    return c !== undefined && c.client_count === 0 && c.in_flight_count === 0 && c.deferred_count === 0 ? c : undefined;
  });
  t.equal(ch.depth, 7, 'seven messages stay in the channel');
  const rest = await drain(t, nsqd, 'many', 'keep', 7);
  t.same(rest.map((m) => m.body.toString()).sort(), ['m3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9']);
});

t.test('-n over two topics: messages delivered past N are put back, not finished', async (t) => {
  const nsqd = await startNsqd(t);
  const p = await producer(t, nsqd);
  const all: string[] = [];
  for (const topic of ['one', 'two']) {
    await createChannel(nsqd, topic, 'keep');
    const bodies = Array.from({ length: 10 }, (_, i) => `${topic}${i}`);
    await p.mpublish(topic, bodies);
    all.push(...bodies);
  }
  // each topic's consumer asks for 3: up to 6 arrive, 3 are shown
  const tail = spawnNsq(t, ['tail', 'one', 'two', '--channel', 'keep', '-n', '3', '--nsqd-tcp-address', tcp(nsqd)]);
  t.equal(await exited(tail), 0);
  const shown = tail.stdout().split('\n');
  t.equal(shown.pop(), '');
  t.equal(shown.length, 3);
  let left = 0;
  await waitFor('both channels settled', async () => {
    const cs = await Promise.all(['one', 'two'].map((topic) => channelStats(nsqd, topic, 'keep')));
    if (cs.some((c) => c === undefined || c.client_count > 0 || c.in_flight_count > 0)) return false;
    left = cs.reduce((n, c) => n + c!.depth, 0);
    return true;
  });
  t.equal(left, 17, 'everything not shown is still there');
  const rest = [...(await drain(t, nsqd, 'one', 'keep', 10 - shown.filter((l) => l.startsWith('one')).length)), ...(await drain(t, nsqd, 'two', 'keep', 10 - shown.filter((l) => l.startsWith('two')).length))];
  t.same([...shown, ...rest.map((m) => m.body.toString())].sort(), [...all].sort());
});

t.test('several topics (positional and --topic) with --print-topic; -n counts them all', async (t) => {
  const nsqd = await startNsqd(t);
  const p = await producer(t, nsqd);
  const tail = spawnNsq(t, ['tail', 'alpha', '--topic', 'beta', '--print-topic', '-n', '4', '--nsqd-tcp-address', tcp(nsqd)]);
  const [ca, cb] = await Promise.all([subscribed(nsqd, 'alpha'), subscribed(nsqd, 'beta')]);
  t.equal(ca, cb, 'one channel name for every topic');
  await p.mpublish('alpha', ['a1', 'a2']);
  await p.mpublish('beta', ['b1', 'b2']);
  t.equal(await exited(tail), 0);
  const lines = tail.stdout().split('\n');
  t.equal(lines.pop(), '', 'ends with a newline');
  t.same([...lines].sort(), ['alpha | a1', 'alpha | a2', 'beta | b1', 'beta | b2']);
  t.same(
    lines.filter((l) => l.startsWith('alpha')),
    ['alpha | a1', 'alpha | a2'],
    'in order within a topic',
  );
});

t.test('--format json: one object a line, ISO timestamps, base64 for bodies that are not UTF-8', async (t) => {
  const nsqd = await startNsqd(t);
  const p = await producer(t, nsqd);
  const tail = spawnNsq(t, ['tail', 'js', '--format', 'json', '-n', '4', '--nsqd-tcp-address', tcp(nsqd)]);
  const channel = await subscribed(nsqd, 'js');
  const bodies = [Buffer.from('plain text'), Buffer.from('ünïcödé ✓ "quoted"\n'), Buffer.from([0xff, 0xfe]), Buffer.from('{"a":1}')];
  const before = Date.now();
  for (const b of bodies) await p.publish('js', b);
  t.equal(await exited(tail), 0);
  const lines = tail.stdout().split('\n');
  t.equal(lines.pop(), '');
  t.equal(lines.length, 4);
  const objs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const ids = new Set<unknown>();
  objs.forEach((o, i) => {
    t.equal(o['topic'], 'js');
    t.equal(o['channel'], channel);
    t.match(o['id'], /^[0-9a-f]{16}$/);
    ids.add(o['id']);
    t.equal(o['attempts'], 1);
    t.match(o['timestamp'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    const ts = Date.parse(o['timestamp'] as string);
    t.ok(ts >= before - 1000 && ts <= Date.now() + 1000, `timestamp ${String(o['timestamp'])} is the publish time`);
    if (i === 2) {
      t.same(Object.keys(o), ['topic', 'channel', 'id', 'timestamp', 'attempts', 'encoding', 'body']);
      t.equal(o['encoding'], 'base64');
      t.same(Buffer.from(o['body'] as string, 'base64'), bodies[2]);
    } else {
      t.same(Object.keys(o), ['topic', 'channel', 'id', 'timestamp', 'attempts', 'body']);
      t.equal(o['body'], bodies[i]!.toString('utf8'));
    }
  });
  t.equal(ids.size, 4, 'every message has its own id');
});

t.test('--format with a template: snake_case and Go-style fields, escapes, --print-topic', async (t) => {
  const nsqd = await startNsqd(t);
  const p = await producer(t, nsqd);
  const template = '{{ .Topic }}/{{channel}} #{{attempts}} {{size}}B {{body_base64}} {{.Body}}\\t{{id}} {{.Timestamp}} {{timestamp_ns}}';
  const tail = spawnNsq(t, ['tail', 'tpl', '--channel', 'tc', '--print-topic', '-f', template, '-n', '2', '--nsqd-tcp-address', tcp(nsqd)]);
  await subscribed(nsqd, 'tpl', 'tc');
  await p.publish('tpl', 'héllo');
  await p.publish('tpl', Buffer.from([0x00, 0xff]));
  t.equal(await exited(tail), 0);
  const out = tail.stdout();
  const re = /^tpl \| tpl\/tc #1 (\d+)B (\S+) ([^\t]*)\t([0-9a-f]{16}) (\S+) (\d+)\n/;
  const m1 = re.exec(out);
  t.ok(m1, `first line matches: ${JSON.stringify(out)}`);
  t.equal(m1![1], '6');
  t.equal(m1![2], Buffer.from('héllo').toString('base64'));
  t.equal(m1![3], 'héllo');
  t.equal(BigInt(Date.parse(m1![5]!)), BigInt(m1![6]!) / 1_000_000n, 'timestamp and timestamp_ns agree');
  const second = out.slice(m1![0].length);
  // {{body}} is the bytes as they are (0xff shows as U+FFFD once decoded here)
  t.match(second, /^tpl \| tpl\/tc #1 2B AP8= \u0000\ufffd\t[0-9a-f]{16} \S+ \d+\n$/);

  const bad = spawnNsq(t, ['tail', 'tpl', '-f', '{{nope}}', '--nsqd-tcp-address', tcp(nsqd)]);
  t.equal(await exited(bad), 2, 'unknown field: usage error');
  t.match(bad.stderr(), /^nsq: unknown field \{\{nope\}\} in --format; fields: topic, /);
  t.equal(bad.stderr().trim().split('\n').length, 1);
  const xml = spawnNsq(t, ['tail', 'tpl', '-f', 'xml', '--nsqd-tcp-address', tcp(nsqd)]);
  t.equal(await exited(xml), 2);
  t.match(xml.stderr(), /^nsq: invalid value "xml" for flag --format/);
});

t.test('--requeue shows messages and leaves them in the channel (attempts go up by one)', async (t) => {
  const nsqd = await startNsqd(t);
  const p = await producer(t, nsqd);
  await createChannel(nsqd, 'rq', 'live');
  await p.mpublish('rq', ['r0', 'r1', 'r2']);
  const tail = spawnNsq(t, ['tail', 'rq', '--channel=live', '--requeue', '-n', '3', '--nsqd-tcp-address', tcp(nsqd)]);
  t.equal(await exited(tail), 0);
  t.equal(tail.stdout(), 'r0\nr1\nr2\n');
  const ch = await waitFor('the messages back in the channel', async () => {
    const c = await channelStats(nsqd, 'rq', 'live');
    return c !== undefined && c.client_count === 0 && c.depth === 3 ? c : undefined;
  });
  t.equal(ch.in_flight_count, 0);
  t.equal(ch.deferred_count, 0, 'put back with no delay');
  const got = await drain(t, nsqd, 'rq', 'live', 3);
  t.same(got.map((m) => m.body.toString()).sort(), ['r0', 'r1', 'r2']);
  t.same(
    got.map((m) => m.attempts),
    [2, 2, 2],
    'one delivery to the tail, one to the consumer',
  );

  // shown messages are held until the tail stops, so they don't come straight back to it
  await createChannel(nsqd, 'rq2', 'live');
  await p.mpublish('rq2', ['h0', 'h1']);
  const held = spawnNsq(t, ['tail', 'rq2', '--channel=live', '--requeue', '-n', '3', '--nsqd-tcp-address', tcp(nsqd)]);
  await waitFor('two lines', () => held.stdout() === 'h0\nh1\n');
  const waiting = await channelStats(nsqd, 'rq2', 'live');
  t.equal(waiting?.in_flight_count, 2, 'held while the tail waits for a third');
  t.equal(waiting?.requeue_count, 0, 'and not put back yet');
  await p.publish('rq2', 'h2');
  t.equal(await exited(held), 0);
  t.equal(held.stdout(), 'h0\nh1\nh2\n');
  const again = await drain(t, nsqd, 'rq2', 'live', 3);
  t.same(
    again.map((m) => `${m.body.toString()}:${m.attempts}`).sort(),
    ['h0:2', 'h1:2', 'h2:2'],
  );

  const noChannel = spawnNsq(t, ['tail', 'rq', '--requeue', '--nsqd-tcp-address', tcp(nsqd)]);
  t.equal(await exited(noChannel), 2, '--requeue without --channel is a usage error');
  t.match(noChannel.stderr(), /^nsq: --requeue needs --channel/);
});

t.test('--requeue shows a message once even when it keeps coming back', async (t) => {
  const nsqd = await startNsqd(t);
  const p = await producer(t, nsqd);
  await createChannel(nsqd, 'bounce', 'watch');
  const tail = spawnNsq(t, ['tail', 'bounce', '--channel=watch', '--requeue', '--nsqd-tcp-address', tcp(nsqd)]);
  await subscribed(nsqd, 'bounce', 'watch');
  await p.mpublish('bounce', ['x', 'y']);
  // the tail is the channel's only consumer: each message comes back to it, several times
  await waitFor('messages delivered again', async () => ((await channelStats(nsqd, 'bounce', 'watch'))?.requeue_count ?? 0) >= 4, 5000);
  tail.child.kill('SIGINT');
  t.equal(await exited(tail), 0);
  t.equal(tail.stdout(), 'x\ny\n', 'each shown once');
  const got = await drain(t, nsqd, 'bounce', 'watch', 2);
  t.same(got.map((m) => m.body.toString()).sort(), ['x', 'y'], 'and still there');
});

t.test('| head -n 3: the tail exits 0 quietly at its next write', async (t) => {
  const nsqd = await startNsqd(t);
  const p = await producer(t, nsqd);
  const dir = mkdtempSync(join(tmpdir(), 'nsq-tail-'));
  const errFile = join(dir, 'stderr');
  const statusFile = join(dir, 'status');
  const script = '{ "$0" "$1" tail head --nsqd-tcp-address "$2" 2>"$3"; echo $? >"$4"; } | head -n 3';
  const sh = spawn('sh', ['-c', script, process.execPath, BIN, tcp(nsqd), errFile, statusFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (sh.exitCode === null) sh.kill('SIGKILL');
  });
  let out = '';
  let headDoneAt = 0;
  sh.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.split('\n').length > 3 && headDoneAt === 0) headDoneAt = Date.now();
  });
  const shExit = new Promise<number | null>((resolve) => sh.on('exit', (code) => resolve(code)));
  await subscribed(nsqd, 'head');
  // a live topic: messages keep coming until the pipeline is over
  let running = true;
  void shExit.then(() => (running = false));
  let i = 0;
  const deadline = Date.now() + 10_000;
  while (running && Date.now() < deadline) {
    await p.publish('head', `m${i++}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  t.notOk(running, 'the pipeline ended');
  t.equal(await shExit, 0);
  t.equal(out, 'm0\nm1\nm2\n');
  t.equal(readFileSync(statusFile, 'utf8').trim(), '0', 'the tail exited 0');
  t.equal(readFileSync(errFile, 'utf8'), '', 'and said nothing');
  t.ok(Date.now() - headDoneAt < 3000, `and soon after head finished (${Date.now() - headDoneAt}ms)`);
  await waitFor('its channel gone', async () => ((await topicStats(nsqd, 'head'))?.channels.length ?? 0) === 0);
});

t.test('the reader of stdout closing the pipe: exit 0, nothing on stderr', async (t) => {
  const nsqd = await startNsqd(t);
  const p = await producer(t, nsqd);
  const tail = spawnNsq(t, ['tail', 'closed', '--nsqd-tcp-address', tcp(nsqd)]);
  await subscribed(nsqd, 'closed');
  await p.publish('closed', 'first');
  await waitFor('the first line', () => tail.stdout() === 'first\n');
  tail.child.stdout!.destroy();
  let done = false;
  void tail.exit.then(() => (done = true));
  const deadline = Date.now() + 10_000;
  for (let i = 0; !done && Date.now() < deadline; i++) {
    await p.publish('closed', `more${i}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  t.equal(await exited(tail), 0);
  t.equal(tail.stderr(), '');
});

t.test('SIGINT: exit 0; what was printed was finished, the rest stays in the channel', async (t) => {
  const nsqd = await startNsqd(t);
  const p = await producer(t, nsqd);
  await createChannel(nsqd, 'sig', 'durable');
  const all = Array.from({ length: 5000 }, (_, i) => `s${i}`);
  await p.mpublish('sig', all);
  const tail = spawnNsq(t, ['tail', 'sig', '--channel', 'durable', '--max-in-flight', '1', '--nsqd-tcp-address', tcp(nsqd)]);
  await waitFor('some output', () => tail.stdout().length > 0);
  const sent = Date.now();
  tail.child.kill('SIGINT');
  t.equal(await exited(tail), 0);
  t.ok(Date.now() - sent < 3000, 'promptly');
  t.equal(tail.stderr(), '');
  const printed = tail.stdout().split('\n');
  t.equal(printed.pop(), '');
  t.ok(printed.length > 0 && printed.length < all.length, `stopped mid-stream (${printed.length} printed)`);
  t.same(printed, all.slice(0, printed.length), 'in order');
  const ch = await waitFor('the tail gone', async () => {
    const c = await channelStats(nsqd, 'sig', 'durable');
    return c !== undefined && c.client_count === 0 && c.in_flight_count === 0 ? c : undefined;
  });
  t.equal(ch.depth, all.length - printed.length, 'every printed message was finished, no other');
});

t.test('the ephemeral channel disappears when the tail exits', async (t) => {
  const nsqd = await startNsqd(t);
  const tail = spawnNsq(t, ['tail', 'eph', '--nsqd-tcp-address', tcp(nsqd)]);
  const channel = await subscribed(nsqd, 'eph');
  t.match(channel, EPHEMERAL_TAIL);
  tail.child.kill('SIGTERM');
  t.equal(await exited(tail), 0);
  const chans = (await topicStats(nsqd, 'eph'))?.channels ?? [];
  t.same(
    chans.map((c) => c.channel_name),
    [],
  );
});

t.test('nsqd not there: one line, exit 1', async (t) => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as { port: number }).port;
  await new Promise<void>((r) => blocker.close(() => r()));
  const tail = spawnNsq(t, ['tail', 'nowhere', '--nsqd-tcp-address', `127.0.0.1:${port}`]);
  t.equal(await exited(tail), 1);
  t.equal(tail.stderr(), `nsq: connect to 127.0.0.1:${port}: connection refused\n`);
  t.notMatch(tail.stderr(), NO_STACK);
  t.equal(tail.stdout(), '');
});

t.test('invoked as nsq_tail: nsq_tail flags, Go-style', async (t) => {
  const nsqd = await startNsqd(t);
  const p = await producer(t, nsqd);
  const dir = mkdtempSync(join(tmpdir(), 'nsq-alias-'));
  const alias = join(dir, 'nsq_tail');
  symlinkSync(BIN, alias);
  const v = spawnNsq(t, ['--version'], { argv0: alias });
  t.equal(await exited(v), 0);
  t.match(v.stdout(), /^nsq_tail v1\.3\.0/);
  const tail = spawnNsq(t, ['-topic=go1', '-topic', 'go2', `-nsqd-tcp-address=${tcp(nsqd)}`, '-channel=gochan', '-max-in-flight=5', '-print-topic', '-n', '2'], { argv0: alias });
  await Promise.all([subscribed(nsqd, 'go1', 'gochan'), subscribed(nsqd, 'go2', 'gochan')]);
  await p.publish('go1', 'one');
  await p.publish('go2', 'two');
  t.equal(await exited(tail), 0);
  t.same(tail.stdout().split('\n').sort(), ['', 'go1 | one', 'go2 | two']);
  const bad = spawnNsq(t, ['-topic=x', '-bogus'], { argv0: alias });
  t.equal(await exited(bad), 2);
  t.match(bad.stderr(), /^nsq_tail: unknown flag --bogus\n$/);
});

// ---- -e / --exit-at-end ------------------------------------------------------------------------

const http = (nsqd: NSQD): string => `127.0.0.1:${nsqd.httpEndpoint.port}`;
const endArgs = (nsqd: NSQD): string[] => ['-e', '--nsqd-tcp-address', tcp(nsqd), '--nsqd-http-address', http(nsqd)];

/** Waits until nothing of `topic`/`channel` is held by a client any more; returns the channel. */
async function settled(nsqd: NSQD, topic: string, channel: string) {
  return waitFor('the channel settled', async () => {
    const c = await channelStats(nsqd, topic, channel);
    return c !== undefined && c.client_count === 0 && c.in_flight_count === 0 ? c : undefined;
  });
}

t.test('-e prints every message the channel holds, exactly once, then exits 0', async (t) => {
  const nsqd = await startNsqd(t);
  const p = await producer(t, nsqd);
  await createChannel(nsqd, 'end', 'keep');
  const all = Array.from({ length: 500 }, (_, i) => `e${i}`);
  await p.mpublish('end', all);
  const tail = spawnNsq(t, ['tail', 'end', '--channel', 'keep', '--max-in-flight', '7', ...endArgs(nsqd)]);
  t.equal(await exited(tail), 0);
  t.equal(tail.stderr(), '');
  t.equal(tail.stdout(), all.map((b) => `${b}\n`).join(''), 'all 500, in order, none twice');
  const ch = await settled(nsqd, 'end', 'keep');
  t.equal(ch.depth, 0, 'nothing left');
  t.equal(ch.requeue_count, 0, 'every message finished');
});

t.test('-e on a topic with nothing in it exits 0 promptly, having printed nothing', async (t) => {
  const nsqd = await startNsqd(t);
  const started = Date.now();
  const tail = spawnNsq(t, ['tail', 'empty', ...endArgs(nsqd)]);
  t.equal(await exited(tail), 0);
  t.ok(Date.now() - started < 5000, `within seconds (${Date.now() - started} ms, start-up included)`);
  t.equal(tail.stdout(), '');
  t.equal(tail.stderr(), '');
  // the default is the tail's own ephemeral channel: gone with it
  t.same((await topicStats(nsqd, 'empty'))?.channels.map((c) => c.channel_name), []);
});

t.test('-e takes the messages that overflowed to disk too (--mem-queue-size), and several topics', async (t) => {
  const nsqd = await startNsqd(t, { memQueueSize: 10 });
  const p = await producer(t, nsqd);
  const bodies: Record<string, string[]> = {};
  for (const topic of ['disk1', 'disk2']) {
    await createChannel(nsqd, topic, 'keep');
    bodies[topic] = Array.from({ length: 300 }, (_, i) => `${topic}-${i}`);
    await p.mpublish(topic, bodies[topic]);
    const c = await channelStats(nsqd, topic, 'keep');
    t.ok((c?.backend_depth ?? 0) > 0, `${topic}: most of it is on disk (${c?.backend_depth})`);
  }
  const tail = spawnNsq(t, ['tail', 'disk1', 'disk2', '--channel', 'keep', '--print-topic', ...endArgs(nsqd)]);
  t.equal(await exited(tail), 0, tail.stderr());
  const lines = tail.stdout().split('\n');
  t.equal(lines.pop(), '');
  t.same([...lines].sort(), [...bodies['disk1']!, ...bodies['disk2']!].map((b) => `${b.slice(0, 5)} | ${b}`).sort(), 'every message of both, once');
  for (const topic of ['disk1', 'disk2']) t.equal((await settled(nsqd, topic, 'keep')).depth, 0);
});

t.test('-e does not end while another consumer holds a message in flight that may come back', async (t) => {
  const nsqd = await startNsqd(t);
  const p = await producer(t, nsqd);
  await createChannel(nsqd, 'held', 'keep');
  await p.publish('held', 'taken');
  const held: Message[] = [];
  const other = new Consumer({ topic: 'held', channel: 'keep', nsqdTcpAddresses: [tcp(nsqd)], maxInFlight: 1, autoFinish: false }, (m) => {
    held.push(m);
  });
  await other.start();
  t.teardown(() => other.stop(0));
  await waitFor('the other consumer holding the message', () => held.length === 1);
  const tail = spawnNsq(t, ['tail', 'held', '--channel', 'keep', ...endArgs(nsqd)]);
  await subscribed(nsqd, 'held', 'keep', 2);
  // nothing to await: give the tail time to look at the channel several times (it looks every 100 ms)
  await new Promise((r) => setTimeout(r, 600));
  t.equal(tail.child.exitCode, null, 'still running: the message in flight is not at the end');
  // the other consumer leaves; its stop puts the message back, and only the tail is left to get it
  await other.stop(0);
  t.equal(await exited(tail), 0);
  t.equal(tail.stdout(), 'taken\n');
  t.equal((await settled(nsqd, 'held', 'keep')).depth, 0);
});

t.test('-e through lookupd: the nodes and their HTTP ports come from lookupd', async (t) => {
  const lookupd = await startLookupd(t);
  const nsqd = await startNsqd(t, { nsqlookupdTcpAddresses: [`127.0.0.1:${lookupd.tcpEndpoint.port}`] });
  const p = await producer(t, nsqd);
  await createChannel(nsqd, 'looked', 'keep');
  await p.mpublish('looked', ['l0', 'l1', 'l2']);
  await waitFor('the topic registered', async () => {
    const res = await fetch(`http://127.0.0.1:${lookupd.httpEndpoint.port}/lookup?topic=looked`);
    return res.status === 200;
  });
  const tail = spawnNsq(t, ['tail', 'looked', '--channel', 'keep', '-e', '--lookupd-http-address', `127.0.0.1:${lookupd.httpEndpoint.port}`]);
  t.equal(await exited(tail), 0, tail.stderr());
  t.equal(tail.stdout(), 'l0\nl1\nl2\n');
});

t.test('-e: flags that cannot work are usage errors; a node that cannot say is exit 1', async (t) => {
  const nsqd = await startNsqd(t);
  const cases: [string[], RegExp, number][] = [
    [['tail', 'x', '-e', '--requeue', '--channel', 'c', '--nsqd-tcp-address', tcp(nsqd), '--nsqd-http-address', http(nsqd)], /^nsq: --exit-at-end and --requeue do not go together/, 2],
    [['tail', 'x', '-e', '--nsqd-tcp-address', tcp(nsqd)], /^nsq: --exit-at-end asks each nsqd's HTTP API .*give one --nsqd-http-address for each --nsqd-tcp-address/, 2],
    [['tail', 'x', '--nsqd-tcp-address', tcp(nsqd), '--nsqd-http-address', http(nsqd)], /^nsq: --nsqd-http-address is only used with --exit-at-end/, 2],
    // the HTTP address of another node: the tail must not trust what that one says
    [['tail', 'x', '-e', '--nsqd-tcp-address', tcp(nsqd), '--nsqd-http-address', `127.0.0.1:${(await startNsqd(t)).httpEndpoint.port}`], /^nsq: --exit-at-end: cannot tell whether the channel is drained: --nsqd-http-address 127\.0\.0\.1:\d+ is the node with TCP port \d+, not --nsqd-tcp-address/, 1],
  ];
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as { port: number }).port;
  await new Promise<void>((r) => blocker.close(() => r()));
  cases.push([['tail', 'x', '-e', '--nsqd-tcp-address', tcp(nsqd), '--nsqd-http-address', `127.0.0.1:${port}`], /^nsq: --exit-at-end: cannot tell whether the channel is drained: connect to 127\.0\.0\.1:\d+: connection refused\n$/, 1]);
  for (const [args, re, code] of cases) {
    const s = spawnNsq(t, args);
    t.equal(await exited(s), code, args.join(' '));
    t.match(s.stderr(), re);
    t.equal(s.stderr().trim().split('\n').length, 1, 'one line');
    t.notMatch(s.stderr(), NO_STACK);
  }
});

// ---- the reader of stdout leaving while nothing is written -------------------------------------

/** `nsq tail ... | head -n 1` under sh, with the tail's pid, exit status and stderr in files, and a file written when head is done. */
function headPipeline(t: Teardown, nsqd: NSQD, topic: string) {
  const dir = mkdtempSync(join(tmpdir(), 'nsq-head-'));
  const f = { err: join(dir, 'stderr'), status: join(dir, 'status'), pid: join(dir, 'pid'), head: join(dir, 'head') };
  const script = '{ "$0" "$1" tail "$2" --channel keep --nsqd-tcp-address "$3" 2>"$4" & echo $! >"$5"; wait $!; echo $? >"$6"; } | { head -n 1; echo done >"$7"; }';
  const sh = spawn('sh', ['-c', script, process.execPath, BIN, topic, tcp(nsqd), f.err, f.pid, f.status, f.head], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (sh.exitCode === null) sh.kill('SIGKILL');
    try {
      process.kill(Number(readFileSync(f.pid, 'utf8')), 'SIGKILL');
    } catch {
      // gone already
    }
  });
  let out = '';
  sh.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) => sh.on('exit', (code) => resolve(code)));
  const headDone = waitFor('head to finish', () => existsSync(f.head), 15_000);
  return { files: f, exit, headDone, out: () => out };
}

/** Processes whose command line mentions `needle` (the tail's reader-watch helper names the tail's pid). */
function processesWith(needle: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(needle)) found.push(`${pid}: ${cmd}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

t.test('| head -n 1 on a quiet topic: the tail exits 0 soon after head, with nothing left behind', { skip: process.platform !== 'linux' && 'the pipe watch is Linux-only' }, async (t) => {
  const nsqd = await startNsqd(t);
  const p = await producer(t, nsqd);
  await createChannel(nsqd, 'quiet', 'keep');
  await p.publish('quiet', 'only');
  const run = headPipeline(t, nsqd, 'quiet');
  await run.headDone;
  const headAt = Date.now();
  // nothing more is published: no write will ever fail
  t.equal(await run.exit, 0);
  t.ok(Date.now() - headAt < 3000, `the pipeline ended ${Date.now() - headAt} ms after head`);
  t.equal(run.out(), 'only\n');
  t.equal(readFileSync(run.files.status, 'utf8').trim(), '0', 'the tail exited 0');
  t.equal(readFileSync(run.files.err, 'utf8'), '', 'and said nothing');
  const pid = readFileSync(run.files.pid, 'utf8').trim();
  t.throws(() => process.kill(Number(pid), 0), { code: 'ESRCH' }, 'the tail is gone');
  await waitFor('no helper left', () => processesWith(`--pid=${pid}`).length === 0, 5000);
  t.equal((await settled(nsqd, 'quiet', 'keep')).depth, 0, 'the message shown was finished');
});

t.test('| head -n 1: messages that reach the tail after head left are put back, not lost', { skip: process.platform !== 'linux' && 'the pipe watch is Linux-only' }, async (t) => {
  const nsqd = await startNsqd(t);
  const p = await producer(t, nsqd);
  await createChannel(nsqd, 'after', 'keep');
  await p.publish('after', 'first');
  const run = headPipeline(t, nsqd, 'after');
  await run.headDone;
  // the tail may still be subscribed: what it gets now it cannot print
  const rest = ['r0', 'r1', 'r2', 'r3', 'r4'];
  await p.mpublish('after', rest);
  t.equal(await run.exit, 0);
  t.equal(run.out(), 'first\n');
  t.equal(readFileSync(run.files.status, 'utf8').trim(), '0');
  t.equal(readFileSync(run.files.err, 'utf8'), '');
  const ch = await settled(nsqd, 'after', 'keep');
  t.equal(ch.depth, rest.length, 'all five still in the channel');
  const got = await drain(t, nsqd, 'after', 'keep', rest.length);
  t.same(got.map((m) => m.body.toString()).sort(), rest, 'and a second consumer gets them');
});

// The nsqd HTTP API: routes, status codes and `{"message": ...}` bodies as nsqd 1.3 answers them
// (docs/nsqd-behaviour.md §5), checked with fetch against an engine on a random port.

import t, { type Test } from 'tap';
import { encodeCommand, encodePub } from '../../src/protocol/encoders.js';
import type { NSQD } from '../../src/nsqd/nsqd.js';
import type { NsqdOptions } from '../../src/nsqd/options.js';
import { startNsqd } from '../helpers/nsqd.js';
import { checkHeadLimits, rawHttp } from '../helpers/http.js';
import { RawConn } from '../helpers/raw.js';
import { channelStats, getStats, httpBase, topicStats, waitFor } from '../helpers/stats.js';
import type { TopicStats } from '../../src/protocol/stats-json.js';

interface Answer {
  status: number;
  text: string;
  headers: Headers;
}

async function call(nsqd: NSQD, method: string, path: string, body?: string | Buffer | ReadableStream<Uint8Array>): Promise<Answer> {
  const init: RequestInit & { duplex?: 'half' } = { method, signal: AbortSignal.timeout(5000) };
  if (body !== undefined) {
    init.body = body;
    if (body instanceof ReadableStream) init.duplex = 'half';
  }
  const res = await fetch(`${httpBase(nsqd)}${path}`, init);
  return { status: res.status, text: await res.text(), headers: res.headers };
}

const post = (nsqd: NSQD, path: string, body?: string | Buffer | ReadableStream<Uint8Array>): Promise<Answer> => call(nsqd, 'POST', path, body);
const get = (nsqd: NSQD, path: string): Promise<Answer> => call(nsqd, 'GET', path);

/** An nsqd JSON error: status, body and content type exactly. */
function isError(t: Test, a: Answer, status: number, message: string, what = `${status} ${message}`): void {
  t.same({ status: a.status, text: a.text }, { status, text: JSON.stringify({ message }) }, what);
  t.equal(a.headers.get('content-type'), 'application/json; charset=utf-8', `${what}: JSON content type`);
  t.equal(a.headers.get('x-nsq-content-type'), 'nsq; version=1.0', `${what}: X-NSQ-Content-Type`);
}

/** 200 with an empty body (the routes that return nil in nsqd). */
function isEmptyOk(t: Test, a: Answer, what: string): void {
  t.same({ status: a.status, text: a.text }, { status: 200, text: '' }, `${what}: 200 with an empty body`);
}

function isOk(t: Test, a: Answer, what: string): void {
  t.same({ status: a.status, text: a.text }, { status: 200, text: 'OK' }, `${what}: 200 OK`);
}

function start(t: Test, options: Partial<NsqdOptions> = {}): Promise<NSQD> {
  return startNsqd(t, options);
}

function binaryBatch(bodies: (string | Buffer)[], count = bodies.length): Buffer {
  const parts: Buffer[] = [];
  const c = Buffer.alloc(4);
  c.writeInt32BE(count);
  parts.push(c);
  for (const b of bodies) {
    const buf = typeof b === 'string' ? Buffer.from(b) : b;
    const s = Buffer.alloc(4);
    s.writeInt32BE(buf.length);
    parts.push(s, buf);
  }
  return Buffer.concat(parts);
}

/** A request body sent chunked (no Content-Length), so the server must count what it reads. */
function chunked(data: Buffer, pieces = 4): ReadableStream<Uint8Array> {
  const step = Math.ceil(data.length / pieces);
  let pos = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pos >= data.length) {
        controller.close();
        return;
      }
      controller.enqueue(new Uint8Array(data.subarray(pos, pos + step)));
      pos += step;
    },
  });
}

// ---- /ping, /info, routing ------------------------------------------------------------------------

// nsqd takes 1 MiB of request line and headers (Go's http.DefaultMaxHeaderBytes); Node's default is 16 KiB
t.test('request heads up to 1 MiB are read; a longer one gets 431 and the server goes on', async (t) => {
  const nsqd = await start(t);
  const port = nsqd.httpEndpoint.port;
  const pad = 'a'.repeat(100 * 1024);
  const query = await rawHttp(port, `POST /pub?topic=long-query&pad=${pad} HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody`);
  t.same([query.status, query.body], [200, 'OK'], 'a 100 KiB query string: the PUB is taken');
  t.equal((await topicStats(nsqd, 'long-query'))?.depth, 1, 'and the message queued');
  await checkHeadLimits(t, port);
  isOk(t, await get(nsqd, '/ping'), 'the server still answers');
});

t.test('GET /ping: 200 OK as plain text, without the V1 header', async (t) => {
  const nsqd = await start(t);
  const a = await get(nsqd, '/ping');
  t.equal(a.status, 200);
  t.equal(a.text, 'OK');
  t.match(a.headers.get('content-type'), /^text\/plain/);
  t.equal(a.headers.get('x-nsq-content-type'), null, 'PlainText routes do not set X-NSQ-Content-Type');
});

t.test('GET /info: fields in nsqd order with nsqd units', async (t) => {
  const nsqd = await start(t);
  const a = await get(nsqd, '/info');
  t.equal(a.status, 200);
  t.equal(a.headers.get('content-type'), 'application/json; charset=utf-8');
  t.equal(a.headers.get('x-nsq-content-type'), 'nsq; version=1.0');
  const info = JSON.parse(a.text) as Record<string, unknown>;
  t.same(Object.keys(info), [
    'version',
    'broadcast_address',
    'hostname',
    'http_port',
    'tcp_port',
    'start_time',
    'max_heartbeat_interval',
    'max_output_buffer_size',
    'max_output_buffer_timeout',
    'max_deflate_level',
  ]);
  t.equal(info['version'], '1.3.0');
  t.equal(info['http_port'], nsqd.httpEndpoint.port);
  t.equal(info['tcp_port'], nsqd.tcpEndpoint.port);
  t.type(info['broadcast_address'], 'string');
  t.type(info['hostname'], 'string');
  const now = Math.floor(Date.now() / 1000);
  t.ok(typeof info['start_time'] === 'number' && info['start_time'] <= now && info['start_time'] > now - 600, 'start_time is unix seconds');
  t.equal(info['max_heartbeat_interval'], 60_000_000_000, 'nanoseconds');
  t.equal(info['max_output_buffer_size'], 65536);
  t.equal(info['max_output_buffer_timeout'], 30_000_000_000, 'nanoseconds');
  t.equal(info['max_deflate_level'], 6);
});

t.test('unknown path: 404 NOT_FOUND; wrong method: 405 METHOD_NOT_ALLOWED with Allow', async (t) => {
  const nsqd = await start(t);
  isError(t, await get(nsqd, '/nope'), 404, 'NOT_FOUND');
  isError(t, await post(nsqd, '/topic/nope?topic=x'), 404, 'NOT_FOUND');
  const a = await get(nsqd, '/pub?topic=x');
  isError(t, a, 405, 'METHOD_NOT_ALLOWED', 'GET /pub');
  t.match(a.headers.get('allow'), /POST/, 'Allow names POST');
  isError(t, await get(nsqd, '/topic/create?topic=x'), 405, 'METHOD_NOT_ALLOWED', 'GET /topic/create');
  isError(t, await post(nsqd, '/stats'), 405, 'METHOD_NOT_ALLOWED', 'POST /stats');
  t.equal(nsqd.getExistingTopic('x'), undefined, 'refused requests created nothing');
});

// ---- /pub -----------------------------------------------------------------------------------------

t.test('POST /pub', async (t) => {
  const nsqd = await start(t, { maxMsgSize: 1024 });
  await t.test('publishes: 200 OK, text, with the V1 header', async (t) => {
    const a = await post(nsqd, '/pub?topic=p', 'hello');
    isOk(t, a, '/pub');
    t.match(a.headers.get('content-type'), /^text\/plain/);
    t.equal(a.headers.get('x-nsq-content-type'), 'nsq; version=1.0');
    const ts = await topicStats(nsqd, 'p');
    t.equal(ts?.depth, 1);
    t.equal(ts?.message_bytes, 5);
  });
  await t.test('empty body: 400 MSG_EMPTY (checked before the topic)', async (t) => {
    isError(t, await post(nsqd, '/pub?topic=p', ''), 400, 'MSG_EMPTY');
    isError(t, await post(nsqd, '/pub', ''), 400, 'MSG_EMPTY', 'no topic either');
  });
  await t.test('body over max-msg-size: 413 MSG_TOO_BIG; exactly the max is fine', async (t) => {
    isError(t, await post(nsqd, '/pub?topic=big', Buffer.alloc(1025, 97)), 413, 'MSG_TOO_BIG');
    isError(t, await post(nsqd, '/pub?topic=big', chunked(Buffer.alloc(1025, 97))), 413, 'MSG_TOO_BIG', 'chunked, no Content-Length');
    isOk(t, await post(nsqd, '/pub?topic=big', Buffer.alloc(1024, 97)), 'exactly max-msg-size');
    isOk(t, await post(nsqd, '/pub?topic=big', chunked(Buffer.alloc(1024, 97))), 'exactly max-msg-size, chunked');
    t.equal((await topicStats(nsqd, 'big'))?.depth, 2, 'only the two accepted messages were queued');
  });
  await t.test('topic argument', async (t) => {
    isError(t, await post(nsqd, '/pub', 'x'), 400, 'MISSING_ARG_TOPIC');
    isError(t, await post(nsqd, '/pub?topic=bad!', 'x'), 400, 'INVALID_TOPIC');
    isError(t, await post(nsqd, `/pub?topic=${'a'.repeat(65)}`, 'x'), 400, 'INVALID_TOPIC', '65 characters');
    isOk(t, await post(nsqd, `/pub?topic=${'a'.repeat(64)}`, 'x'), '64 characters');
    isOk(t, await post(nsqd, '/pub?topic=e%23ephemeral', 'x'), '#ephemeral topic (URL-encoded #)');
  });
  await t.test('defer', async (t) => {
    isError(t, await post(nsqd, '/pub?topic=d&defer=abc', 'x'), 400, 'INVALID_DEFER', 'defer=abc');
    isError(t, await post(nsqd, '/pub?topic=d&defer=3600001', 'x'), 400, 'INVALID_DEFER', 'defer above max-req-timeout');
    isError(t, await post(nsqd, '/pub?topic=d&defer=-5', 'x'), 400, 'INVALID_DEFER', 'negative defer');
    isError(t, await post(nsqd, '/pub?topic=d&defer=1.5', 'x'), 400, 'INVALID_DEFER', 'fractional defer');
    isOk(t, await post(nsqd, '/pub?topic=d&defer=3600000', 'x'), 'defer at the inclusive maximum');
    isOk(t, await post(nsqd, '/pub?topic=d&defer=%2B5', 'x'), 'defer=+5 parses as 5');
    isOk(t, await post(nsqd, '/pub?topic=d&defer=0', 'x'), 'defer=0');
    isError(t, await post(nsqd, '/pub?topic=created-anyway&defer=abc', 'x'), 400, 'INVALID_DEFER');
    t.ok(nsqd.getExistingTopic('created-anyway'), 'nsqd creates the topic before checking defer');
  });
});

t.test('POST /pub?defer holds the message back for that long', async (t) => {
  const nsqd = await start(t);
  isEmptyOk(t, await post(nsqd, '/topic/create?topic=later'), 'topic/create');
  isEmptyOk(t, await post(nsqd, '/channel/create?topic=later&channel=c'), 'channel/create');
  const sent = Date.now();
  isOk(t, await post(nsqd, '/pub?topic=later&defer=400', 'x'), '/pub with defer');
  const ch = await channelStats(nsqd, 'later', 'c');
  t.equal(ch?.deferred_count, 1, 'deferred in the channel');
  t.equal(ch?.depth, 0, 'not yet ready');
  await waitFor('the deferred message to become ready', async () => (await channelStats(nsqd, 'later', 'c'))?.depth === 1, 3000);
  const took = Date.now() - sent;
  t.ok(took >= 350, `ready after about 400ms (${took}ms)`);
  t.equal((await channelStats(nsqd, 'later', 'c'))?.deferred_count, 0);
});

// ---- /mpub ----------------------------------------------------------------------------------------

t.test('POST /mpub text mode', async (t) => {
  const nsqd = await start(t, { maxMsgSize: 100, maxBodySize: 1000 });
  await t.test('one message per line, empty lines skipped, \\r kept', async (t) => {
    isOk(t, await post(nsqd, '/mpub?topic=lines', 'one\n\ntwo\r\n\nthree\n'), '/mpub');
    const ts = await topicStats(nsqd, 'lines');
    t.equal(ts?.depth, 3, 'three messages');
    t.equal(ts?.message_bytes, 3 + 4 + 5, '"two\\r" keeps its \\r');
  });
  await t.test('binary=0 and binary=false are text mode', async (t) => {
    isOk(t, await post(nsqd, '/mpub?topic=t0&binary=0', 'a\nb'), 'binary=0');
    isOk(t, await post(nsqd, '/mpub?topic=t0&binary=false', 'c\nd'), 'binary=false');
    t.equal((await topicStats(nsqd, 't0'))?.depth, 4);
  });
  await t.test('an empty body publishes nothing and answers OK', async (t) => {
    isOk(t, await post(nsqd, '/mpub?topic=none', ''), 'empty /mpub');
    t.equal((await topicStats(nsqd, 'none'))?.depth, 0);
  });
  await t.test('a line over max-msg-size: 413 MSG_TOO_BIG, nothing published', async (t) => {
    isError(t, await post(nsqd, '/mpub?topic=toolong', `ok\n${'x'.repeat(101)}\nok`), 413, 'MSG_TOO_BIG');
    t.equal((await topicStats(nsqd, 'toolong'))?.depth ?? 0, 0, 'all or nothing');
    isOk(t, await post(nsqd, '/mpub?topic=toolong', `${'x'.repeat(100)}\n`), 'a line of exactly max-msg-size');
  });
  await t.test('body over max-body-size: 413 BODY_TOO_BIG', async (t) => {
    isError(t, await post(nsqd, '/mpub?topic=huge', Buffer.alloc(1001, 10)), 413, 'BODY_TOO_BIG');
    isError(t, await post(nsqd, '/mpub?topic=huge', chunked(Buffer.alloc(1001, 10))), 413, 'BODY_TOO_BIG', 'chunked, no Content-Length');
    t.equal((await topicStats(nsqd, 'huge'))?.depth ?? 0, 0);
  });
  await t.test('topic argument', async (t) => {
    isError(t, await post(nsqd, '/mpub', 'x'), 400, 'MISSING_ARG_TOPIC');
    isError(t, await post(nsqd, '/mpub?topic=a/b', 'x'), 400, 'INVALID_TOPIC');
  });
});

t.test('POST /mpub binary mode', async (t) => {
  const nsqd = await start(t, { maxMsgSize: 100, maxBodySize: 1000 });
  await t.test('a valid batch', async (t) => {
    isOk(t, await post(nsqd, '/mpub?topic=bin&binary=true', binaryBatch(['a', 'b\nc', Buffer.from([0, 10, 13])])), 'binary=true');
    isOk(t, await post(nsqd, '/mpub?topic=bin&binary=1', binaryBatch(['d'])), 'binary=1');
    const ts = await topicStats(nsqd, 'bin');
    t.equal(ts?.depth, 4, 'newlines inside binary messages do not split them');
  });
  const cases: [string, Buffer, string][] = [
    ['count 0', binaryBatch([], 0), 'BAD_BODY'],
    ['count -1', binaryBatch([], -1), 'BAD_BODY'],
    ['shorter than the count', Buffer.from([0, 0]), 'BAD_BODY'],
    ['empty body', Buffer.alloc(0), 'BAD_BODY'],
    ['count over the limit', binaryBatch(['a'], 200), 'BAD_BODY'],
    ['message size 0', binaryBatch(['a', '']), 'BAD_MESSAGE'],
    ['message over max-msg-size', binaryBatch(['a', 'x'.repeat(101)]), 'BAD_MESSAGE'],
    ['count beyond the messages', binaryBatch(['a'], 2), 'BAD_MESSAGE'],
    ['truncated message', binaryBatch(['abcdef']).subarray(0, 4 + 4 + 3), 'BAD_MESSAGE'],
  ];
  for (const [name, body, message] of cases) {
    await t.test(name, async (t) => {
      isError(t, await post(nsqd, '/mpub?topic=badbin&binary=true', body), 413, message);
    });
  }
  t.equal((await topicStats(nsqd, 'badbin'))?.depth ?? 0, 0, 'no bad batch published anything');
  t.equal((await topicStats(nsqd, 'badbin'))?.message_count ?? 0, 0);
});

// ---- topics -----------------------------------------------------------------------------------------

t.test('/topic/create', async (t) => {
  const nsqd = await start(t);
  isEmptyOk(t, await post(nsqd, '/topic/create?topic=made'), 'create');
  isEmptyOk(t, await post(nsqd, '/topic/create?topic=made'), 'create again (idempotent)');
  t.ok(nsqd.getExistingTopic('made'));
  isError(t, await post(nsqd, '/topic/create'), 400, 'MISSING_ARG_TOPIC');
  isError(t, await post(nsqd, '/topic/create?topic=no!'), 400, 'INVALID_TOPIC');
  isError(t, await post(nsqd, '/topic/create?topic=%zz'), 400, 'INVALID_REQUEST', 'malformed query');
});

t.test('/topic/delete', async (t) => {
  const nsqd = await start(t);
  isError(t, await post(nsqd, '/topic/delete'), 400, 'MISSING_ARG_TOPIC');
  isError(t, await post(nsqd, '/topic/delete?topic=ghost'), 404, 'TOPIC_NOT_FOUND');
  isError(t, await post(nsqd, '/topic/delete?topic=not!valid'), 404, 'TOPIC_NOT_FOUND', 'the name is not validated');
  isOk(t, await post(nsqd, '/pub?topic=doomed', 'x'), 'pub');
  isEmptyOk(t, await post(nsqd, '/topic/delete?topic=doomed'), 'delete');
  t.equal(await topicStats(nsqd, 'doomed'), undefined, 'gone from /stats');
  isError(t, await post(nsqd, '/topic/delete?topic=doomed'), 404, 'TOPIC_NOT_FOUND', 'second delete');
});

t.test('/topic/delete disconnects its consumers', async (t) => {
  const nsqd = await start(t);
  const c = await RawConn.open(nsqd.tcpEndpoint.port);
  t.teardown(() => c.close());
  c.send(encodeCommand('SUB', 'kill', 'c'));
  t.equal((await c.next())?.text, 'OK');
  isEmptyOk(t, await post(nsqd, '/topic/delete?topic=kill'), 'delete');
  t.equal(await c.next(3000), null, 'the consumer connection is closed without a frame');
});

t.test('/topic/empty', async (t) => {
  const nsqd = await start(t);
  isError(t, await post(nsqd, '/topic/empty'), 400, 'MISSING_ARG_TOPIC');
  isError(t, await post(nsqd, '/topic/empty?topic=bad!'), 400, 'INVALID_TOPIC');
  isError(t, await post(nsqd, '/topic/empty?topic=ghost'), 404, 'TOPIC_NOT_FOUND');
  isOk(t, await post(nsqd, '/mpub?topic=full', 'a\nb\nc'), 'mpub');
  t.equal((await topicStats(nsqd, 'full'))?.depth, 3);
  isEmptyOk(t, await post(nsqd, '/topic/empty?topic=full'), 'empty');
  t.equal((await topicStats(nsqd, 'full'))?.depth, 0, 'topic emptied');
});

t.test('/topic/pause and /topic/unpause', async (t) => {
  const nsqd = await start(t);
  isError(t, await post(nsqd, '/topic/pause'), 400, 'MISSING_ARG_TOPIC');
  isError(t, await post(nsqd, '/topic/unpause'), 400, 'MISSING_ARG_TOPIC');
  isError(t, await post(nsqd, '/topic/pause?topic=ghost'), 404, 'TOPIC_NOT_FOUND');
  isError(t, await post(nsqd, '/topic/pause?topic=bad!'), 404, 'TOPIC_NOT_FOUND', 'the name is not validated');
  isError(t, await post(nsqd, '/topic/unpause?topic=ghost'), 404, 'TOPIC_NOT_FOUND');
  isEmptyOk(t, await post(nsqd, '/topic/create?topic=pz'), 'create');
  isEmptyOk(t, await post(nsqd, '/channel/create?topic=pz&channel=c'), 'channel');
  isEmptyOk(t, await post(nsqd, '/topic/pause?topic=pz'), 'pause');
  t.equal((await topicStats(nsqd, 'pz'))?.paused, true, 'paused in /stats');
  isOk(t, await post(nsqd, '/pub?topic=pz', 'x'), 'pub while paused');
  let ts = await topicStats(nsqd, 'pz');
  t.equal(ts?.depth, 1, 'the message waits in the paused topic');
  t.equal(ts?.channels[0]?.depth, 0, 'the channel gets nothing');
  isEmptyOk(t, await post(nsqd, '/topic/unpause?topic=pz'), 'unpause');
  ts = await topicStats(nsqd, 'pz');
  t.equal(ts?.paused, false);
  t.equal(ts?.depth, 0);
  t.equal(ts?.channels[0]?.depth, 1, 'the message flows to the channel after unpause');
});

// ---- channels ---------------------------------------------------------------------------------------

t.test('channel routes: common argument checks', async (t) => {
  const nsqd = await start(t);
  isEmptyOk(t, await post(nsqd, '/topic/create?topic=ct'), 'create topic');
  for (const route of ['create', 'delete', 'empty', 'pause', 'unpause']) {
    await t.test(`/channel/${route}`, async (t) => {
      const path = `/channel/${route}`;
      isError(t, await post(nsqd, `${path}?channel=c`), 400, 'MISSING_ARG_TOPIC');
      isError(t, await post(nsqd, `${path}?topic=bad!&channel=c`), 400, 'INVALID_ARG_TOPIC', 'invalid topic is INVALID_ARG_TOPIC here');
      isError(t, await post(nsqd, `${path}?topic=ct`), 400, 'MISSING_ARG_CHANNEL');
      isError(t, await post(nsqd, `${path}?topic=ct&channel=bad!`), 400, 'INVALID_ARG_CHANNEL');
      isError(t, await post(nsqd, `${path}?topic=ct&channel=${'c'.repeat(65)}`), 400, 'INVALID_ARG_CHANNEL', '65-char channel');
      isError(t, await post(nsqd, `${path}?topic=ghost&channel=c`), 404, 'TOPIC_NOT_FOUND');
      if (route !== 'create') isError(t, await post(nsqd, `${path}?topic=ct&channel=ghost`), 404, 'CHANNEL_NOT_FOUND');
    });
  }
  t.equal(nsqd.getExistingTopic('ghost'), undefined, 'channel routes never create topics');
});

t.test('/channel/create, /channel/delete', async (t) => {
  const nsqd = await start(t);
  isEmptyOk(t, await post(nsqd, '/topic/create?topic=ch'), 'create topic');
  isEmptyOk(t, await post(nsqd, '/channel/create?topic=ch&channel=one'), 'create channel');
  isEmptyOk(t, await post(nsqd, '/channel/create?topic=ch&channel=one'), 'create again (idempotent)');
  isEmptyOk(t, await post(nsqd, `/channel/create?topic=ch&channel=${'c'.repeat(54)}%23ephemeral`), '64-char ephemeral channel');
  t.same(
    (await topicStats(nsqd, 'ch'))?.channels.map((c) => c.channel_name),
    [`${'c'.repeat(54)}#ephemeral`, 'one'],
    'both channels, sorted by name',
  );
  isEmptyOk(t, await post(nsqd, '/channel/delete?topic=ch&channel=one'), 'delete');
  t.same(
    (await topicStats(nsqd, 'ch'))?.channels.map((c) => c.channel_name),
    [`${'c'.repeat(54)}#ephemeral`],
  );
  isError(t, await post(nsqd, '/channel/delete?topic=ch&channel=one'), 404, 'CHANNEL_NOT_FOUND', 'second delete');
});

t.test('/channel/empty, /channel/pause, /channel/unpause', async (t) => {
  const nsqd = await start(t);
  isEmptyOk(t, await post(nsqd, '/topic/create?topic=ce'), 'create topic');
  isEmptyOk(t, await post(nsqd, '/channel/create?topic=ce&channel=c'), 'create channel');
  isOk(t, await post(nsqd, '/mpub?topic=ce', 'a\nb'), 'mpub');
  t.equal((await channelStats(nsqd, 'ce', 'c'))?.depth, 2);
  isEmptyOk(t, await post(nsqd, '/channel/empty?topic=ce&channel=c'), 'empty');
  t.equal((await channelStats(nsqd, 'ce', 'c'))?.depth, 0, 'channel emptied');

  const c = await RawConn.open(nsqd.tcpEndpoint.port);
  t.teardown(() => c.close());
  c.send(encodeCommand('SUB', 'ce', 'c'));
  t.equal((await c.next())?.text, 'OK');
  c.send('RDY 5\n');
  isEmptyOk(t, await post(nsqd, '/channel/pause?topic=ce&channel=c'), 'pause');
  t.equal((await channelStats(nsqd, 'ce', 'c'))?.paused, true, 'paused in /stats');
  isOk(t, await post(nsqd, '/pub?topic=ce', 'held'), 'pub while paused');
  t.ok(await c.quietFor(300), 'a paused channel delivers nothing');
  t.equal((await channelStats(nsqd, 'ce', 'c'))?.depth, 1, 'the message waits in the channel');
  isEmptyOk(t, await post(nsqd, '/channel/unpause?topic=ce&channel=c'), 'unpause');
  const f = await c.next(3000);
  t.equal(f?.type, 2, 'delivered after unpause');
  t.equal(f?.data.subarray(26).toString(), 'held');
  t.equal((await channelStats(nsqd, 'ce', 'c'))?.paused, false);
});

// ---- /stats -----------------------------------------------------------------------------------------

t.test('/stats text format', async (t) => {
  const nsqd = await start(t);
  const empty = await get(nsqd, '/stats');
  t.equal(empty.status, 200);
  t.match(empty.headers.get('content-type'), /^text\/plain/);
  t.equal(empty.headers.get('x-nsq-content-type'), 'nsq; version=1.0');
  t.match(empty.text, /^nsqd v1\.3\.0 \(built w\/.+\)\nstart_time \S+\nuptime \S+\n\nHealth: OK\n/, 'header lines');
  t.match(empty.text, /\nTopics: None\n/);
  t.match(empty.text, /\nProducers: None\n$/);

  isEmptyOk(t, await post(nsqd, '/topic/create?topic=st'), 'create topic');
  isEmptyOk(t, await post(nsqd, '/channel/create?topic=st&channel=ch'), 'create channel');
  isOk(t, await post(nsqd, '/mpub?topic=st', 'a\nb'), 'mpub');
  isEmptyOk(t, await post(nsqd, '/topic/create?topic=zz'), 'another topic');
  isEmptyOk(t, await post(nsqd, '/topic/pause?topic=zz'), 'pause it');
  const a = await get(nsqd, '/stats');
  const lines = a.text.split('\n');
  t.ok(lines.includes('   [st             ] depth: 0     be-depth: 0     msgs: 2        e2e%: '), 'topic line');
  t.ok(
    lines.includes('      [ch                       ] depth: 2     be-depth: 0     inflt: 0    def: 0    re-q: 0     timeout: 0     msgs: 2        e2e%: '),
    'channel line',
  );
  t.ok(lines.includes('*P [zz             ] depth: 0     be-depth: 0     msgs: 0        e2e%: '), 'paused topic line');
  t.match(a.text, /\nTopics:\n {3}\[st /, 'no blank line right after "Topics:"');
  t.match(a.text, /msgs: 2 {8}e2e%: \n {6}\[ch/, 'channel right under its topic');
  t.match(a.text, /\n\n\*P \[zz/, 'a blank line between topics');
  t.match(a.text, /\nMemory:\n {3}heap_objects {13}\t\d+\n/, 'memory section');
  t.match(a.text, /\nProducers: None\n$/, 'HTTP publishes are not producers');
  t.notMatch((await get(nsqd, '/stats?include_mem=false')).text, /Memory:/, 'include_mem=false drops the memory section');
});

t.test('/stats text lists TCP consumers and producers', async (t) => {
  const nsqd = await start(t);
  const c = await RawConn.open(nsqd.tcpEndpoint.port);
  t.teardown(() => c.close());
  c.send(encodeCommand('SUB', 'tc', 'ch'));
  t.equal((await c.next())?.text, 'OK');
  c.send(encodePub('tc', 'x'));
  t.equal((await c.next())?.text, 'OK');
  const text = (await get(nsqd, '/stats')).text;
  t.match(text, /\nProducers:\n {3}\[V2 \S+:\d+ +\] msgs: 1 {7} topics: tc=1 connected: \d+s\n/, 'producer line');
  t.match(text, /\n {8}\[V2 /, 'client line under the channel');
});

t.test('/stats?format=json shapes', async (t) => {
  const nsqd = await start(t);
  const empty = await getStats(nsqd);
  t.same(Object.keys(empty), ['version', 'health', 'start_time', 'topics', 'memory', 'producers'], 'top-level keys in order');
  t.equal(empty.version, '1.3.0');
  t.equal(empty.health, 'OK');
  t.same(empty.topics, [], 'topics is [] with no topics');
  t.equal(empty.producers, null, 'producers is null with none');

  const c = await RawConn.open(nsqd.tcpEndpoint.port);
  t.teardown(() => c.close());
  c.send(encodeCommand('SUB', 'js', 'ch'));
  t.equal((await c.next())?.text, 'OK');
  c.send(encodePub('js', 'hello'));
  t.equal((await c.next())?.text, 'OK');

  const s = await getStats(nsqd);
  const topic = s.topics?.[0];
  t.same(Object.keys(topic ?? {}), ['topic_name', 'channels', 'depth', 'backend_depth', 'message_count', 'message_bytes', 'paused', 'e2e_processing_latency']);
  t.equal(topic?.message_count, 1);
  t.equal(topic?.message_bytes, 5);
  t.same((topic as unknown as Record<string, unknown>)['e2e_processing_latency'], { count: 0, percentiles: null });
  const ch = topic?.channels[0];
  t.same(Object.keys(ch ?? {}), [
    'channel_name',
    'depth',
    'backend_depth',
    'in_flight_count',
    'deferred_count',
    'message_count',
    'requeue_count',
    'timeout_count',
    'client_count',
    'clients',
    'paused',
    'e2e_processing_latency',
    // ours (docs/dead-letters.md), after nsqd's
    'max_attempts',
    'dead_letter_topic',
    'dead_lettered_count',
    // ours (docs/ordered-channels.md): head_* only on an ordered channel
    'ordered',
  ]);
  t.equal(ch?.client_count, 1);
  t.equal(ch?.depth, 1);
  const client = ch?.clients?.[0];
  t.same(Object.keys(client ?? {}), [
    'client_id',
    'hostname',
    'version',
    'remote_address',
    'state',
    'ready_count',
    'in_flight_count',
    'message_count',
    'finish_count',
    'requeue_count',
    'connect_ts',
    'sample_rate',
    'deflate',
    'snappy',
    'user_agent',
    'pub_counts',
    'tls',
    'tls_cipher_suite',
    'tls_version',
    'tls_negotiated_protocol',
    'tls_negotiated_protocol_is_mutual',
  ]);
  t.equal(client?.version, 'V2');
  t.equal(client?.state, 3, 'subscribed is state 3');
  t.equal(client?.client_id, '127.0.0.1', 'client_id defaults to the remote IP');
  t.match(client?.remote_address, /^127\.0\.0\.1:\d+$/);
  t.same(client?.pub_counts, [{ topic: 'js', count: 1 }]);
  t.equal(s.producers?.length, 1, 'the TCP publisher is a producer');
  t.same(Object.keys((s as unknown as Record<string, unknown>)['memory'] ?? {}), [
    'heap_objects',
    'heap_idle_bytes',
    'heap_in_use_bytes',
    'heap_released_bytes',
    'gc_pause_usec_100',
    'gc_pause_usec_99',
    'gc_pause_usec_95',
    'next_gc_bytes',
    'gc_total_runs',
    'rss_bytes',
  ]);

  const noClients = await getStats(nsqd, '&include_clients=false');
  t.equal(noClients.topics?.[0]?.channels[0]?.clients, null, 'include_clients=false: clients is null');
  t.equal(noClients.topics?.[0]?.channels[0]?.client_count, 1, 'client_count still filled');
  t.equal(noClients.producers, null, 'include_clients=false: producers is null');
  const noMem = await getStats(nsqd, '&include_mem=false');
  t.notOk('memory' in noMem, 'include_mem=false omits memory');
  const missing = await getStats(nsqd, '&topic=ghost');
  t.equal(missing.topics, null, 'topic filter with no match: topics is null');
  t.equal(missing.producers, null);
  isEmptyOk(t, await post(nsqd, '/topic/create?topic=other'), 'another topic');
  const filtered = await getStats(nsqd, '&topic=js');
  t.same(filtered.topics?.map((x) => x.topic_name), ['js'], 'topic filter');
  const byChannel = await getStats(nsqd, '&channel=ch');
  t.same(byChannel.topics?.map((x) => x.topic_name), ['js'], 'channel filter drops topics without it');
});

// ---- /config ------------------------------------------------------------------------------------------

t.test('/config', async (t) => {
  const nsqd = await start(t);
  const mt = await get(nsqd, '/config/msg_timeout');
  t.same({ status: mt.status, text: mt.text }, { status: 200, text: '60000000000' }, 'msg_timeout in nanoseconds');
  t.equal(mt.headers.get('content-type'), 'application/json; charset=utf-8');
  t.equal(mt.headers.get('x-nsq-content-type'), 'nsq; version=1.0');
  t.equal((await get(nsqd, '/config/max_msg_size')).text, '1048576');
  const addr = await get(nsqd, '/config/tcp_address');
  t.equal(addr.text, '127.0.0.1:0', 'strings are returned raw, unquoted');
  t.match(addr.headers.get('content-type'), /^text\/plain/);
  t.equal((await get(nsqd, '/config/nsqlookupd_tcp_addresses')).text, '[]');
  t.equal((await get(nsqd, '/config/e2e_processing_latency_percentiles')).text, 'null');
  t.equal((await get(nsqd, '/config/log_level')).text, '2', 'log level as a number (info = 2)');
  isError(t, await get(nsqd, '/config/no_such_option'), 400, 'INVALID_OPTION');

  const put = await call(nsqd, 'PUT', '/config/log_level', 'FATAL');
  t.same({ status: put.status, text: put.text }, { status: 200, text: '5' }, 'PUT log_level answers the new value');
  t.equal((await get(nsqd, '/config/log_level')).text, '5', 'and GET sees it');
  isError(t, await call(nsqd, 'PUT', '/config/log_level', 'loud'), 400, 'INVALID_VALUE');
  isError(t, await call(nsqd, 'PUT', '/config/log_level', ''), 413, 'INVALID_VALUE', 'empty body');
  isError(t, await call(nsqd, 'PUT', '/config/nsqlookupd_tcp_addresses', 'not json'), 400, 'INVALID_VALUE');
  isError(t, await call(nsqd, 'PUT', '/config/msg_timeout', '1000'), 400, 'INVALID_OPTION', 'PUT of an option that cannot change');
  isError(t, await call(nsqd, 'PUT', '/config/no_such_option', 'x'), 400, 'INVALID_OPTION');
  isError(t, await call(nsqd, 'DELETE', '/config/log_level'), 405, 'METHOD_NOT_ALLOWED');
  t.equal((await get(nsqd, '/config/msg_timeout')).text, '60000000000', 'unchanged');
});

t.test('X-NSQ-Content-Type on every V1 answer, success or error', async (t) => {
  const nsqd = await start(t);
  const answers = [
    await get(nsqd, '/info'),
    await get(nsqd, '/stats'),
    await get(nsqd, '/stats?format=json'),
    await post(nsqd, '/pub?topic=h', 'x'),
    await post(nsqd, '/mpub?topic=h', 'x'),
    await post(nsqd, '/topic/create?topic=h2'),
    await post(nsqd, '/pub', 'x'),
    await get(nsqd, '/config/msg_timeout'),
  ];
  for (const a of answers) t.equal(a.headers.get('x-nsq-content-type'), 'nsq; version=1.0', `status ${a.status}: ${a.text.slice(0, 30)}`);
});

t.test('GET /metrics: Prometheus text with topic and channel figures', async (t) => {
  const nsqd = await startNsqd(t);
  const topic = nsqd.getTopic('m');
  const ch = topic.getChannel('c');
  const body = Buffer.from('x');
  for (let i = 0; i < 3; i++) topic.publish(body, 0, 1);
  ch.pause();
  const res = await fetch(`http://127.0.0.1:${nsqd.httpEndpoint.port}/metrics`);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await res.text();
  t.match(text, /^# HELP nsq_topic_depth /m);
  t.match(text, /^# TYPE nsq_topic_messages_total counter$/m);
  t.match(text, /^nsq_topic_messages_total\{topic="m"\} 3$/m);
  t.match(text, /^nsq_channel_depth\{topic="m",channel="c"\} 3$/m);
  t.match(text, /^nsq_channel_paused\{topic="m",channel="c"\} 1$/m);
  t.match(text, /^nsq_healthy 1$/m);
  t.match(text, /^process_resident_memory_bytes \d+$/m);
  for (const line of text.trimEnd().split('\n')) {
    if (!line.startsWith('#')) t.match(line, /^[a-z_]+(\{[^}]*\})? -?\d+(\.\d+)?(e[+-]?\d+)?$/, `well-formed sample: ${line}`);
  }
});

t.test('--statsd-address: nsqd metric names pushed over UDP', async (t) => {
  const { createSocket } = await import('node:dgram');
  const udp = createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => udp.close());
  const packets: string[] = [];
  udp.on('message', (m) => packets.push(m.toString()));
  const nsqd = await startNsqd(t, { statsdAddress: `127.0.0.1:${udp.address().port}`, statsdInterval: 100, broadcastAddress: '10.0.0.1' });
  const topic = nsqd.getTopic('st');
  topic.getChannel('c');
  const body = Buffer.from('xyz');
  for (let i = 0; i < 3; i++) topic.publish(body, 0, 3);
  const deadline = Date.now() + 5000;
  while (!packets.some((p) => p.includes('channel.c.depth')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const lines = packets.join('\n').split('\n');
  const prefix = `nsq.10_0_0_1_${nsqd.httpEndpoint.port}.`;
  t.ok(lines.includes(`${prefix}topic.st.message_count:3|c`), 'counter delta');
  t.ok(lines.includes(`${prefix}topic.st.message_bytes:9|c`));
  t.ok(lines.includes(`${prefix}topic.st.channel.c.depth:3|g`), 'gauge');
  t.ok(lines.some((l) => l.startsWith(`${prefix}mem.heap_in_use_bytes:`)));
  t.notOk(lines.some((l) => l.includes('replication.')), 'no replication lines from a node without replication');
  t.ok(packets.every((p) => Buffer.byteLength(p) <= 508), 'packets within --statsd-udp-packet-size');
});

t.test('--e2e-processing-latency-percentile: /stats reports the quantiles after FINs', async (t) => {
  const { Producer } = await import('../../src/client/producer.js');
  const { Consumer } = await import('../../src/client/consumer.js');
  const nsqd = await startNsqd(t, { e2eProcessingLatencyPercentiles: [0.5, 0.99] });
  const p = new Producer(`127.0.0.1:${nsqd.tcpEndpoint.port}`);
  t.teardown(() => p.close());
  nsqd.getTopic('lat').getChannel('c');
  await p.mpublish('lat', ['1', '2', '3', '4']);
  let n = 0;
  const c = new Consumer({ topic: 'lat', channel: 'c', nsqdTcpAddresses: [`127.0.0.1:${nsqd.tcpEndpoint.port}`], maxInFlight: 10 }, () => {
    n++;
  });
  await c.start();
  t.teardown(() => c.stop());
  const ch = nsqd.getExistingTopic('lat')!.getExistingChannel('c')!;
  const deadline = Date.now() + 5000;
  while ((n < 4 || ch.inFlightCount > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const s = (await (await fetch(`http://127.0.0.1:${nsqd.httpEndpoint.port}/stats?format=json&topic=lat`)).json()) as { topics: TopicStats[] };
  const e2e = s.topics[0]!.channels[0]!.e2e_processing_latency;
  t.equal(e2e.count, 4);
  t.same((e2e.percentiles ?? []).map((x) => x.quantile), [0.5, 0.99]);
  t.ok((e2e.percentiles ?? []).every((x) => x.value > 0 && x.value < 5e9), 'nanoseconds, plausible');
  t.equal(s.topics[0]!.e2e_processing_latency.count, 4, 'the topic merges its channels');
});

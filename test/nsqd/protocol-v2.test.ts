// Protocol V2 conformance over real sockets: the exact frames a client sees from the engine,
// checked against nsqd 1.3's behaviour (docs/nsqd-behaviour.md).

import t, { type Test } from 'tap';
import { FRAME_TYPE_ERROR, FRAME_TYPE_MESSAGE, FRAME_TYPE_RESPONSE, MAGIC_V2 } from '../../src/protocol/constants.js';
import { decodeMessage, encodeCommand, encodeDpub, encodeIdentify, encodeMpub, encodePub, type DecodedMessage } from '../../src/protocol/encoders.js';
import type { NSQD } from '../../src/nsqd/nsqd.js';
import type { NsqdOptions } from '../../src/nsqd/options.js';
import { startNsqd } from '../helpers/nsqd.js';
import { RawConn, type Frame } from '../helpers/raw.js';
import { channelStats, delay, getStats, topicStats, waitFor } from '../helpers/stats.js';

// ---- helpers ------------------------------------------------------------------------------------

async function open(t: Test, nsqd: NSQD, magic: Buffer | null = MAGIC_V2): Promise<RawConn> {
  const c = await RawConn.open(nsqd.tcpEndpoint.port, magic);
  t.teardown(() => c.close());
  return c;
}

async function start(t: Test, options: Partial<NsqdOptions> = {}): Promise<NSQD> {
  return startNsqd(t, options);
}

/** Resolves true if the server closes the connection within `ms`. */
function closedWithin(c: RawConn, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void c.closed.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** The next frame (heartbeats skipped), or 'timeout' / null (closed). */
async function nextOr(c: RawConn, ms = 3000): Promise<Frame | null | 'timeout'> {
  try {
    return await c.next(ms);
  } catch {
    return 'timeout';
  }
}

const show = (f: Frame | null | 'timeout'): { type: number; text: string } | null | 'timeout' =>
  f === null || f === 'timeout' ? f : { type: f.type, text: f.type === FRAME_TYPE_MESSAGE ? `<message ${f.data.length} bytes>` : f.text };

async function expectResponse(t: Test, c: RawConn, text: string, msg = `response ${text}`): Promise<void> {
  t.same(show(await nextOr(c)), { type: FRAME_TYPE_RESPONSE, text }, msg);
}

/** A fatal error: exactly this error frame, then the server closes the connection. */
async function expectFatal(t: Test, c: RawConn, text: string): Promise<void> {
  t.same(show(await nextOr(c)), { type: FRAME_TYPE_ERROR, text }, `error frame: ${text}`);
  t.equal(await nextOr(c, 2000), null, 'then the server closes the connection');
}

/** A non-fatal error: this error frame, and the connection still answers (PUB → OK). */
async function expectNonFatal(t: Test, c: RawConn, text: string): Promise<void> {
  t.same(show(await nextOr(c)), { type: FRAME_TYPE_ERROR, text }, `error frame: ${text}`);
  c.send('NOP\n');
  c.send(encodePub('still-open', 'x'));
  await expectResponse(t, c, 'OK', 'the connection stays open: a following NOP and PUB work');
}

async function nextMessage(t: Test, c: RawConn, ms = 3000): Promise<DecodedMessage> {
  const f = await nextOr(c, ms);
  if (f === null || f === 'timeout' || f.type !== FRAME_TYPE_MESSAGE) {
    t.fail(`expected a message frame, got ${JSON.stringify(show(f))}`);
    throw new Error('no message');
  }
  return decodeMessage(f.data, 0, f.data.length);
}

/** A consumer: SUB'd (and optionally IDENTIFY'd), with RDY sent. */
async function consumer(t: Test, nsqd: NSQD, topic: string, channel: string, rdy: number | null = 1, identify?: Record<string, unknown>): Promise<RawConn> {
  const c = await open(t, nsqd);
  if (identify !== undefined) {
    c.send(encodeIdentify(identify));
    const f = await c.next();
    t.equal(f?.type, FRAME_TYPE_RESPONSE, 'IDENTIFY answered');
  }
  c.send(encodeCommand('SUB', topic, channel));
  await expectResponse(t, c, 'OK', `SUB ${topic} ${channel}`);
  if (rdy !== null) c.send(encodeCommand('RDY', rdy));
  return c;
}

/** Publishes over its own connection, each PUB acknowledged. */
async function publish(t: Test, nsqd: NSQD, topic: string, bodies: (string | Buffer)[]): Promise<void> {
  const c = await open(t, nsqd);
  for (const b of bodies) {
    c.send(encodePub(topic, b));
    await expectResponse(t, c, 'OK', `PUB ${topic}`);
  }
  c.close();
}

/** A size-prefixed body after a raw command line, with a chosen (possibly lying) size. */
function withSize(line: string, size: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.from(line + '\n');
  const s = Buffer.alloc(4);
  s.writeInt32BE(size);
  return Buffer.concat([head, s, body]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

const rand = (n: number): number => Math.floor(Math.random() * n);

// ---- magic --------------------------------------------------------------------------------------

t.test('bad magic: E_BAD_PROTOCOL frame, exact bytes, then close', async (t) => {
  const nsqd = await start(t);
  const c = await open(t, nsqd, null);
  const raw: Buffer[] = [];
  c.socket.on('data', (d: Buffer) => raw.push(d));
  c.send('  V1');
  t.ok(await closedWithin(c, 3000), 'server closes the connection');
  const expected = Buffer.concat([Buffer.from([0, 0, 0, 18, 0, 0, 0, 1]), Buffer.from('E_BAD_PROTOCOL')]);
  t.equal(Buffer.concat(raw).toString('hex'), expected.toString('hex'), 'exactly one error frame: size 18, type 1, E_BAD_PROTOCOL');
});

t.test('bad magic followed by a valid command is still refused', async (t) => {
  const nsqd = await start(t);
  const c = await open(t, nsqd, null);
  c.send(Buffer.concat([Buffer.from('V2  '), encodePub('t', 'x')]));
  await expectFatal(t, c, 'E_BAD_PROTOCOL');
  t.equal(nsqd.getExistingTopic('t'), undefined, 'the PUB after a bad magic was not executed');
});

// ---- IDENTIFY ----------------------------------------------------------------------------------

t.test('IDENTIFY with feature_negotiation: the JSON response with defaults, keys in order', async (t) => {
  const nsqd = await start(t);
  const c = await open(t, nsqd);
  c.send(encodeIdentify({ feature_negotiation: true, client_id: 'c1', hostname: 'h1', user_agent: 'test/1.0' }));
  const f = await c.next();
  t.equal(f?.type, FRAME_TYPE_RESPONSE);
  t.equal(
    f?.text,
    '{"max_rdy_count":2500,"version":"1.3.0","max_msg_timeout":900000,"msg_timeout":60000,"tls_v1":false,"deflate":false,"deflate_level":6,"max_deflate_level":6,"snappy":false,"sample_rate":0,"auth_required":false,"output_buffer_size":16384,"output_buffer_timeout":250}',
  );
  t.ok(await c.quietFor(200), 'no OK follows the JSON when no upgrade happens');
  c.send(encodePub('t', 'x'));
  await expectResponse(t, c, 'OK', 'connection usable after IDENTIFY');
  const s = await getStats(nsqd);
  const me = (s.producers ?? []).find((p) => p.client_id === 'c1');
  t.ok(me, 'the IDENTIFY client_id shows in /stats');
  t.equal(me?.hostname, 'h1');
});

t.test('IDENTIFY reports negotiated values in the JSON', async (t) => {
  const nsqd = await start(t);
  const c = await open(t, nsqd);
  c.send(encodeIdentify({ feature_negotiation: true, heartbeat_interval: 5000, output_buffer_size: 64, output_buffer_timeout: 25, sample_rate: 50, msg_timeout: 2000 }));
  const f = await c.next();
  const json = JSON.parse(f?.text ?? '{}') as Record<string, unknown>;
  t.equal(json['msg_timeout'], 2000);
  t.equal(json['sample_rate'], 50);
  t.equal(json['output_buffer_size'], 64);
  t.equal(json['output_buffer_timeout'], 25);
});

t.test('IDENTIFY without feature_negotiation answers OK', async (t) => {
  const nsqd = await start(t);
  const c = await open(t, nsqd);
  c.send(encodeIdentify({ client_id: 'x', heartbeat_interval: 5000 }));
  await expectResponse(t, c, 'OK');
  t.ok(await c.quietFor(100), 'nothing else is sent');
});

t.test('IDENTIFY with malformed JSON: E_BAD_BODY, fatal', async (t) => {
  const nsqd = await start(t);
  const c = await open(t, nsqd);
  const body = Buffer.from('{"client_id": ');
  c.send(withSize('IDENTIFY', body.length, body));
  await expectFatal(t, c, 'E_BAD_BODY IDENTIFY failed to decode JSON body');
});

t.test('IDENTIFY with a wrongly typed field: E_BAD_BODY decode error, fatal', async (t) => {
  const nsqd = await start(t);
  for (const body of ['{"heartbeat_interval":"1000"}', '{"msg_timeout":1000.5}', '{"feature_negotiation":"yes"}', '{"client_id":5}', '[1,2]']) {
    await t.test(body, async (t) => {
      const c = await open(t, nsqd);
      c.send(withSize('IDENTIFY', body.length, Buffer.from(body)));
      await expectFatal(t, c, 'E_BAD_BODY IDENTIFY failed to decode JSON body');
    });
  }
});

t.test('IDENTIFY body size 0 and too big', async (t) => {
  const nsqd = await start(t, { maxBodySize: 1000 });
  await t.test('size 0', async (t) => {
    const c = await open(t, nsqd);
    c.send(withSize('IDENTIFY', 0));
    await expectFatal(t, c, 'E_BAD_BODY IDENTIFY invalid body size 0');
  });
  await t.test('size over max-body-size', async (t) => {
    const c = await open(t, nsqd);
    c.send(withSize('IDENTIFY', 1001));
    await expectFatal(t, c, 'E_BAD_BODY IDENTIFY body too big 1001 > 1000');
  });
});

t.test('IDENTIFY values out of range: exact texts, fatal', async (t) => {
  const nsqd = await start(t);
  const cases: [Record<string, number>, string][] = [
    [{ heartbeat_interval: 999 }, 'E_BAD_BODY IDENTIFY heartbeat interval (999) is invalid'],
    [{ heartbeat_interval: 60001 }, 'E_BAD_BODY IDENTIFY heartbeat interval (60001) is invalid'],
    [{ heartbeat_interval: -2 }, 'E_BAD_BODY IDENTIFY heartbeat interval (-2) is invalid'],
    [{ output_buffer_size: 63 }, 'E_BAD_BODY IDENTIFY output buffer size (63) is invalid'],
    [{ output_buffer_size: 65537 }, 'E_BAD_BODY IDENTIFY output buffer size (65537) is invalid'],
    [{ output_buffer_timeout: 24 }, 'E_BAD_BODY IDENTIFY output buffer timeout (24) is invalid'],
    [{ output_buffer_timeout: 30001 }, 'E_BAD_BODY IDENTIFY output buffer timeout (30001) is invalid'],
    [{ sample_rate: 100 }, 'E_BAD_BODY IDENTIFY sample rate (100) is invalid'],
    [{ sample_rate: -1 }, 'E_BAD_BODY IDENTIFY sample rate (-1) is invalid'],
    [{ msg_timeout: 999 }, 'E_BAD_BODY IDENTIFY msg timeout (999) is invalid'],
    [{ msg_timeout: 900001 }, 'E_BAD_BODY IDENTIFY msg timeout (900001) is invalid'],
    // the first failing field in nsqd's order is reported: heartbeat before output buffer timeout before size
    [{ output_buffer_size: 1, output_buffer_timeout: 1, heartbeat_interval: 1 }, 'E_BAD_BODY IDENTIFY heartbeat interval (1) is invalid'],
    [{ output_buffer_size: 1, output_buffer_timeout: 1 }, 'E_BAD_BODY IDENTIFY output buffer timeout (1) is invalid'],
  ];
  for (const [body, text] of cases) {
    await t.test(JSON.stringify(body), async (t) => {
      const c = await open(t, nsqd);
      c.send(encodeIdentify(body));
      await expectFatal(t, c, text);
    });
  }
});

t.test('IDENTIFY boundary values are accepted', async (t) => {
  const nsqd = await start(t);
  const c = await open(t, nsqd);
  c.send(encodeIdentify({ feature_negotiation: true, heartbeat_interval: 60000, output_buffer_size: 65536, output_buffer_timeout: 30000, sample_rate: 99, msg_timeout: 900000 }));
  const f = await c.next();
  t.equal(f?.type, FRAME_TYPE_RESPONSE, 'accepted');
  t.match(f?.text, /"msg_timeout":900000/);
});

t.test('IDENTIFY after SUB: E_INVALID cannot IDENTIFY in current state', async (t) => {
  const nsqd = await start(t);
  const c = await consumer(t, nsqd, 't', 'c', null);
  c.send(encodeIdentify({ client_id: 'late' }));
  await expectFatal(t, c, 'E_INVALID cannot IDENTIFY in current state');
});

t.test('IDENTIFY msg_timeout is honoured: reported, and an unfinished message comes back after it', async (t) => {
  const nsqd = await start(t);
  const c = await open(t, nsqd);
  c.send(encodeIdentify({ feature_negotiation: true, msg_timeout: 1000 }));
  const f = await c.next();
  t.equal((JSON.parse(f?.text ?? '{}') as Record<string, unknown>)['msg_timeout'], 1000, 'msg_timeout in the JSON');
  c.send(encodeCommand('SUB', 'mt', 'c'));
  await expectResponse(t, c, 'OK');
  c.send(encodeCommand('RDY', 1));
  await publish(t, nsqd, 'mt', ['timeout-me']);
  const first = await nextMessage(t, c);
  const delivered = Date.now();
  t.equal(first.attempts, 1);
  const second = await nextMessage(t, c, 3000);
  const after = Date.now() - delivered;
  t.equal(second.id, first.id, 'the same message is redelivered');
  t.equal(second.attempts, 2, 'attempts went up');
  t.ok(after >= 850 && after < 2000, `redelivered after about 1s (took ${after}ms), not the 60s default`);
  const ch = await channelStats(nsqd, 'mt', 'c');
  t.equal(ch?.timeout_count, 1, 'counted as a timeout');
});

t.test('the scan loop visits a channel only while it holds in-flight or deferred messages, and still times them out after', async (t) => {
  const nsqd = await start(t);
  const c = await open(t, nsqd);
  c.send(encodeIdentify({ feature_negotiation: true, msg_timeout: 1000 }));
  await c.next();
  c.send(encodeCommand('SUB', 'scanned', 'c'));
  await expectResponse(t, c, 'OK');
  // another channel that never gets a consumer is never visited
  await publish(t, nsqd, 'other', ['x']);
  c.send(encodeCommand('RDY', 5));
  t.equal(nsqd.scanning.size, 0, 'nothing in flight: no channel is scanned');
  await publish(t, nsqd, 'scanned', ['a']);
  const a = await nextMessage(t, c);
  t.equal(nsqd.scanning.size, 1, 'a delivered message puts its channel in the scan');
  c.send(`FIN ${a.id}\n`);
  await waitFor('the channel to leave the scan', () => nsqd.scanning.size === 0);
  t.pass('finished: the next pass takes the channel out');
  c.send(encodeDpub('scanned', 300, 'later'));
  await expectResponse(t, c, 'OK');
  t.equal(nsqd.scanning.size, 1, 'a deferred message puts it back');
  const later = await nextMessage(t, c);
  t.equal(later.body.toString(), 'later');
  // not finished: it must still time out although the channel left the scan once
  const again = await nextMessage(t, c, 3000);
  t.equal(again.id, later.id, 'the unfinished message is redelivered after msg_timeout');
  t.equal(again.attempts, 2);
  c.send(`FIN ${again.id}\n`);
  await waitFor('the channel to leave the scan again', () => nsqd.scanning.size === 0);
  t.pass('and leaves once nothing is left');
});

// ---- command parsing ---------------------------------------------------------------------------

t.test('unknown command: E_INVALID invalid command FOO, fatal', async (t) => {
  const nsqd = await start(t);
  const c = await open(t, nsqd);
  c.send('FOO bar\n');
  await expectFatal(t, c, 'E_INVALID invalid command FOO');
});

t.test('commands are case-sensitive', async (t) => {
  const nsqd = await start(t);
  const c = await open(t, nsqd);
  c.send('nop\n');
  await expectFatal(t, c, 'E_INVALID invalid command nop');
});

t.test('empty line: E_INVALID invalid command with a trailing space, fatal', async (t) => {
  const nsqd = await start(t);
  await t.test('\\n', async (t) => {
    const c = await open(t, nsqd);
    c.send('\n');
    await expectFatal(t, c, 'E_INVALID invalid command ');
  });
  await t.test('\\r\\n', async (t) => {
    const c = await open(t, nsqd);
    c.send('\r\n');
    await expectFatal(t, c, 'E_INVALID invalid command ');
  });
});

t.test('\\r\\n line endings are accepted', async (t) => {
  const nsqd = await start(t);
  const c = await open(t, nsqd);
  c.send('NOP\r\n');
  c.send(withSize('PUB crlf\r', 1, Buffer.from('x')));
  await expectResponse(t, c, 'OK');
  t.ok(nsqd.getExistingTopic('crlf'), 'topic name did not keep the \\r');
});

t.test('repeated spaces give empty parameters: SUB with an empty topic', async (t) => {
  const nsqd = await start(t);
  const c = await open(t, nsqd);
  c.send('SUB  t c\n');
  await expectFatal(t, c, 'E_BAD_TOPIC SUB topic name "" is not valid');
});

t.test('missing parameters', async (t) => {
  const nsqd = await start(t);
  const cases: [string, string][] = [
    ['PUB\n', 'E_INVALID PUB insufficient number of parameters'],
    ['MPUB\n', 'E_INVALID MPUB insufficient number of parameters'],
    ['DPUB t\n', 'E_INVALID DPUB insufficient number of parameters'],
    ['SUB t\n', 'E_INVALID SUB insufficient number of parameters'],
  ];
  for (const [line, text] of cases) {
    await t.test(line.trim(), async (t) => {
      const c = await open(t, nsqd);
      c.send(line);
      await expectFatal(t, c, text);
    });
  }
});

// ---- names --------------------------------------------------------------------------------------

t.test('invalid topic and channel names: exact texts, fatal', async (t) => {
  const nsqd = await start(t);
  const long65 = 'a'.repeat(65);
  const cases: [string, Buffer, string][] = [
    ['PUB 65 chars', encodePub(long65, 'x'), `E_BAD_TOPIC PUB topic name "${long65}" is not valid`],
    ['PUB bad char', encodePub('foo/bar', 'x'), 'E_BAD_TOPIC PUB topic name "foo/bar" is not valid'],
    ['PUB bad char *', encodePub('foo*', 'x'), 'E_BAD_TOPIC PUB topic name "foo*" is not valid'],
    ['PUB quote is escaped', encodePub('a"b', 'x'), 'E_BAD_TOPIC PUB topic name "a\\"b" is not valid'],
    ['PUB #ephemeral alone', encodePub('#ephemeral', 'x'), 'E_BAD_TOPIC PUB topic name "#ephemeral" is not valid'],
    ['PUB bad suffix', encodePub('foo#ephem', 'x'), 'E_BAD_TOPIC PUB topic name "foo#ephem" is not valid'],
    ['PUB double suffix', encodePub('foo#ephemeral#ephemeral', 'x'), 'E_BAD_TOPIC PUB topic name "foo#ephemeral#ephemeral" is not valid'],
    ['PUB 65 chars with suffix', encodePub('a'.repeat(55) + '#ephemeral', 'x'), `E_BAD_TOPIC PUB topic name "${'a'.repeat(55)}#ephemeral" is not valid`],
    // nsqd repeats the code here (E_BAD_TOPIC E_BAD_TOPIC ...); we send it once (README: differences)
    ['MPUB bad char', encodeMpub('foo!', ['x']), 'E_BAD_TOPIC MPUB topic name "foo!" is not valid'],
    ['MPUB 65 chars', encodeMpub(long65, ['x']), `E_BAD_TOPIC MPUB topic name "${long65}" is not valid`],
    ['DPUB bad topic', encodeDpub('foo!', 10, 'x'), 'E_BAD_TOPIC DPUB topic name "foo!" is not valid'],
    ['DPUB 65 chars', encodeDpub(long65, 10, 'x'), `E_BAD_TOPIC DPUB topic name "${long65}" is not valid`],
    ['SUB bad topic', encodeCommand('SUB', 'to:pic', 'c'), 'E_BAD_TOPIC SUB topic name "to:pic" is not valid'],
    ['SUB 65-char topic', encodeCommand('SUB', long65, 'c'), `E_BAD_TOPIC SUB topic name "${long65}" is not valid`],
    ['SUB bad channel', encodeCommand('SUB', 't', 'ch!'), 'E_BAD_CHANNEL SUB channel name "ch!" is not valid'],
    ['SUB 65-char channel', encodeCommand('SUB', 't', long65), `E_BAD_CHANNEL SUB channel name "${long65}" is not valid`],
    ['SUB bad channel suffix', encodeCommand('SUB', 't', 'c#ephemera'), 'E_BAD_CHANNEL SUB channel name "c#ephemera" is not valid'],
  ];
  for (const [name, bytes, text] of cases) {
    await t.test(name, async (t) => {
      const c = await open(t, nsqd);
      c.send(bytes);
      await expectFatal(t, c, text);
    });
  }
  t.same([...nsqd.topics.keys()].filter((n) => n !== 't'), [], 'no invalid topic was created');
});

t.test('non-printable bytes in a bad name are quoted as Go %q does (\\x01)', async (t) => {
  const nsqd = await start(t);
  const c = await open(t, nsqd);
  c.send(encodePub('a\x01b', 'x'));
  await expectFatal(t, c, 'E_BAD_TOPIC PUB topic name "a\\x01b" is not valid');
});

t.test('valid names: 64 characters and #ephemeral suffixes are accepted', async (t) => {
  const nsqd = await start(t);
  const t64 = 'T'.repeat(30) + '.-_' + '9'.repeat(31);
  const c64 = 'c'.repeat(64);
  const e64 = 'e'.repeat(54) + '#ephemeral';
  t.equal(t64.length, 64);
  t.equal(e64.length, 64);
  const c = await open(t, nsqd);
  c.send(encodePub(t64, 'x'));
  await expectResponse(t, c, 'OK', 'PUB with a 64-char topic');
  c.send(encodeMpub(t64, ['y']));
  await expectResponse(t, c, 'OK', 'MPUB with a 64-char topic');
  c.send(encodeDpub(t64, 0, 'z'));
  await expectResponse(t, c, 'OK', 'DPUB with a 64-char topic');
  c.send(encodePub(e64, 'x'));
  await expectResponse(t, c, 'OK', 'PUB with a 64-char #ephemeral topic');
  const s = await open(t, nsqd);
  s.send(encodeCommand('SUB', t64, c64));
  await expectResponse(t, s, 'OK', 'SUB with 64-char topic and channel');
  const e = await open(t, nsqd);
  e.send(encodeCommand('SUB', e64, 'ch#ephemeral'));
  await expectResponse(t, e, 'OK', 'SUB to an ephemeral topic and channel');
  t.ok(nsqd.getExistingTopic(t64)?.getExistingChannel(c64), 'topic and channel exist');
});

// ---- sizes --------------------------------------------------------------------------------------

t.test('PUB larger than the default max-msg-size: E_BAD_MESSAGE PUB message too big, fatal', async (t) => {
  const nsqd = await start(t);
  const c = await open(t, nsqd);
  c.send(withSize('PUB big', 1048577));
  await expectFatal(t, c, 'E_BAD_MESSAGE PUB message too big 1048577 > 1048576');
});

t.test('sizes against small limits', async (t) => {
  const nsqd = await start(t, { maxMsgSize: 1024, maxBodySize: 4096 });
  const cases: [string, Buffer, string][] = [
    ['PUB max+1', withSize('PUB t', 1025, Buffer.alloc(1025, 97)), 'E_BAD_MESSAGE PUB message too big 1025 > 1024'],
    ['PUB size 0', withSize('PUB t', 0), 'E_BAD_MESSAGE PUB invalid message body size 0'],
    ['PUB size -1', withSize('PUB t', -1), 'E_BAD_MESSAGE PUB invalid message body size -1'],
    ['DPUB max+1', withSize('DPUB t 10', 1025), 'E_BAD_MESSAGE DPUB message too big 1025 > 1024'],
    ['DPUB size 0', withSize('DPUB t 10', 0), 'E_BAD_MESSAGE DPUB invalid message body size 0'],
    ['MPUB body too big', withSize('MPUB t', 4097), 'E_BAD_BODY MPUB body too big 4097 > 4096'],
    ['MPUB body size 0', withSize('MPUB t', 0), 'E_BAD_BODY MPUB invalid body size 0'],
    ['MPUB count 0', withSize('MPUB t', 4, u32(0)), 'E_BAD_BODY MPUB invalid message count 0'],
    ['MPUB count -1', withSize('MPUB t', 4, u32(-1)), 'E_BAD_BODY MPUB invalid message count -1'],
    // (4096 - 4) / 5 = 818 messages at most
    ['MPUB count over the limit', withSize('MPUB t', 8, Buffer.concat([u32(819), u32(1)])), 'E_BAD_BODY MPUB invalid message count 819'],
    ['MPUB message over max-msg-size', withSize('MPUB t', 4 + 4 + 1025, Buffer.concat([u32(1), u32(1025), Buffer.alloc(1025, 98)])), 'E_BAD_MESSAGE MPUB message too big 1025 > 1024'],
    ['MPUB message size 0', withSize('MPUB t', 4 + 5 + 4, Buffer.concat([u32(2), u32(1), Buffer.from('a'), u32(0)])), 'E_BAD_MESSAGE MPUB invalid message(1) body size 0'],
    // 4 + 4 × (4 + 1019) = 4096 fits; a fifth message of 1 byte makes the batch 4101 > 4096
    ['MPUB batch over max-body-size, declared within', withSize('MPUB t', 4096, Buffer.concat([u32(5), ...Array.from({ length: 4 }, () => Buffer.concat([u32(1019), Buffer.alloc(1019, 97)]))])), 'E_BAD_BODY MPUB body too big: message(3) ends past 4096'],
  ];
  for (const [name, bytes, text] of cases) {
    await t.test(name, async (t) => {
      const c = await open(t, nsqd);
      c.send(bytes);
      await expectFatal(t, c, text);
    });
  }
  await t.test('PUB of exactly max-msg-size is accepted', async (t) => {
    const c = await open(t, nsqd);
    c.send(encodePub('exact', Buffer.alloc(1024, 99)));
    await expectResponse(t, c, 'OK');
  });
  await t.test('MPUB of exactly max-body-size is accepted', async (t) => {
    const c = await open(t, nsqd);
    // 4 (count) + 4 × (4 + 1019) = 4096
    const bodies = Array.from({ length: 4 }, () => Buffer.alloc(1019, 100));
    const bytes = encodeMpub('exact-mpub', bodies);
    t.equal(bytes.readUInt32BE('MPUB exact-mpub\n'.length), 4096);
    c.send(bytes);
    await expectResponse(t, c, 'OK');
  });
});

// nsqd reads an MPUB's count and then each message from the stream: the size before the body is
// only checked against max-body-size. Clients that count only the message bodies in it work there.
t.test('MPUB is framed by its count and sizes, not the declared size', async (t) => {
  const nsqd = await start(t, { maxMsgSize: 1024, maxBodySize: 4096 });
  const bodies = [Buffer.from('one'), Buffer.alloc(1000, 7), Buffer.from([10, 13, 0, 255]), Buffer.alloc(1024, 8)];
  const full = encodeMpub('frames', bodies);
  const line = 'MPUB frames\n'.length;
  const bodyOnly = Buffer.from(full);
  bodyOnly.writeInt32BE(bodies.reduce((n, b) => n + b.length, 0), line);
  const tooLong = Buffer.from(full);
  tooLong.writeInt32BE(4096, line);
  const framings: [string, Buffer][] = [
    ['declared size = the whole body', full],
    ['declared size = the message bodies only', bodyOnly],
    ['declared size = max-body-size', tooLong],
  ];
  const writeAll = async (c: RawConn, pieces: Buffer[]): Promise<void> => {
    c.socket.setNoDelay(true);
    for (const p of pieces) await new Promise<void>((resolve, reject) => c.socket.write(p, (err) => (err ? reject(err) : resolve())));
  };
  const splits: [string, (b: Buffer) => Buffer[]][] = [
    ['whole', (b) => [b]],
    ['byte at a time', (b) => Array.from({ length: b.length }, (_, i) => b.subarray(i, i + 1))],
    [
      'random splits',
      (b) => {
        const out: Buffer[] = [];
        for (let pos = 0; pos < b.length; ) {
          const n = 1 + rand(rand(2) === 0 ? 8 : 1500);
          out.push(b.subarray(pos, pos + n));
          pos += n;
        }
        return out;
      },
    ],
  ];
  let expectedDepth = 0;
  for (const [name, bytes] of framings) {
    for (const [way, split] of splits) {
      await t.test(`${name}, ${way}`, async (t) => {
        const c = await open(t, nsqd);
        // a command right behind the batch shows the stream is still in step
        await writeAll(c, split(Buffer.concat([bytes, encodePub('frames-next', 'after')])));
        await expectResponse(t, c, 'OK', 'the MPUB is answered OK');
        await expectResponse(t, c, 'OK', 'the PUB right after it is answered OK');
        expectedDepth += bodies.length;
        t.equal((await topicStats(nsqd, 'frames'))?.depth, expectedDepth, 'every message of the batch queued');
      });
    }
  }
  const sub = await consumer(t, nsqd, 'frames', 'c', 4);
  const got = [];
  for (let i = 0; i < 4; i++) got.push((await nextMessage(t, sub)).body);
  t.same(got, bodies, 'the bodies are delivered intact');
});

t.test('MPUB whose messages run past the declared size: nsqd reads on, so do we', async (t) => {
  const nsqd = await start(t, { maxMsgSize: 1024, maxBodySize: 4096 });
  const c = await open(t, nsqd);
  c.send(withSize('MPUB t', 4 + 4 + 3, Buffer.concat([u32(1), u32(10), Buffer.from('abc')])));
  t.ok(await c.quietFor(200), 'no answer while the message is incomplete');
  c.send(Buffer.concat([Buffer.from('defghij'), encodePub('t', 'x')]));
  await expectResponse(t, c, 'OK', 'MPUB OK once its message is complete');
  await expectResponse(t, c, 'OK', 'the following PUB OK');
  t.equal((await topicStats(nsqd, 't'))?.depth, 2);
});

t.test('MPUB is all-or-nothing: a bad batch leaves the topic depth unchanged', async (t) => {
  const nsqd = await start(t, { maxMsgSize: 100 });
  const c = await open(t, nsqd);
  const bad = encodeMpub('batch', ['one', 'two', Buffer.alloc(101, 120), 'four']);
  c.send(bad);
  await expectFatal(t, c, 'E_BAD_MESSAGE MPUB message too big 101 > 100');
  const ts = await topicStats(nsqd, 'batch');
  t.ok(ts, 'MPUB created the topic before reading the body (as nsqd does)');
  t.equal(ts?.depth, 0, 'no message of the bad batch was queued');
  t.equal(ts?.message_count, 0, 'no message of the bad batch was counted');
  const good = await open(t, nsqd);
  good.send(encodeMpub('batch', ['one', 'two', 'three']));
  await expectResponse(t, good, 'OK');
  const after = await topicStats(nsqd, 'batch');
  t.equal(after?.depth, 3, 'a good batch is queued whole');
  t.equal(after?.message_count, 3);
});

// ---- RDY ----------------------------------------------------------------------------------------

t.test('RDY errors', async (t) => {
  const nsqd = await start(t);
  await t.test('RDY over max-rdy-count', async (t) => {
    const c = await consumer(t, nsqd, 't', 'c', null);
    c.send('RDY 2501\n');
    await expectFatal(t, c, 'E_INVALID RDY count 2501 out of range 0-2500');
  });
  await t.test('RDY before SUB', async (t) => {
    const c = await open(t, nsqd);
    c.send('RDY 1\n');
    await expectFatal(t, c, 'E_INVALID cannot RDY in current state');
  });
  await t.test('RDY -1', async (t) => {
    const c = await consumer(t, nsqd, 't', 'c', null);
    c.send('RDY -1\n');
    await expectFatal(t, c, 'E_INVALID RDY could not parse count -1');
  });
  await t.test('RDY abc', async (t) => {
    const c = await consumer(t, nsqd, 't', 'c', null);
    c.send('RDY abc\n');
    await expectFatal(t, c, 'E_INVALID RDY could not parse count abc');
  });
  await t.test('RDY +5', async (t) => {
    const c = await consumer(t, nsqd, 't', 'c', null);
    c.send('RDY +5\n');
    await expectFatal(t, c, 'E_INVALID RDY could not parse count +5');
  });
});

t.test('RDY values: no argument means 1, 2500 is allowed, RDY 0 stops delivery', async (t) => {
  const nsqd = await start(t);
  const c = await consumer(t, nsqd, 'rdy', 'c', null);
  c.send('RDY 2500\n');
  t.ok(await c.quietFor(100), 'RDY 2500 accepted silently');
  c.send('RDY\n');
  t.ok(await c.quietFor(100), 'RDY without a count accepted silently');
  await publish(t, nsqd, 'rdy', ['a', 'b']);
  const m = await nextMessage(t, c);
  t.equal(m.body.toString(), 'a');
  t.ok(await c.quietFor(200), 'RDY 1: only one message in flight');
  const cl = (await channelStats(nsqd, 'rdy', 'c'))?.clients?.[0];
  t.equal(cl?.ready_count, 1, 'ready_count 1 in /stats');
  c.send('RDY 0\n');
  c.send(`FIN ${m.id}\n`);
  t.ok(await c.quietFor(200), 'RDY 0: nothing more is delivered');
  c.send('RDY 1\n');
  t.equal((await nextMessage(t, c)).body.toString(), 'b', 'delivery resumes');
});

// ---- FIN / REQ / TOUCH ----------------------------------------------------------------------------

t.test('FIN of an unknown id: E_FIN_FAILED, non-fatal', async (t) => {
  const nsqd = await start(t);
  const c = await consumer(t, nsqd, 't', 'c');
  c.send('FIN 0123456789abcdef\n');
  await expectNonFatal(t, c, 'E_FIN_FAILED FIN 0123456789abcdef failed ID not in flight');
});

t.test('FIN of a message already finished: E_FIN_FAILED, non-fatal', async (t) => {
  const nsqd = await start(t);
  const c = await consumer(t, nsqd, 'fin2', 'c');
  await publish(t, nsqd, 'fin2', ['x']);
  const m = await nextMessage(t, c);
  c.send(`FIN ${m.id}\n`);
  c.send(`FIN ${m.id}\n`);
  await expectNonFatal(t, c, `E_FIN_FAILED FIN ${m.id} failed ID not in flight`);
  t.equal((await channelStats(nsqd, 'fin2', 'c'))?.clients?.[0]?.finish_count, 1, 'finished once');
});

t.test('FIN/REQ/TOUCH of a message in flight to another client: client does not own message', async (t) => {
  const nsqd = await start(t);
  const a = await consumer(t, nsqd, 'own', 'c');
  const b = await consumer(t, nsqd, 'own', 'c', 0);
  await publish(t, nsqd, 'own', ['x']);
  const m = await nextMessage(t, a);
  b.send(`FIN ${m.id}\n`);
  t.same(show(await nextOr(b)), { type: FRAME_TYPE_ERROR, text: `E_FIN_FAILED FIN ${m.id} failed client does not own message` });
  b.send(`REQ ${m.id} 0\n`);
  t.same(show(await nextOr(b)), { type: FRAME_TYPE_ERROR, text: `E_REQ_FAILED REQ ${m.id} failed client does not own message` });
  b.send(`TOUCH ${m.id}\n`);
  t.same(show(await nextOr(b)), { type: FRAME_TYPE_ERROR, text: `E_TOUCH_FAILED TOUCH ${m.id} failed client does not own message` });
  a.send(`FIN ${m.id}\n`);
  t.ok(await a.quietFor(100), 'the owner can still finish it');
});

t.test('FIN with extra parameters is a normal FIN (nsqd ignores extra params)', async (t) => {
  const nsqd = await start(t);
  const c = await consumer(t, nsqd, 'finx', 'c');
  await publish(t, nsqd, 'finx', ['x']);
  const m = await nextMessage(t, c);
  c.send(`FIN ${m.id} extra\n`);
  t.ok(await c.quietFor(200), 'no error, connection open');
  t.equal((await channelStats(nsqd, 'finx', 'c'))?.clients?.[0]?.finish_count, 1, 'the message was finished');
});

t.test('FIN/REQ/TOUCH shape errors are fatal', async (t) => {
  const nsqd = await start(t);
  const cases: [string, string][] = [
    ['FIN 0123\n', 'E_INVALID invalid message ID'],
    ['FIN 0123456789abcdef0\n', 'E_INVALID invalid message ID'],
    ['FIN\n', 'E_INVALID FIN insufficient number of params'],
    ['REQ 0123 0\n', 'E_INVALID invalid message ID'],
    ['REQ 0123456789abcdef\n', 'E_INVALID REQ insufficient number of params'],
    ['REQ 0123456789abcdef -1\n', 'E_INVALID REQ could not parse timeout -1'],
    ['REQ 0123456789abcdef 1s\n', 'E_INVALID REQ could not parse timeout 1s'],
    ['TOUCH 0123\n', 'E_INVALID invalid message ID'],
    ['TOUCH\n', 'E_INVALID TOUCH insufficient number of params'],
  ];
  for (const [line, text] of cases) {
    await t.test(line.trim(), async (t) => {
      const c = await consumer(t, nsqd, 't', 'c');
      c.send(line);
      await expectFatal(t, c, text);
    });
  }
});

t.test('FIN/REQ/TOUCH/CLS before SUB are fatal', async (t) => {
  const nsqd = await start(t);
  const cases: [string, string][] = [
    ['FIN 0123456789abcdef\n', 'E_INVALID cannot FIN in current state'],
    ['FIN 01\n', 'E_INVALID cannot FIN in current state'],
    ['REQ 0123456789abcdef 0\n', 'E_INVALID cannot REQ in current state'],
    ['TOUCH 0123456789abcdef\n', 'E_INVALID cannot TOUCH in current state'],
    ['CLS\n', 'E_INVALID cannot CLS in current state'],
  ];
  for (const [line, text] of cases) {
    await t.test(line.trim(), async (t) => {
      const c = await open(t, nsqd);
      c.send(line);
      await expectFatal(t, c, text);
    });
  }
});

t.test('REQ and TOUCH of an unknown id: non-fatal', async (t) => {
  const nsqd = await start(t);
  await t.test('REQ', async (t) => {
    const c = await consumer(t, nsqd, 't', 'c');
    c.send('REQ 0123456789abcdef 0\n');
    await expectNonFatal(t, c, 'E_REQ_FAILED REQ 0123456789abcdef failed ID not in flight');
  });
  await t.test('TOUCH', async (t) => {
    const c = await consumer(t, nsqd, 't', 'c');
    c.send('TOUCH 0123456789abcdef\n');
    await expectNonFatal(t, c, 'E_TOUCH_FAILED TOUCH 0123456789abcdef failed ID not in flight');
  });
});

t.test('TOUCH extends the in-flight deadline', async (t) => {
  const nsqd = await start(t);
  const c = await consumer(t, nsqd, 'touch', 'c', 1, { msg_timeout: 1500 });
  await publish(t, nsqd, 'touch', ['x']);
  const m = await nextMessage(t, c);
  await delay(700);
  c.send(`TOUCH ${m.id}\n`);
  t.ok(await c.quietFor(1200), 'not redelivered 1.9s after delivery: the TOUCH at 0.7s restarted the 1.5s timeout');
  c.send(`FIN ${m.id}\n`);
  t.ok(await c.quietFor(100), 'FIN after TOUCH succeeds');
  t.equal((await channelStats(nsqd, 'touch', 'c'))?.timeout_count, 0);
});

t.test('REQ with a timeout above max-req-timeout is clamped, not an error', async (t) => {
  const nsqd = await start(t, { maxReqTimeout: 400 });
  const c = await consumer(t, nsqd, 'clamp', 'c');
  await publish(t, nsqd, 'clamp', ['x']);
  const m = await nextMessage(t, c);
  const sent = Date.now();
  c.send(`REQ ${m.id} 3600000\n`);
  t.ok(await c.quietFor(150), 'no error frame and no immediate redelivery');
  const ch = await channelStats(nsqd, 'clamp', 'c');
  t.equal(ch?.deferred_count, 1, 'the message is deferred');
  t.equal(ch?.requeue_count, 1, 'counted as a requeue');
  const again = await nextMessage(t, c, 3000);
  const took = Date.now() - sent;
  t.equal(again.id, m.id);
  t.equal(again.attempts, 2);
  t.ok(took >= 350 && took < 1500, `redelivered after the clamped 400ms (took ${took}ms)`);
});

// ---- DPUB ---------------------------------------------------------------------------------------

t.test('DPUB timeout errors', async (t) => {
  const nsqd = await start(t);
  const cases: [string, string][] = [
    ['3600001', 'E_INVALID DPUB timeout 3600001 out of range 0-3600000'],
    ['-1', 'E_INVALID DPUB could not parse timeout -1'],
    ['1.5', 'E_INVALID DPUB could not parse timeout 1.5'],
  ];
  for (const [timeout, text] of cases) {
    await t.test(timeout, async (t) => {
      const c = await open(t, nsqd);
      c.send(withSize(`DPUB t ${timeout}`, 1, Buffer.from('x')));
      await expectFatal(t, c, text);
    });
  }
  await t.test('3600000 is the inclusive maximum', async (t) => {
    const c = await open(t, nsqd);
    c.send(encodeDpub('t', 3600000, 'x'));
    await expectResponse(t, c, 'OK');
  });
});

t.test('DPUB is delivered after its delay, not before', async (t) => {
  const nsqd = await start(t);
  const c = await consumer(t, nsqd, 'dpub', 'c');
  const p = await open(t, nsqd);
  p.send(encodeDpub('dpub', 500, 'later'));
  const sent = Date.now();
  await expectResponse(t, p, 'OK');
  const ch = await channelStats(nsqd, 'dpub', 'c');
  t.equal(ch?.deferred_count, 1, 'counted as deferred while waiting');
  t.ok(await c.quietFor(300), 'not delivered within 300ms');
  const m = await nextMessage(t, c, 3000);
  const took = Date.now() - sent;
  t.equal(m.body.toString(), 'later');
  t.equal(m.attempts, 1);
  t.ok(took >= 450 && took < 1500, `delivered after about 500ms (took ${took}ms)`);
});

// ---- CLS ----------------------------------------------------------------------------------------

t.test('CLS: CLOSE_WAIT, later RDY ignored, FIN still works', async (t) => {
  const nsqd = await start(t);
  const c = await consumer(t, nsqd, 'cls', 'c');
  await publish(t, nsqd, 'cls', ['one']);
  const m = await nextMessage(t, c);
  c.send('CLS\n');
  await expectResponse(t, c, 'CLOSE_WAIT');
  await publish(t, nsqd, 'cls', ['two']);
  c.send('RDY 10\n');
  t.ok(await c.quietFor(300), 'RDY after CLS: no response, no delivery');
  c.send(`FIN ${m.id}\n`);
  t.ok(await c.quietFor(100), 'FIN after CLS: no error');
  const ch = await channelStats(nsqd, 'cls', 'c');
  t.equal(ch?.in_flight_count, 0, 'the message was finished');
  t.equal(ch?.depth, 1, 'the second message waits in the channel');
  t.equal(ch?.clients?.[0]?.state, 4, 'client state is closing (4)');
  t.equal(ch?.clients?.[0]?.ready_count, 0, 'RDY is 0 after CLS');
  t.equal(ch?.clients?.[0]?.finish_count, 1);
  c.send(encodePub('cls', 'x'));
  await expectResponse(t, c, 'OK', 'the server does not close after CLS; PUB still works');
});

t.test('after CLS a fatal error still closes the connection (second CLS)', async (t) => {
  const nsqd = await start(t);
  const c = await consumer(t, nsqd, 'cls2', 'c');
  c.send('CLS\n');
  await expectResponse(t, c, 'CLOSE_WAIT');
  c.send('CLS\n');
  await expectFatal(t, c, 'E_INVALID cannot CLS in current state');
});

t.test('after CLS, SUB is refused and closes the connection', async (t) => {
  const nsqd = await start(t);
  const c = await consumer(t, nsqd, 'cls3', 'c');
  c.send('CLS\n');
  await expectResponse(t, c, 'CLOSE_WAIT');
  c.send('SUB cls3 c\n');
  await expectFatal(t, c, 'E_INVALID cannot SUB in current state');
});

// ---- SUB ----------------------------------------------------------------------------------------

t.test('SUB with heartbeats disabled: E_INVALID, fatal', async (t) => {
  const nsqd = await start(t);
  const c = await open(t, nsqd);
  c.send(encodeIdentify({ heartbeat_interval: -1 }));
  await expectResponse(t, c, 'OK');
  c.send(encodeCommand('SUB', 't', 'c'));
  await expectFatal(t, c, 'E_INVALID cannot SUB with heartbeats disabled');
});

t.test('a second SUB: E_INVALID cannot SUB in current state', async (t) => {
  const nsqd = await start(t);
  const c = await consumer(t, nsqd, 't', 'c', null);
  c.send(encodeCommand('SUB', 't', 'd'));
  await expectFatal(t, c, 'E_INVALID cannot SUB in current state');
});

t.test('AUTH without an auth server: E_AUTH_DISABLED after the body', async (t) => {
  const nsqd = await start(t);
  const c = await open(t, nsqd);
  c.send(withSize('AUTH', 6, Buffer.from('secret')));
  await expectFatal(t, c, 'E_AUTH_DISABLED AUTH disabled');
});

// ---- heartbeats ---------------------------------------------------------------------------------

t.test('heartbeats: _heartbeat_ frames about every interval', async (t) => {
  const nsqd = await start(t);
  const c = await open(t, nsqd);
  c.send(encodeIdentify({ heartbeat_interval: 1000 }));
  const started = Date.now();
  await expectResponse(t, c, 'OK');
  const times: number[] = [];
  while (times.length < 2) {
    const f = await c.next(2500, false);
    t.same(show(f), { type: FRAME_TYPE_RESPONSE, text: '_heartbeat_' }, 'a heartbeat frame');
    times.push(Date.now() - started);
    c.send('NOP\n');
  }
  t.ok(times[0]! >= 700 && times[0]! <= 1600, `first heartbeat after about 1s (${times[0]}ms)`);
  const gap = times[1]! - times[0]!;
  t.ok(gap >= 700 && gap <= 1600, `next one about 1s later (${gap}ms)`);
});

t.test('heartbeats: a client that never answers is disconnected after about 2 intervals', async (t) => {
  const nsqd = await start(t);
  const c = await open(t, nsqd);
  c.send(encodeIdentify({ heartbeat_interval: 1000 }));
  const sent = Date.now();
  await expectResponse(t, c, 'OK');
  const frames: string[] = [];
  for (;;) {
    const f = await c.next(4000, false).catch(() => 'timeout' as const);
    if (f === 'timeout' || f === null) break;
    frames.push(f.text);
  }
  const took = Date.now() - sent;
  t.ok(c.socket.destroyed || (await closedWithin(c, 10)), 'the server closed the connection');
  t.ok(took >= 1700 && took <= 3200, `closed after about 2 intervals (${took}ms)`);
  t.ok(frames.length >= 1, 'at least one heartbeat was sent before');
  t.ok(frames.every((f) => f === '_heartbeat_'), 'only heartbeats, no error frame');
});

t.test('heartbeats: a client that answers with NOP stays connected', async (t) => {
  const nsqd = await start(t);
  const c = await open(t, nsqd);
  c.send(encodeIdentify({ heartbeat_interval: 1000 }));
  await expectResponse(t, c, 'OK');
  const until = Date.now() + 3300;
  let beats = 0;
  while (Date.now() < until) {
    const f = await c.next(1600, false).catch(() => null);
    if (f === null) break;
    if (f.text === '_heartbeat_') {
      beats++;
      c.send('NOP\n');
    }
  }
  t.ok(beats >= 3, `answered ${beats} heartbeats`);
  c.send(encodePub('hb', 'x'));
  await expectResponse(t, c, 'OK', 'still connected after more than 3 intervals');
});

// ---- message frames -----------------------------------------------------------------------------

t.test('message frames: id, timestamp, attempts increment on REQ', async (t) => {
  const nsqd = await start(t);
  const c = await consumer(t, nsqd, 'msg', 'c');
  const body = Buffer.from([0, 1, 2, 10, 13, 255]);
  const before = BigInt(Date.now()) * 1_000_000n;
  await publish(t, nsqd, 'msg', [body]);
  const after = BigInt(Date.now()) * 1_000_000n;
  const m = await nextMessage(t, c);
  t.match(m.id, /^[0-9a-f]{16}$/, '16 lowercase hex characters');
  t.ok(m.timestamp >= before - 50_000_000n && m.timestamp <= after + 50_000_000n, `timestamp is the publish time in ns (${m.timestamp})`);
  t.equal(m.attempts, 1, 'first delivery carries attempts 1');
  t.equal(m.body.toString('hex'), body.toString('hex'), 'body intact');
  c.send(`REQ ${m.id} 0\n`);
  const m2 = await nextMessage(t, c);
  t.equal(m2.id, m.id);
  t.equal(m2.attempts, 2, 'attempts 2 after one REQ');
  t.equal(m2.timestamp, m.timestamp, 'timestamp kept across requeue');
  c.send(`REQ ${m.id} 0\n`);
  const m3 = await nextMessage(t, c);
  t.equal(m3.attempts, 3, 'attempts 3 after two REQs');
  c.send(`FIN ${m.id}\n`);
  t.ok(await c.quietFor(150), 'finished');
  const ch = await channelStats(nsqd, 'msg', 'c');
  t.equal(ch?.requeue_count, 2);
  t.equal(ch?.clients?.[0]?.finish_count, 1);
  t.equal(ch?.clients?.[0]?.message_count, 3);
});

t.test('message ids differ between messages; every channel gets a copy with the same id', async (t) => {
  const nsqd = await start(t);
  const a = await consumer(t, nsqd, 'fan', 'a', 10);
  const b = await consumer(t, nsqd, 'fan', 'b', 10);
  await publish(t, nsqd, 'fan', ['1', '2', '3']);
  const ma = [await nextMessage(t, a), await nextMessage(t, a), await nextMessage(t, a)];
  const mb = [await nextMessage(t, b), await nextMessage(t, b), await nextMessage(t, b)];
  t.equal(new Set(ma.map((m) => m.id)).size, 3, 'three distinct ids');
  t.same(
    ma.map((m) => m.id),
    mb.map((m) => m.id),
    'both channels see the same ids',
  );
  t.same(
    mb.map((m) => m.body.toString()),
    ['1', '2', '3'],
  );
});

// ---- robustness ---------------------------------------------------------------------------------

t.test('the server keeps serving others after a connection misbehaves', async (t) => {
  const nsqd = await start(t, { maxMsgSize: 1024 });
  const bad: Buffer[] = [
    Buffer.from('\x00\xff garbage \x01\n'),
    withSize('PUB t', 1_000_000),
    encodePub('bad/name', 'x'),
    encodeMpub('x', [Buffer.alloc(2000)]),
    Buffer.from('RDY 99999999999999999999\n'),
  ];
  for (const bytes of bad) {
    const c = await open(t, nsqd);
    c.send(bytes);
    const f = await nextOr(c);
    t.equal(f !== null && f !== 'timeout' && f.type, FRAME_TYPE_ERROR, `error for ${JSON.stringify(bytes.subarray(0, 12).toString('latin1'))}`);
    t.ok(await closedWithin(c, 2000), 'closed');
  }
  const healthy = await consumer(t, nsqd, 'ok', 'c');
  await publish(t, nsqd, 'ok', ['fine']);
  const m = await nextMessage(t, healthy);
  t.equal(m.body.toString(), 'fine');
  healthy.send(`FIN ${m.id}\n`);
  t.ok(await healthy.quietFor(100));
});

t.test('a consumer that stops reading does not make the server buffer everything', async (t) => {
  const nsqd = await start(t);
  const MSG = 100 * 1024;
  const TOTAL = 300;
  const slow = await consumer(t, nsqd, 'slow', 'c', 2500);
  // let the RDY arrive, then stop reading the socket
  await waitFor('RDY 2500', async () => (await channelStats(nsqd, 'slow', 'c'))?.clients?.[0]?.ready_count === 2500);
  slow.socket.pause();
  const p = await open(t, nsqd);
  const body = Buffer.alloc(MSG, 120);
  for (let sent = 0; sent < TOTAL; sent += 30) {
    p.send(encodeMpub('slow', Array.from({ length: 30 }, () => body)));
    await expectResponse(t, p, 'OK', `MPUB ${sent + 30}/${TOTAL}`);
  }
  // in flight settles once the socket buffers are full
  let last = -1;
  let inFlight = 0;
  for (let i = 0; i < 40; i++) {
    inFlight = (await channelStats(nsqd, 'slow', 'c'))?.in_flight_count ?? -1;
    if (inFlight === last) break;
    last = inFlight;
    await delay(100);
  }
  await delay(300);
  const settled = (await channelStats(nsqd, 'slow', 'c'))?.in_flight_count ?? -1;
  t.equal(settled, inFlight, `in_flight_count stopped growing (${settled})`);
  t.ok(settled > 0 && settled < TOTAL / 2, `in flight (${settled}) is well below the ${TOTAL} published: output is bounded by backpressure`);
  const ch = await channelStats(nsqd, 'slow', 'c');
  t.equal((ch?.depth ?? 0) + settled, TOTAL, 'the rest waits in the channel');

  const other = await consumer(t, nsqd, 'other', 'c');
  await publish(t, nsqd, 'other', ['meanwhile']);
  t.equal((await nextMessage(t, other)).body.toString(), 'meanwhile', 'another client is served meanwhile');

  slow.socket.resume();
  const ids = new Set<string>();
  while (ids.size < TOTAL) {
    const m = await nextMessage(t, slow, 5000);
    ids.add(m.id);
  }
  t.equal(ids.size, TOTAL, 'once the consumer reads again, every message arrives');
});

t.test('command lines: 16383 bytes work, longer lines are refused', async (t) => {
  const nsqd = await start(t);
  await t.test('a 16383-byte line (nsqd maximum) is accepted', async (t) => {
    const c = await open(t, nsqd);
    const line = 'NOP ' + 'x'.repeat(16383 - 4);
    c.send(line + '\n');
    c.send(encodePub('after-long', 'x'));
    await expectResponse(t, c, 'OK');
  });
  await t.test('a line longer than 16 KiB: error, then close', async (t) => {
    const c = await open(t, nsqd);
    c.send('NOP ' + 'x'.repeat(20000) + '\n');
    const f = await nextOr(c);
    t.equal(f !== null && f !== 'timeout' && f.type, FRAME_TYPE_ERROR, 'an error frame');
    t.match(f !== null && f !== 'timeout' ? f.text : '', /^E_INVALID /);
    t.ok(await closedWithin(c, 2000), 'closed');
  });
  await t.test('a long line without a newline is refused before it ends', async (t) => {
    const c = await open(t, nsqd);
    c.send('A'.repeat(17000));
    t.ok(await closedWithin(c, 2000), 'closed without waiting for a newline');
  });
  await t.test('a 16384-byte line is refused (nsqd reads lines through a 16384-byte buffer)', async (t) => {
    const c = await open(t, nsqd);
    c.send('NOP ' + 'x'.repeat(16384 - 4) + '\n');
    c.send(encodePub('after-16384', 'x'));
    const f = await nextOr(c);
    t.notSame(show(f), { type: FRAME_TYPE_RESPONSE, text: 'OK' }, 'the PUB after it is not executed');
    t.ok(await closedWithin(c, 2000), 'closed');
  });
});

t.test('a long command stream written one byte per write works', async (t) => {
  const nsqd = await start(t);
  const c = await open(t, nsqd, null);
  c.socket.setNoDelay(true);
  const stream = Buffer.concat([
    MAGIC_V2,
    encodeIdentify({ feature_negotiation: true, client_id: 'bytewise', heartbeat_interval: 10000 }),
    encodeCommand('SUB', 'bytes', 'c'),
    encodeCommand('RDY', 10),
    encodePub('bytes', Buffer.from([10, 13, 0, 255, 10])),
    encodeMpub('bytes', ['a', 'bb', Buffer.from('c\nc')]),
    encodeDpub('bytes', 0, 'd'),
    Buffer.from('NOP\r\n'),
  ]);
  const writeByte = (b: number): Promise<void> => new Promise((resolve, reject) => c.socket.write(Buffer.of(b), (err) => (err ? reject(err) : resolve())));
  for (const b of stream) await writeByte(b);
  const responses: string[] = [];
  const messages: DecodedMessage[] = [];
  while (responses.length < 5 || messages.length < 5) {
    const f = await nextOr(c, 3000);
    if (f === null || f === 'timeout') {
      t.fail(`stream stalled: ${JSON.stringify(responses)} and ${messages.length} messages`);
      return;
    }
    if (f.type === FRAME_TYPE_MESSAGE) messages.push(decodeMessage(f.data, 0, f.data.length));
    else if (f.type === FRAME_TYPE_RESPONSE) responses.push(f.text);
    else t.fail(`unexpected error ${f.text}`);
  }
  t.match(responses[0], /^\{"max_rdy_count":2500,/, 'IDENTIFY JSON first');
  t.same(responses.slice(1), ['OK', 'OK', 'OK', 'OK'], 'SUB, PUB, MPUB and DPUB each answered OK');
  t.same(
    messages.map((m) => m.body.toString('latin1')),
    ['\n\r\0\xff\n', 'a', 'bb', 'c\nc', 'd'],
    'bodies intact, in order',
  );
  const fins = Buffer.from(messages.map((m) => `FIN ${m.id}\n`).join(''));
  for (const b of fins) await writeByte(b);
  t.ok(await c.quietFor(200), 'FINs written byte by byte: no error');
  const ch = await channelStats(nsqd, 'bytes', 'c');
  t.equal(ch?.clients?.[0]?.finish_count, 5, 'all five finished');
  t.equal(ch?.clients?.[0]?.client_id, 'bytewise');
});

t.test('fuzz: 200 connections of random bytes', async (t) => {
  const nsqd = await start(t, { maxMsgSize: 4096, maxBodySize: 16384 });
  const N = 200;
  const BATCH = 25;
  const failures: string[] = [];
  let withError = 0;

  const one = async (i: number): Promise<void> => {
    const kind = i % 3; // 0: bad magic, 1: magic + junk, 2: magic + a valid PUB + junk
    const len = 1 + rand(1500);
    const junk = Buffer.alloc(len);
    for (let k = 0; k < len; k++) junk[k] = Math.random() < 0.05 ? 10 : rand(256);
    // the first command of the junk must not be a real verb: never start it with A-Z
    while (junk[0]! >= 65 && junk[0]! <= 90) junk[0] = rand(256);
    junk[len - 1] = 10;
    let bytes: Buffer;
    if (kind === 0) {
      const magic = Buffer.from([rand(256), rand(256), rand(256), rand(256)]);
      if (magic.equals(MAGIC_V2)) magic[0] = 0;
      bytes = Buffer.concat([magic, junk]);
    } else if (kind === 1) {
      bytes = Buffer.concat([MAGIC_V2, junk]);
    } else {
      bytes = Buffer.concat([MAGIC_V2, encodePub('fuzz', junk.subarray(0, 1 + rand(len))), junk]);
    }
    const c = await RawConn.open(nsqd.tcpEndpoint.port, null);
    try {
      // random split points, as a network would
      let pos = 0;
      while (pos < bytes.length) {
        const n = 1 + rand(200);
        c.send(bytes.subarray(pos, pos + n));
        pos += n;
      }
      const frames: Frame[] = [];
      for (;;) {
        const f = await nextOr(c, 3000);
        if (f === 'timeout') {
          failures.push(`#${i} (kind ${kind}): not closed within 3s after ${frames.map((x) => x.text.slice(0, 40)).join(' | ')}`);
          return;
        }
        if (f === null) break;
        frames.push(f);
      }
      const last = frames[frames.length - 1];
      if (last === undefined || last.type !== FRAME_TYPE_ERROR || !last.text.startsWith('E_')) {
        failures.push(`#${i} (kind ${kind}): closed without an error frame; frames: ${JSON.stringify(frames.map((x) => x.text.slice(0, 40)))}`);
        return;
      }
      if (kind === 0 && last.text !== 'E_BAD_PROTOCOL') failures.push(`#${i}: bad magic answered ${last.text}`);
      if (kind === 2 && frames[0]?.text !== 'OK') failures.push(`#${i}: valid PUB before the junk answered ${frames[0]?.text}`);
      withError++;
    } finally {
      c.close();
    }
  };

  for (let i = 0; i < N; i += BATCH) {
    await Promise.all(Array.from({ length: Math.min(BATCH, N - i) }, (_, k) => one(i + k)));
  }
  t.same(failures, [], 'every connection got an error frame (E_*) and was closed');
  t.equal(withError, N);
  await waitFor('fuzz connections to be released', () => nsqd.clients.size === 0, 3000).catch(() => undefined);
  t.equal(nsqd.clients.size, 0, 'no fuzz connection is left registered');

  const healthy = await consumer(t, nsqd, 'after-fuzz', 'c');
  await publish(t, nsqd, 'after-fuzz', ['still alive']);
  t.equal((await nextMessage(t, healthy)).body.toString(), 'still alive', 'a healthy client still works afterwards');
});

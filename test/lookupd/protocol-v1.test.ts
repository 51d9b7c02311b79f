// nsqlookupd's TCP protocol V1 over real sockets: what an nsqd sees (responses, exact error texts,
// closed connections) and what consumers then see over HTTP.

import { connect } from 'node:net';
import { hostname } from 'node:os';
import t from 'tap';
import type { NSQLookupd } from '../../src/lookupd/lookupd.js';
import { encodeCommandWithBody } from '../../src/protocol/encoders.js';
import { identifyCommand, startLookupd, V1Conn } from '../helpers/lookupd.js';

const PEER = { broadcast_address: 'nsqd-a.test', hostname: 'nsqd-a', tcp_port: 4150, http_port: 4151, version: '1.3.0' };

async function getJson(l: NSQLookupd, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${l.httpEndpoint.port}${path}`);
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : JSON.parse(text) };
}

/** Polls until `check` passes (the server handles a hang-up after the client sees it). */
async function eventually(check: () => Promise<boolean>, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
}

t.test('PING answers OK, before and after IDENTIFY', async (t) => {
  const l = await startLookupd(t);
  const c = await V1Conn.open(t, l.tcpEndpoint.port);
  t.equal(await c.command('PING'), 'OK');
  await c.identify(PEER);
  t.equal(await c.command('PING'), 'OK');
  // responses are [4-byte size][data], no frame type
  const raw = await new Promise<Buffer>((resolve) => {
    const s = connect(l.tcpEndpoint.port, '127.0.0.1', () => s.write('  V1PING\n'));
    t.teardown(() => s.destroy());
    s.once('data', (d: Buffer) => resolve(d));
  });
  t.same([...raw], [0, 0, 0, 2, 0x4f, 0x4b]);
});

t.test("IDENTIFY answers with the lookupd's own info", async (t) => {
  const l = await startLookupd(t, { broadcastAddress: 'lookupd.example' });
  const c = await V1Conn.open(t, l.tcpEndpoint.port);
  const info = await c.identify(PEER);
  t.same(info, { broadcast_address: 'lookupd.example', hostname: hostname(), http_port: l.httpEndpoint.port, tcp_port: l.tcpEndpoint.port, version: '1.3.0' });
  // in Go's map order: sorted keys
  t.same(Object.keys(info), ['broadcast_address', 'hostname', 'http_port', 'tcp_port', 'version']);
});

t.test('REGISTER topic and channel: /lookup, /channels, /topics and /nodes show the producer', async (t) => {
  const l = await startLookupd(t);
  const c = await V1Conn.open(t, l.tcpEndpoint.port);
  await c.identify({ ...PEER, remote_address: 'ignored:1', extra_field: true });
  t.equal(await c.command('REGISTER orders billing'), 'OK');
  t.equal(await c.command('REGISTER orders'), 'OK');
  t.equal(await c.command('REGISTER orders billing'), 'OK', 'registering again is fine');
  const producer = { remote_address: c.localAddress, hostname: 'nsqd-a', broadcast_address: 'nsqd-a.test', tcp_port: 4150, http_port: 4151, version: '1.3.0' };
  const lookup = await getJson(l, '/lookup?topic=orders');
  t.equal(lookup.status, 200);
  t.same(lookup.body, { channels: ['billing'], producers: [producer] });
  t.same(Object.keys(lookup.body.producers[0]), ['remote_address', 'hostname', 'broadcast_address', 'tcp_port', 'http_port', 'version']);
  t.same((await getJson(l, '/channels?topic=orders')).body, { channels: ['billing'] });
  t.same((await getJson(l, '/topics')).body, { topics: ['orders'] });
  t.same((await getJson(l, '/nodes')).body, { producers: [{ ...producer, tombstones: [false], topics: ['orders'] }] });
});

t.test('UNREGISTER: channel, ephemeral channel, topic', async (t) => {
  const l = await startLookupd(t);
  const c = await V1Conn.open(t, l.tcpEndpoint.port);
  await c.identify(PEER);
  for (const line of ['REGISTER t1 keep', 'REGISTER t1 tmp#ephemeral', 'REGISTER t1', 'REGISTER t2']) t.equal(await c.command(line), 'OK');
  t.same((await getJson(l, '/channels?topic=t1')).body.channels, ['keep', 'tmp#ephemeral']);

  t.equal(await c.command('UNREGISTER t1 tmp#ephemeral'), 'OK');
  t.same((await getJson(l, '/channels?topic=t1')).body.channels, ['keep'], 'an ephemeral channel goes with its last producer');
  t.equal(await c.command('UNREGISTER t1 keep'), 'OK');
  t.same((await getJson(l, '/channels?topic=t1')).body.channels, ['keep'], 'a channel stays listed without producers, as in nsqlookupd');
  t.equal((await getJson(l, '/lookup?topic=t1')).body.producers.length, 1, 'still a producer of the topic');

  t.equal(await c.command('UNREGISTER t1'), 'OK');
  t.same((await getJson(l, '/lookup?topic=t1')).body, { channels: ['keep'], producers: [] });
  t.same((await getJson(l, '/nodes')).body.producers[0].topics, ['t2']);
  t.equal(await c.command('UNREGISTER never-registered'), 'OK', 'unregistering what is not there is fine');

  t.equal(await c.command('REGISTER gone#ephemeral'), 'OK');
  t.equal(await c.command('UNREGISTER gone#ephemeral'), 'OK');
  t.notOk((await getJson(l, '/topics')).body.topics.includes('gone#ephemeral'), 'an ephemeral topic goes with its last producer');
  t.equal((await getJson(l, '/lookup?topic=gone%23ephemeral')).status, 404);
});

t.test("a closed connection takes its peer's registrations with it; others keep theirs", async (t) => {
  const l = await startLookupd(t);
  const a = await V1Conn.open(t, l.tcpEndpoint.port);
  const b = await V1Conn.open(t, l.tcpEndpoint.port);
  await a.identify(PEER);
  await b.identify({ ...PEER, broadcast_address: 'nsqd-b.test', http_port: 5151 });
  t.equal(await a.command('REGISTER shared ch'), 'OK');
  t.equal(await b.command('REGISTER shared'), 'OK');
  t.equal((await getJson(l, '/lookup?topic=shared')).body.producers.length, 2);
  a.socket.end();
  await a.closed;
  t.ok(
    await eventually(async () => {
      const producers = (await getJson(l, '/lookup?topic=shared')).body.producers as { broadcast_address: string }[];
      return producers.length === 1 && producers[0]!.broadcast_address === 'nsqd-b.test';
    }),
    'only the other peer is left',
  );
  t.same(
    (await getJson(l, '/nodes')).body.producers.map((p: { broadcast_address: string }) => p.broadcast_address),
    ['nsqd-b.test'],
  );
  t.same((await getJson(l, '/topics')).body.topics, ['shared'], 'the topic stays registered, as in nsqlookupd');
  t.equal(await b.command('PING'), 'OK');
});

t.test('a producer that stops pinging leaves /lookup and /nodes after --inactive-producer-timeout; a PING brings it back', async (t) => {
  const l = await startLookupd(t, { inactiveProducerTimeout: 300 });
  const c = await V1Conn.open(t, l.tcpEndpoint.port);
  await c.identify(PEER);
  t.equal(await c.command('REGISTER quiet'), 'OK');
  t.equal((await getJson(l, '/lookup?topic=quiet')).body.producers.length, 1, 'active at first');
  const started = Date.now();
  t.ok(await eventually(async () => (await getJson(l, '/lookup?topic=quiet')).body.producers.length === 0), 'dropped from /lookup');
  t.ok(Date.now() - started >= 250, 'not before the timeout');
  t.same((await getJson(l, '/nodes')).body.producers, [], 'dropped from /nodes');
  t.equal(await c.command('PING'), 'OK');
  t.equal((await getJson(l, '/lookup?topic=quiet')).body.producers.length, 1, 'back after a PING');
  t.equal((await getJson(l, '/nodes')).body.producers.length, 1);
});

const IDENTIFIED = identifyCommand(PEER);

/** Each case: bytes to send after the magic, the exact error, and whether IDENTIFY's answer comes first. */
const BAD_INPUT: { name: string; send: Buffer | string; error: string; identified?: boolean }[] = [
  { name: 'unknown command', send: 'FOO bar\n', error: 'E_INVALID invalid command FOO' },
  { name: 'lower-case verb', send: 'ping\n', error: 'E_INVALID invalid command ping' },
  { name: 'empty line', send: '\n', error: 'E_INVALID invalid command ' },
  { name: 'REGISTER before IDENTIFY', send: 'REGISTER t\n', error: 'E_INVALID client must IDENTIFY' },
  { name: 'UNREGISTER before IDENTIFY', send: 'UNREGISTER t c\n', error: 'E_INVALID client must IDENTIFY' },
  { name: 'REGISTER without a topic', send: Buffer.concat([IDENTIFIED, Buffer.from('REGISTER\n')]), error: 'E_INVALID REGISTER insufficient number of params', identified: true },
  { name: 'bad topic name', send: Buffer.concat([IDENTIFIED, Buffer.from('REGISTER bad!topic\n')]), error: "E_BAD_TOPIC REGISTER topic name 'bad!topic' is not valid", identified: true },
  { name: 'topic name too long', send: Buffer.concat([IDENTIFIED, Buffer.from(`REGISTER ${'x'.repeat(65)}\n`)]), error: `E_BAD_TOPIC REGISTER topic name '${'x'.repeat(65)}' is not valid`, identified: true },
  { name: 'empty topic (two spaces)', send: Buffer.concat([IDENTIFIED, Buffer.from('REGISTER  ch\n')]), error: "E_BAD_TOPIC REGISTER topic name '' is not valid", identified: true },
  { name: 'bad channel name', send: Buffer.concat([IDENTIFIED, Buffer.from('UNREGISTER t a*b\n')]), error: "E_BAD_CHANNEL UNREGISTER channel name 'a*b' is not valid", identified: true },
  { name: 'IDENTIFY twice', send: Buffer.concat([IDENTIFIED, IDENTIFIED]), error: 'E_INVALID cannot IDENTIFY again', identified: true },
  { name: 'negative body size', send: Buffer.from([...Buffer.from('IDENTIFY\n'), 0xff, 0xff, 0xff, 0xff]), error: 'E_BAD_BODY IDENTIFY invalid body size -1' },
  { name: 'oversize body', send: Buffer.from([...Buffer.from('IDENTIFY\n'), 0x00, 0x10, 0x00, 0x01]), error: 'E_BAD_BODY IDENTIFY body too big 1048577 > 1048576' },
  { name: 'huge body size', send: Buffer.from([...Buffer.from('IDENTIFY\n'), 0x7f, 0xff, 0xff, 0xff]), error: 'E_BAD_BODY IDENTIFY body too big 2147483647 > 1048576' },
  { name: 'empty body', send: encodeCommandWithBody('IDENTIFY', ''), error: 'E_BAD_BODY IDENTIFY failed to decode JSON body' },
  { name: 'body not JSON', send: encodeCommandWithBody('IDENTIFY', '{"tcp_port":'), error: 'E_BAD_BODY IDENTIFY failed to decode JSON body' },
  { name: 'body a JSON array', send: encodeCommandWithBody('IDENTIFY', '[1,2]'), error: 'E_BAD_BODY IDENTIFY failed to decode JSON body' },
  { name: 'port of the wrong type', send: identifyCommand({ ...PEER, tcp_port: '4150' }), error: 'E_BAD_BODY IDENTIFY failed to decode JSON body' },
  { name: 'fractional port', send: identifyCommand({ ...PEER, http_port: 41.5 }), error: 'E_BAD_BODY IDENTIFY failed to decode JSON body' },
  { name: 'missing version', send: identifyCommand({ ...PEER, version: undefined }), error: 'E_BAD_BODY IDENTIFY missing fields' },
  { name: 'zero tcp_port', send: identifyCommand({ ...PEER, tcp_port: 0 }), error: 'E_BAD_BODY IDENTIFY missing fields' },
  { name: 'null body', send: encodeCommandWithBody('IDENTIFY', 'null'), error: 'E_BAD_BODY IDENTIFY missing fields' },
  { name: 'line too long', send: 'P'.repeat(20_000), error: 'E_INVALID command line longer than 16383 bytes' },
];

t.test('bad input gets the exact error and a closed connection; the server keeps serving others', async (t) => {
  const l = await startLookupd(t);
  const bystander = await V1Conn.open(t, l.tcpEndpoint.port);
  await bystander.identify({ ...PEER, broadcast_address: 'bystander' });
  t.equal(await bystander.command('REGISTER steady'), 'OK');
  for (const c of BAD_INPUT) {
    const conn = await V1Conn.open(t, l.tcpEndpoint.port);
    conn.send(c.send);
    if (c.identified) t.match(await conn.next(), /^\{"broadcast_address"/, `${c.name}: IDENTIFY answered first`);
    t.equal(await conn.next(), c.error, c.name);
    t.equal(await conn.next(), null, `${c.name}: connection closed`);
  }
  const after = await V1Conn.open(t, l.tcpEndpoint.port);
  t.equal(await after.command('PING'), 'OK', 'a new client is served');
  t.equal(await bystander.command('PING'), 'OK', 'an existing client is served');
  t.same(
    (await getJson(l, '/lookup?topic=steady')).body.producers.map((p: { broadcast_address: string }) => p.broadcast_address),
    ['bystander'],
  );
  t.same((await getJson(l, '/nodes')).body.producers.length, 1, 'no half-identified peers left behind');
});

t.test('bad protocol magic: E_BAD_PROTOCOL, then closed', async (t) => {
  const l = await startLookupd(t);
  const c = await V1Conn.open(t, l.tcpEndpoint.port, '  V2');
  t.equal(await c.next(), 'E_BAD_PROTOCOL');
  t.equal(await c.next(), null);
});

t.test('commands after an error are not executed; the failed peer is unregistered', async (t) => {
  const l = await startLookupd(t);
  const c = await V1Conn.open(t, l.tcpEndpoint.port);
  await c.identify(PEER);
  t.equal(await c.command('REGISTER before'), 'OK');
  c.send('BOGUS\nREGISTER after\n');
  t.equal(await c.next(), 'E_INVALID invalid command BOGUS');
  t.equal(await c.next(), null);
  t.ok(await eventually(async () => (await getJson(l, '/lookup?topic=before')).body.producers.length === 0), 'its registrations are gone');
  t.equal((await getJson(l, '/lookup?topic=after')).status, 404, 'the command after the error never ran');
});

t.test('a session fed one byte at a time, and in random splits, gets the same answers', async (t) => {
  const session = Buffer.concat([
    Buffer.from('  V1PING\n'),
    identifyCommand(PEER),
    Buffer.from('REGISTER split-topic split-channel\r\n  PING  \nUNREGISTER split-topic split-channel\n'),
  ]);
  const l = await startLookupd(t);
  for (const mode of ['bytes', 'random'] as const) {
    const c = await V1Conn.open(t, l.tcpEndpoint.port, '');
    c.socket.setNoDelay(true);
    let pos = 0;
    while (pos < session.length) {
      const n = mode === 'bytes' ? 1 : 1 + Math.floor(Math.random() * 7);
      c.send(session.subarray(pos, pos + n));
      pos += n;
      await new Promise((r) => setImmediate(r));
    }
    t.equal(await c.next(), 'OK', `${mode}: PING`);
    t.match(JSON.parse((await c.next())!), { tcp_port: l.tcpEndpoint.port }, `${mode}: IDENTIFY`);
    t.equal(await c.next(), 'OK', `${mode}: REGISTER (CRLF)`);
    t.equal(await c.next(), 'OK', `${mode}: PING (padded)`);
    t.equal(await c.next(), 'OK', `${mode}: UNREGISTER`);
    t.same((await getJson(l, '/channels?topic=split-topic')).body.channels, ['split-channel']);
    c.socket.destroy();
  }
});

t.test('a client that never reads its answers is cut off, not buffered without limit', async (t) => {
  const l = await startLookupd(t);
  const c = await V1Conn.open(t, l.tcpEndpoint.port);
  c.socket.pause();
  const batch = Buffer.from('PING\n'.repeat(20_000));
  let closed = false;
  void c.closed.then(() => (closed = true));
  for (let i = 0; i < 200 && !closed; i++) {
    c.send(batch);
    await new Promise((r) => setTimeout(r, 5));
  }
  t.ok(closed, 'the server hung up');
  const other = await V1Conn.open(t, l.tcpEndpoint.port);
  t.equal(await other.command('PING'), 'OK');
});

// nsqd's transport features seen from independent clients: nsqjs over TLS, snappy and deflate
// (alone and layered), --tls-required for TCP and HTTP, the HTTPS listener, and a client sending
// broken snappy frames.

import { once } from 'node:events';
import { get as httpsGet } from 'node:https';
import t, { type Test } from 'tap';
import nsq from 'nsqjs';
import type { ConnectionOptions, Message } from 'nsqjs';
import { encodeCommand, encodeIdentify, encodePub } from '../../src/protocol/encoders.js';
import { SnappyFrameDecoder, SnappyFrameEncoder, STREAM_IDENTIFIER } from '../../src/protocol/snappy-frame.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { TLS_REQUIRED, TLS_REQUIRED_EXCEPT_HTTP } from '../../src/nsqd/options.js';
import type { NSQD } from '../../src/nsqd/nsqd.js';
import { startNsqd } from '../helpers/nsqd.js';
import { rawHttp } from '../helpers/http.js';
import { RawConn } from '../helpers/raw.js';
import { getStats, httpBase, waitFor } from '../helpers/stats.js';
import { makeCerts } from '../helpers/tls.js';

const HOST = '127.0.0.1';
const certs = makeCerts(t);

function tlsNsqd(t: Test, extra: Parameters<typeof startNsqd>[1] = {}): Promise<NSQD> {
  return startNsqd(t, { tlsCert: certs.serverCert, tlsKey: certs.serverKey, httpsAddress: '127.0.0.1:0', ...extra });
}

function within<T>(p: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)))]).finally(() => clearTimeout(timer));
}

/** nsqjs publishes `bodies` with `options` and an nsqjs Reader with the same options gets them all. */
async function roundTrip(t: Test, nsqd: NSQD, options: ConnectionOptions, topic: string, bodies: Buffer[]): Promise<void> {
  const writer = new nsq.Writer(HOST, nsqd.tcpEndpoint.port, options);
  const errors: Error[] = [];
  writer.on('error', (e: Error) => errors.push(e));
  writer.connect();
  t.teardown(() => writer.close());
  await within(once(writer, 'ready'), 'writer ready');
  const reader = new nsq.Reader(topic, 'ch', { nsqdTCPAddresses: [`${HOST}:${nsqd.tcpEndpoint.port}`], maxInFlight: 200, ...options });
  reader.on('error', (e: Error) => errors.push(e));
  const got: Buffer[] = [];
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  reader.on('message', (m: Message) => {
    got.push(m.body);
    m.finish();
    if (got.length === bodies.length) done();
  });
  reader.connect();
  t.teardown(() => reader.close());
  await within(once(reader, 'ready'), 'reader ready');
  // one at a time for the big ones, MPUB for the small ones
  const big = bodies.filter((b) => b.length > 1000);
  const small = bodies.filter((b) => b.length <= 1000);
  for (const b of big) await new Promise<void>((resolve, reject) => writer.publish(topic, b, (err?: Error | null) => (err ? reject(err) : resolve())));
  if (small.length > 0) await new Promise<void>((resolve, reject) => writer.publish(topic, small, (err?: Error | null) => (err ? reject(err) : resolve())));
  await within(all, `${bodies.length} messages`, 15000);
  const want = new Set(bodies.map((b) => b.toString('base64')));
  t.equal(got.length, bodies.length);
  t.ok(
    got.every((b) => want.has(b.toString('base64'))),
    'every body arrives intact',
  );
  t.same(errors, []);
}

const mixedBodies = (): Buffer[] => {
  const big = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
  return [big, Buffer.alloc(200_000, 'x'), ...Array.from({ length: 300 }, (_, i) => Buffer.from(`small message ${i}`))];
};

t.test('nsqjs over TLS, snappy, deflate and TLS with each compression', async (t) => {
  const nsqd = await tlsNsqd(t);
  const cases: [string, ConnectionOptions][] = [
    ['tls', { tls: true, tlsVerification: false }],
    ['snappy', { snappy: true }],
    ['deflate', { deflate: true }],
    ['tls+snappy', { tls: true, tlsVerification: false, snappy: true }],
    ['tls+deflate', { tls: true, tlsVerification: false, deflate: true }],
  ];
  for (const [name, options] of cases) {
    await t.test(name, async (t) => {
      await roundTrip(t, nsqd, options, `transport_${name.replace('+', '_')}`, mixedBodies());
      const stats = await getStats(nsqd, '&include_clients=true');
      const topic = stats.topics!.find((x) => x.topic_name === `transport_${name.replace('+', '_')}`)!;
      const client = topic.channels[0]!.clients![0]! as unknown as Record<string, unknown>;
      t.equal(client['tls'], options.tls === true, '/stats tls');
      t.equal(client['snappy'], options.snappy === true, '/stats snappy');
      t.equal(client['deflate'], options.deflate === true, '/stats deflate');
      if (options.tls === true) {
        t.match(client['tls_version'], /^TLS1\.[23]$/);
        t.match(client['tls_cipher_suite'], /^TLS_/);
        t.equal(client['tls_negotiated_protocol_is_mutual'], true);
      } else {
        t.equal(client['tls_version'], '');
      }
    });
  }
});

t.test('IDENTIFY answer: tls_v1 only with a certificate; snappy and deflate together fail', async (t) => {
  const plain = await startNsqd(t);
  const c = await RawConn.open(plain.tcpEndpoint.port);
  c.send(encodeIdentify({ feature_negotiation: true, tls_v1: true }));
  const r = JSON.parse((await c.next())!.text) as Record<string, unknown>;
  t.equal(r['tls_v1'], false, 'no certificate: no TLS, the connection stays plain');
  t.equal(r['snappy'], false);
  c.send(encodeCommand('NOP'));
  c.send(encodePub('plain_ok', 'x'));
  t.equal((await c.next())!.text, 'OK');
  c.close();

  const c2 = await RawConn.open(plain.tcpEndpoint.port);
  c2.send(encodeIdentify({ feature_negotiation: true, snappy: true, deflate: true }));
  const f = await c2.next();
  t.equal(f!.text, 'E_IDENTIFY_FAILED cannot enable both deflate and snappy compression');
  t.equal(await c2.next(), null, 'and the connection closes');

  const off = await startNsqd(t, { snappy: false });
  const c3 = await RawConn.open(off.tcpEndpoint.port);
  c3.send(encodeIdentify({ feature_negotiation: true, snappy: true }));
  t.equal((JSON.parse((await c3.next())!.text) as Record<string, unknown>)['snappy'], false, '--snappy=false refuses snappy');
  c3.close();
});

t.test('--tls-required: plain commands and plain HTTP refused, TLS clients served', async (t) => {
  const nsqd = await tlsNsqd(t, { tlsRequired: TLS_REQUIRED });
  const c = await RawConn.open(nsqd.tcpEndpoint.port);
  c.send(encodeIdentify({ feature_negotiation: true }));
  t.equal((JSON.parse((await c.next())!.text) as Record<string, unknown>)['tls_v1'], false);
  c.send(encodeCommand('SUB', 'a', 'b'));
  t.equal((await c.next())!.text, 'E_INVALID cannot SUB in current state (TLS required)');
  t.equal(await c.next(), null, 'fatal: closed');
  const c2 = await RawConn.open(nsqd.tcpEndpoint.port);
  c2.send(encodePub('t', 'x'));
  t.equal((await c2.next())!.text, 'E_INVALID cannot PUB in current state (TLS required)', 'even without IDENTIFY');
  const c3 = await RawConn.open(nsqd.tcpEndpoint.port);
  c3.send('FIN 0123456789abcdef\n');
  t.equal((await c3.next())!.text, 'E_INVALID cannot FIN in current state (TLS required)', 'FIN fast path too');

  const res = await fetch(`${httpBase(nsqd)}/ping`);
  t.equal(res.status, 403);
  t.same(await res.json(), { message: 'TLS_REQUIRED', https_port: nsqd.httpsEndpoint!.port });
  t.equal(res.headers.get('x-nsq-content-type'), 'nsq; version=1.0');

  await roundTrip(t, nsqd, { tls: true, tlsVerification: false }, 'required_ok', [Buffer.from('a'), Buffer.from('b')]);

  const except = await tlsNsqd(t, { tlsRequired: TLS_REQUIRED_EXCEPT_HTTP });
  t.equal((await fetch(`${httpBase(except)}/ping`)).status, 200, 'tcp-https: plain HTTP stays open');
  const c4 = await RawConn.open(except.tcpEndpoint.port);
  c4.send(encodePub('t', 'x'));
  t.match((await c4.next())!.text, /TLS required/, 'tcp-https: plain TCP refused');
});

function httpsText(port: number, path: string, client: { cert?: Buffer; key?: Buffer } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpsGet({ host: HOST, port, path, ca: certs.read(certs.caCert), agent: false, ...client }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

t.test('--https-address serves the same API over TLS', async (t) => {
  const nsqd = await tlsNsqd(t, { tlsRequired: TLS_REQUIRED });
  const port = nsqd.httpsEndpoint!.port;
  t.not(port, nsqd.httpEndpoint.port);
  t.same(await httpsText(port, '/ping'), { status: 200, body: 'OK' });
  const stats = await httpsText(port, '/stats?format=json');
  t.equal(stats.status, 200);
  t.match(JSON.parse(stats.body), { health: 'OK' });
  // client certificate policies apply to HTTPS too
  const req = await tlsNsqd(t, { tlsClientAuthPolicy: 'require' });
  await t.rejects(httpsText(req.httpsEndpoint!.port, '/ping'), 'require: no client certificate, no answer');
  const withCert = await httpsText(req.httpsEndpoint!.port, '/ping', { cert: certs.read(certs.otherCert), key: certs.read(certs.otherKey) });
  t.same(withCert, { status: 200, body: 'OK' }, 'require: any certificate');
  const verify = await tlsNsqd(t, { tlsClientAuthPolicy: 'require-verify', tlsRootCaFile: certs.caCert });
  await t.rejects(httpsText(verify.httpsEndpoint!.port, '/ping', { cert: certs.read(certs.otherCert), key: certs.read(certs.otherKey) }), 'require-verify: unknown certificate refused');
  t.same(await httpsText(verify.httpsEndpoint!.port, '/ping', { cert: certs.read(certs.clientCert), key: certs.read(certs.clientKey) }), { status: 200, body: 'OK' });
  const noCert = await startNsqd(t, { httpsAddress: '127.0.0.1:0' });
  t.equal(noCert.httpsEndpoint, null, 'no certificate: no HTTPS listener');
});

t.test('HTTPS reads request heads up to 1 MiB as HTTP does; a longer one gets 431', async (t) => {
  const nsqd = await tlsNsqd(t);
  const port = nsqd.httpsEndpoint!.port;
  const pad = 'a'.repeat(100 * 1024);
  const ok = await rawHttp(port, `GET /ping?pad=${pad} HTTP/1.1\r\nHost: x\r\nX-Pad: ${pad}\r\nConnection: close\r\n\r\n`, true);
  t.same([ok.status, ok.body], [200, 'OK'], '100 KiB query string and 100 KiB header');
  const huge = await rawHttp(port, `GET /ping HTTP/1.1\r\nHost: x\r\nX-Pad: ${'b'.repeat(1100 * 1024)}\r\n\r\n`, true);
  t.equal(huge.status, 431, 'a header over 1 MiB: 431');
  t.same(await httpsText(port, '/ping'), { status: 200, body: 'OK' }, 'the server still answers');
});

t.test('broken snappy frames: that client is closed, the others are served', async (t) => {
  const nsqd = await startNsqd(t);
  const good = new nsq.Writer(HOST, nsqd.tcpEndpoint.port, { snappy: true });
  good.connect();
  t.teardown(() => good.close());
  await within(once(good, 'ready'), 'good writer');

  const bad = await RawConn.open(nsqd.tcpEndpoint.port);
  bad.send(encodeIdentify({ feature_negotiation: true, snappy: true }));
  // the answer is plain, then the OK comes snappy-framed: read the raw bytes
  const raw: Buffer[] = [];
  bad.socket.removeAllListeners('data');
  bad.socket.on('data', (d: Buffer) => raw.push(d));
  await waitFor('answer and OK', () => Buffer.concat(raw).includes(STREAM_IDENTIFIER));
  const all = Buffer.concat(raw);
  const cut = all.indexOf(STREAM_IDENTIFIER);
  const frames: string[] = [];
  const fd = new FrameDecoder({ onFrame: (_ty, b, s, e) => frames.push(b.toString('utf8', s, e)), onDecodeError: (e) => t.fail(e.message) });
  fd.push(all.subarray(0, cut));
  new SnappyFrameDecoder((plain) => fd.push(plain)).push(all.subarray(cut));
  t.match(JSON.parse(frames[0]!), { snappy: true });
  t.equal(frames[1], 'OK', 'the OK is snappy-framed');
  // a valid stream start, then a frame whose checksum is wrong
  const frame = new SnappyFrameEncoder().encode(encodePub('snappy_bad', 'x'));
  frame[frame.length - 2]! ^= 0xff;
  const closed = once(bad.socket, 'close');
  bad.socket.write(frame);
  await within(closed, 'server to close the bad connection');
  t.pass('bad connection closed');

  await new Promise<void>((resolve, reject) => good.publish('snappy_good', 'still here', (err?: Error | null) => (err ? reject(err) : resolve())));
  const stats = await getStats(nsqd);
  t.equal(stats.topics!.find((x) => x.topic_name === 'snappy_good')?.message_count, 1, 'the good client is still served');
  t.notOk(stats.topics!.some((x) => x.topic_name === 'snappy_bad'), 'nothing from the corrupt frame was executed');
});

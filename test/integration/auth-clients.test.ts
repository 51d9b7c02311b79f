// Clients against an nsqd that requires AUTH (a real auth server in the test): our client library,
// the `nsq pub` / `nsq tail` commands with --auth-secret, and nsqjs with its authSecret option.

import { once } from 'node:events';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import nsq from 'nsqjs';
import type { Message as NsqjsMessage } from 'nsqjs';
import { Connection, NsqError } from '../../src/client/connection.js';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import type { NSQD } from '../../src/nsqd/nsqd.js';
import { startAuthd, type AuthAnswer } from '../helpers/authd.js';
import { BIN, spawnNsq, startNsqd, tempDir } from '../helpers/nsqd.js';

const NO_STACK = /\bat .*\.js:\d+/;

const FULL: AuthAnswer = {
  ttl: 3600,
  identity: 'app',
  identity_url: 'https://auth.example/app',
  authorizations: [{ topic: '^events$', channels: ['.*'], permissions: ['subscribe', 'publish'] }],
};
const READ_ONLY: AuthAnswer = { ttl: 3600, identity: 'viewer', authorizations: [{ topic: '.*', channels: ['.*'], permissions: ['subscribe'] }] };

interface Teardown {
  teardown(fn: () => unknown): void;
}

async function authNsqd(t: Teardown): Promise<{ nsqd: NSQD; address: string; hits: () => number }> {
  const authd = await startAuthd(t, { full: FULL, ro: READ_ONLY });
  const nsqd = await startNsqd(t, { authHttpAddresses: [authd.address] });
  return { nsqd, address: `127.0.0.1:${nsqd.tcpEndpoint.port}`, hits: () => authd.hits.length };
}

t.test('our client: AUTH after IDENTIFY with authSecret; publish and consume', async (t) => {
  const { nsqd, address } = await authNsqd(t);
  const conn = await Connection.open({ host: '127.0.0.1', port: nsqd.tcpEndpoint.port, authSecret: 'full' });
  t.teardown(() => conn.close());
  t.equal(conn.identify?.auth_required, true);
  t.same(conn.auth, { identity: 'app', identity_url: 'https://auth.example/app', permission_count: 1 }, 'the AUTH answer is kept');

  const p = new Producer(address, { authSecret: 'full' });
  t.teardown(() => p.close());
  await p.publish('events', 'hello');
  await p.publish('events', 'world');
  const got: string[] = [];
  const c = new Consumer({ topic: 'events', channel: 'c', nsqdTcpAddresses: [address], authSecret: 'full' }, (m) => {
    got.push(m.body.toString());
  });
  t.teardown(() => c.stop(0));
  await c.start();
  const deadline = Date.now() + 5000;
  while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.same(got.sort(), ['hello', 'world']);
});

t.test('our client: no secret for a server that requires one, a wrong one, a refused topic', async (t) => {
  const { nsqd } = await authNsqd(t);
  const port = nsqd.tcpEndpoint.port;
  await t.rejects(Connection.open({ host: '127.0.0.1', port }), { code: 'E_AUTH_REQUIRED', message: `nsqd 127.0.0.1:${port} requires authorization (AUTH) and no auth secret was given` });
  await t.rejects(Connection.open({ host: '127.0.0.1', port, authSecret: 'wrong' }), { code: 'E_AUTH_FAILED', message: 'E_AUTH_FAILED AUTH failed' });
  const ro = await Connection.open({ host: '127.0.0.1', port, authSecret: 'ro' });
  t.teardown(() => ro.close());
  const err = await ro.publish('events', 'x').catch((e: unknown) => e);
  t.ok(err instanceof NsqError);
  t.equal((err as NsqError).message, 'E_UNAUTHORIZED AUTH failed for PUB on "events" ""');

  // a secret for a server without auth is not sent (as go-nsq)
  const plain = await startNsqd(t);
  const conn = await Connection.open({ host: '127.0.0.1', port: plain.tcpEndpoint.port, authSecret: 'unused' });
  t.teardown(() => conn.close());
  t.equal(conn.auth, null);
  await conn.publish('t', 'x');
  t.pass('publishes work');
});

t.test('nsq pub --auth-secret and nsq tail --auth-secret', async (t) => {
  const { address, hits } = await authNsqd(t);
  const tail = spawnNsq(t, ['tail', 'events', '--auth-secret', 'full', '-n', '2', '--nsqd-tcp-address', address]);
  // tail is subscribed once it has asked the auth server
  const deadline = Date.now() + 10_000;
  while (hits() < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const pub = spawnNsq(t, ['pub', 'events', 'one', 'two', '--auth-secret=full', '--nsqd-tcp-address', address, '--quiet']);
  const pubExit = await pub.exit;
  t.equal(pubExit.code, 0, `pub exits 0 (${pub.stderr()})`);
  const tailExit = await tail.exit;
  t.equal(tailExit.code, 0, `tail exits 0 (${tail.stderr()})`);
  t.equal(tail.stdout(), 'one\ntwo\n');

  // without the secret: one clear line, no stack trace, non-zero exit
  const noSecret = spawnNsq(t, ['pub', 'events', 'x', '--nsqd-tcp-address', address]);
  const e1 = await noSecret.exit;
  t.not(e1.code, 0, 'pub without --auth-secret fails');
  t.match(noSecret.stderr(), /requires authorization \(AUTH\) and no auth secret was given/);
  t.notMatch(noSecret.stderr(), NO_STACK);

  const tailNoSecret = spawnNsq(t, ['tail', 'events', '--nsqd-tcp-address', address]);
  t.equal((await tailNoSecret.exit).code, 1, 'tail without --auth-secret exits 1');
  t.equal(tailNoSecret.stderr(), `nsq: nsqd ${address} requires authorization (AUTH) and no auth secret was given\n`, 'with one line');

  const readOnly = spawnNsq(t, ['pub', 'events', 'x', '--auth-secret', 'ro', '--nsqd-tcp-address', address]);
  const e2 = await readOnly.exit;
  t.not(e2.code, 0, 'pub with a read-only secret fails');
  t.match(readOnly.stderr(), /E_UNAUTHORIZED AUTH failed for PUB on "events" ""/);
  t.notMatch(readOnly.stderr(), NO_STACK);
});

t.test("as the Go tools: nsq_tail -consumer-opt=auth_secret,<secret>, to_nsq -producer-opt=auth_secret,<secret>", async (t) => {
  const { address, hits } = await authNsqd(t);
  const dir = tempDir(t, 'nsq-alias-');
  for (const name of ['nsq_tail', 'to_nsq']) symlinkSync(BIN, join(dir, name));
  const tail = spawnNsq(t, ['-topic=events', '-consumer-opt=auth_secret,full', '-n', '1', `-nsqd-tcp-address=${address}`], { argv0: join(dir, 'nsq_tail') });
  const deadline = Date.now() + 10_000;
  while (hits() < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const pub = spawnNsq(t, ['-topic=events', '-producer-opt', 'auth_secret,full', `-nsqd-tcp-address=${address}`], { argv0: join(dir, 'to_nsq'), input: 'go style\n' });
  t.equal((await pub.exit).code, 0, `to_nsq exits 0 (${pub.stderr()})`);
  t.equal((await tail.exit).code, 0, `nsq_tail exits 0 (${tail.stderr()})`);
  t.equal(tail.stdout(), 'go style\n');

  const other = spawnNsq(t, ['-topic=events', '-consumer-opt=no_such_option,5', `-nsqd-tcp-address=${address}`], { argv0: join(dir, 'nsq_tail') });
  t.equal((await other.exit).code, 2, 'other go-nsq options: a usage error');
  t.match(other.stderr(), /invalid value "no_such_option,5" for flag --consumer-opt: supported options are .*auth_secret/);
});

t.test('nsqjs Reader and Writer with authSecret', async (t) => {
  const { nsqd } = await authNsqd(t);
  const port = nsqd.tcpEndpoint.port;
  const w = new nsq.Writer('127.0.0.1', port, { authSecret: 'full' });
  t.teardown(() => w.close());
  w.connect();
  await once(w, 'ready');
  await new Promise<void>((resolve, reject) => w.publish('events', 'from nsqjs', (err) => (err ? reject(err) : resolve())));

  const r = new nsq.Reader('events', 'nsqjs', { nsqdTCPAddresses: [`127.0.0.1:${port}`], authSecret: 'full' });
  t.teardown(() => r.close());
  const got = once(r, 'message') as Promise<[NsqjsMessage]>;
  r.connect();
  const [msg] = await got;
  t.equal(msg.body.toString(), 'from nsqjs');
  msg.finish();

  // and over a DEFLATE connection: AUTH goes through the compressed stream
  const z = new nsq.Reader('events', 'nsqjs-deflate', { nsqdTCPAddresses: [`127.0.0.1:${port}`], authSecret: 'full', deflate: true });
  t.teardown(() => z.close());
  const zgot = once(z, 'message') as Promise<[NsqjsMessage]>;
  // 'ready': subscribed, so the channel exists before the message is published
  const subscribed = once(z, 'ready');
  z.connect();
  await subscribed;
  await new Promise<void>((resolve, reject) => w.publish('events', 'squeezed', (err) => (err ? reject(err) : resolve())));
  const [zmsg] = await zgot;
  t.equal(zmsg.body.toString(), 'squeezed');
  zmsg.finish();

  // a read-only secret: nsqjs's publish fails with the server's error
  const ro = new nsq.Writer('127.0.0.1', port, { authSecret: 'ro' });
  t.teardown(() => ro.close());
  ro.on('error', () => {});
  ro.connect();
  await once(ro, 'ready');
  const err = await new Promise<Error | undefined>((resolve) => ro.publish('events', 'x', (e) => resolve(e ?? undefined)));
  t.match(String(err?.message ?? err), /E_UNAUTHORIZED/);
});

t.test('nsqjs Reader whose grant is withdrawn: E_UNAUTHORIZED at expiry, its unfinished messages go to an authorized consumer', async (t) => {
  const authd = await startAuthd(t, { full: FULL, expiring: { ...FULL, ttl: 1 } });
  const nsqd = await startNsqd(t, { authHttpAddresses: [authd.address] });
  const address = `127.0.0.1:${nsqd.tcpEndpoint.port}`;
  const r = new nsq.Reader('events', 'work', { nsqdTCPAddresses: [address], authSecret: 'expiring', maxInFlight: 5 });
  t.teardown(() => r.close());
  const errors: string[] = [];
  const unauthorized = new Promise<void>((resolve) =>
    r.on('error', (err: Error) => {
      errors.push(err.message);
      if (/E_UNAUTHORIZED/.test(err.message)) resolve();
    }),
  );
  const held: string[] = [];
  const three = new Promise<void>((resolve) =>
    r.on('message', (m: NsqjsMessage) => {
      // never finished: in flight when the grant goes away
      held.push(m.body.toString());
      if (held.length === 3) resolve();
    }),
  );
  const ready = once(r, 'ready');
  r.connect();
  await ready;
  for (const body of ['a', 'b', 'c']) nsqd.getTopic('events').publish(Buffer.from(body), 0, 1);
  await three;
  t.same(held.sort(), ['a', 'b', 'c'], 'nsqjs received while authorized');

  authd.secrets.set('expiring', { ...FULL, ttl: 1, authorizations: [] });
  await unauthorized;
  t.match(errors.join('\n'), /E_UNAUTHORIZED AUTH failed for SUB on "events" "work"/, 'nsqjs reports the server error');

  const got: string[] = [];
  const c = new Consumer({ topic: 'events', channel: 'work', nsqdTcpAddresses: [address], authSecret: 'full' }, (m) => {
    got.push(m.body.toString());
  });
  t.teardown(() => c.stop(0));
  await c.start();
  const deadline = Date.now() + 5000;
  while (got.length < 3 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
  t.same(got.sort(), ['a', 'b', 'c'], 'the authorized consumer gets the messages nsqjs never finished');
});

t.test('nsq pub --http --auth-secret against --auth-http-api: the secret is the bearer', async (t) => {
  const authd = await startAuthd(t, { full: FULL, ro: READ_ONLY });
  const nsqd = await startNsqd(t, { authHttpAddresses: [authd.address], authHttpApi: true });
  const http = `127.0.0.1:${nsqd.httpEndpoint.port}`;
  const ok = spawnNsq(t, ['pub', 'events', 'one', 'two', '--http', `--nsqd-http-address=${http}`, '--auth-secret=full', '--quiet']);
  t.equal((await ok.exit).code, 0, `pub exits 0 (${ok.stderr()})`);
  t.equal(nsqd.getExistingTopic('events')?.messageCount, 2, 'both published');
  t.ok(authd.hits.some((h) => h.query.get('secret') === 'full'), 'the auth server was asked for the secret');

  const noSecret = spawnNsq(t, ['pub', 'events', 'x', '--http', `--nsqd-http-address=${http}`]);
  t.not((await noSecret.exit).code, 0, 'without --auth-secret: non-zero');
  t.match(noSecret.stderr(), `nsqd ${http} requires authorization (HTTP 401) and no auth secret was given`);
  t.notMatch(noSecret.stderr(), NO_STACK);

  const ro = spawnNsq(t, ['pub', 'events', 'x', '--http', `--nsqd-http-address=${http}`, '--auth-secret', 'ro']);
  t.not((await ro.exit).code, 0, 'a read-only secret: non-zero');
  t.match(ro.stderr(), '403 UNAUTHORIZED');
  t.notMatch(ro.stderr(), NO_STACK);
  t.equal(nsqd.getExistingTopic('events')?.messageCount, 2, 'nothing refused was published');
});

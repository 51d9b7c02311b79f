// AUTH against a real auth server (an HTTP server in the test): what a raw protocol client sees —
// IDENTIFY's auth_required, AUTH's answer and errors, per-command checks with nsqd's codes and
// texts, TTL expiry re-queries, commands pipelined behind AUTH, /stats fields, the flags.

import { once } from 'node:events';
import { connect } from 'node:net';
import { constants as zlibConstants, createDeflateRaw, createInflateRaw } from 'node:zlib';
import t, { type Test } from 'tap';
import { FRAME_TYPE_ERROR, FRAME_TYPE_MESSAGE, FRAME_TYPE_RESPONSE, MAGIC_V2 } from '../../src/protocol/constants.js';
import { encodeCommand, encodeCommandWithBody, encodeDpub, encodeIdentify, encodeMpub, encodePub } from '../../src/protocol/encoders.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { flagsFromConfig, optionsFromFlags } from '../../commands/flags/nsqd.js';
import type { NSQD } from '../../src/nsqd/nsqd.js';
import type { NsqdOptions } from '../../src/nsqd/options.js';
import { startAuthd, type AuthAnswer } from '../helpers/authd.js';
import { startNsqd } from '../helpers/nsqd.js';
import { RawConn, type Frame } from '../helpers/raw.js';
import { getStats, httpBase } from '../helpers/stats.js';

const PUBLISHER: AuthAnswer = {
  ttl: 3600,
  identity: 'pat',
  identity_url: 'https://auth.example/pat',
  authorizations: [{ topic: 'orders', channels: ['.*'], permissions: ['publish'] }],
};
const READER: AuthAnswer = {
  ttl: 3600,
  identity: 'rita',
  authorizations: [
    { topic: '^orders$', channels: ['^billing$', '^audit-\\d+$'], permissions: ['subscribe'] },
    { topic: '^logs\\.', channels: ['.*'], permissions: ['subscribe', 'publish'] },
  ],
};

async function authNsqd(t: Test, secrets: Record<string, AuthAnswer | string>, options: Partial<NsqdOptions> = {}) {
  const authd = await startAuthd(t, secrets);
  const nsqd = await startNsqd(t, { authHttpAddresses: [authd.address], ...options });
  return { authd, nsqd };
}

async function open(t: Test, nsqd: NSQD): Promise<RawConn> {
  const c = await RawConn.open(nsqd.tcpEndpoint.port, MAGIC_V2);
  t.teardown(() => c.close());
  return c;
}

const show = (f: Frame | null): { type: number; text: string } | null => (f === null ? null : { type: f.type, text: f.type === FRAME_TYPE_MESSAGE ? '<message>' : f.text });

async function expectResponse(t: Test, c: RawConn, text: string, msg = `response ${text}`): Promise<void> {
  t.same(show(await c.next(3000)), { type: FRAME_TYPE_RESPONSE, text }, msg);
}

async function expectFatal(t: Test, c: RawConn, text: string): Promise<void> {
  t.same(show(await c.next(3000)), { type: FRAME_TYPE_ERROR, text }, `error frame: ${text}`);
  t.equal(await c.next(2000), null, 'then the server closes the connection');
}

const auth = (secret: string): Buffer => encodeCommandWithBody('AUTH', secret);

/** IDENTIFY (feature negotiation) + AUTH; returns the IDENTIFY answer. */
async function login(t: Test, c: RawConn, secret: string): Promise<Record<string, unknown>> {
  c.send(encodeIdentify({ feature_negotiation: true }));
  const f = await c.next(3000);
  const identify = JSON.parse(f!.text) as Record<string, unknown>;
  c.send(auth(secret));
  const a = await c.next(3000);
  t.equal(a?.type, FRAME_TYPE_RESPONSE, 'AUTH answered with a response');
  return identify;
}

t.test('IDENTIFY says auth_required; AUTH answers identity, identity_url and permission_count', async (t) => {
  const { authd, nsqd } = await authNsqd(t, { s3cret: PUBLISHER });
  const c = await open(t, nsqd);
  c.send(encodeIdentify({ feature_negotiation: true }));
  const f = await c.next(3000);
  t.equal((JSON.parse(f!.text) as { auth_required: boolean }).auth_required, true, 'auth_required: true');
  c.send(auth('s3cret'));
  await expectResponse(t, c, '{"identity":"pat","identity_url":"https://auth.example/pat","permission_count":1}');
  c.send(encodePub('orders', 'o1'));
  await expectResponse(t, c, 'OK', 'an allowed PUB');
  t.equal(nsqd.getExistingTopic('orders')?.messageCount, 1);

  t.equal(authd.hits.length, 1, 'one query to the auth server');
  const hit = authd.hits[0]!;
  t.equal(hit.method, 'GET');
  t.equal(hit.path, '/auth');
  t.same(Object.fromEntries(hit.query), { remote_ip: '127.0.0.1', tls: 'false', secret: 's3cret', common_name: '' }, 'the query nsqd sends');
});

t.test('without an auth server IDENTIFY says auth_required false and AUTH is E_AUTH_DISABLED', async (t) => {
  const nsqd = await startNsqd(t);
  const c = await open(t, nsqd);
  c.send(encodeIdentify({ feature_negotiation: true }));
  const f = await c.next(3000);
  t.equal((JSON.parse(f!.text) as { auth_required: boolean }).auth_required, false);
  c.send(auth('x'));
  await expectFatal(t, c, 'E_AUTH_DISABLED AUTH disabled');
});

t.test('commands before AUTH: E_AUTH_FIRST for SUB, PUB, MPUB, DPUB', async (t) => {
  const { nsqd } = await authNsqd(t, { s3cret: PUBLISHER });
  const cases: [string, Buffer][] = [
    ['SUB', encodeCommand('SUB', 'orders', 'c')],
    ['PUB', encodePub('orders', 'x')],
    ['MPUB', encodeMpub('orders', ['x'])],
    ['DPUB', encodeDpub('orders', 10, 'x')],
  ];
  for (const [verb, cmd] of cases) {
    const c = await open(t, nsqd);
    c.send(cmd);
    await expectFatal(t, c, `E_AUTH_FIRST AUTH required before ${verb}`);
  }
  t.equal(nsqd.getExistingTopic('orders')?.messageCount ?? 0, 0, 'nothing was published');
});

t.test('not permitted: E_UNAUTHORIZED with the command, topic and channel', async (t) => {
  const { nsqd } = await authNsqd(t, { pub: PUBLISHER, read: READER });
  const cases: [string, Buffer, string][] = [
    ['pub', encodePub('payments', 'x'), 'E_UNAUTHORIZED AUTH failed for PUB on "payments" ""'],
    ['pub', encodeCommand('SUB', 'orders', 'c'), 'E_UNAUTHORIZED AUTH failed for SUB on "orders" "c"'],
    ['read', encodePub('orders', 'x'), 'E_UNAUTHORIZED AUTH failed for PUB on "orders" ""'],
    ['read', encodeMpub('orders', ['x']), 'E_UNAUTHORIZED AUTH failed for MPUB on "orders" ""'],
    ['read', encodeDpub('orders', 5, 'x'), 'E_UNAUTHORIZED AUTH failed for DPUB on "orders" ""'],
    ['read', encodeCommand('SUB', 'orders', 'shipping'), 'E_UNAUTHORIZED AUTH failed for SUB on "orders" "shipping"'],
    // anchored patterns: ^orders$ does not allow orders2, ^audit-\d+$ not audit-x
    ['read', encodeCommand('SUB', 'orders2', 'billing'), 'E_UNAUTHORIZED AUTH failed for SUB on "orders2" "billing"'],
    ['read', encodeCommand('SUB', 'orders', 'audit-x'), 'E_UNAUTHORIZED AUTH failed for SUB on "orders" "audit-x"'],
  ];
  for (const [secret, cmd, text] of cases) {
    const c = await open(t, nsqd);
    await login(t, c, secret);
    c.send(cmd);
    await expectFatal(t, c, text);
  }
});

t.test('patterns are regular expressions matched unanchored, as nsqd does', async (t) => {
  const { nsqd } = await authNsqd(t, { pub: PUBLISHER, read: READER });
  // PUBLISHER's topic is the bare pattern "orders": nsqd's regexp.MatchString also allows "my-orders-2"
  const p = await open(t, nsqd);
  await login(t, p, 'pub');
  p.send(encodePub('my-orders-2', 'x'));
  await expectResponse(t, p, 'OK', 'unanchored topic pattern matches inside the name');
  p.send(encodeMpub('orders', ['a', 'b']));
  await expectResponse(t, p, 'OK', 'MPUB allowed');
  p.send(encodeDpub('orders', 10, 'c'));
  await expectResponse(t, p, 'OK', 'DPUB allowed');

  const c = await open(t, nsqd);
  await login(t, c, 'read');
  c.send(encodeCommand('SUB', 'orders', 'audit-17'));
  await expectResponse(t, c, 'OK', 'SUB allowed by ^audit-\\d+$');
  c.send(encodeCommand('RDY', 5));
  const m = await c.next(3000);
  t.equal(m?.type, FRAME_TYPE_MESSAGE, 'and messages arrive');

  const l = await open(t, nsqd);
  await login(t, l, 'read');
  l.send(encodePub('logs.web', 'line'));
  await expectResponse(t, l, 'OK', 'publish permission of the second authorization');
});

t.test('E_AUTH_FAILED: secret refused (403), bad answers, auth server down; the error is not leaked', async (t) => {
  const { authd, nsqd } = await authNsqd(t, {
    good: PUBLISHER,
    'zero-ttl': { ...PUBLISHER, ttl: 0 },
    'bad-perm': { ...PUBLISHER, authorizations: [{ topic: 'a', channels: [], permissions: ['admin'] }] },
    'bad-regex': { ...PUBLISHER, authorizations: [{ topic: '(', channels: [], permissions: ['publish'] }] },
    'not-json': 'hello',
  });
  for (const secret of ['unknown', 'zero-ttl', 'bad-perm', 'bad-regex', 'not-json']) {
    const c = await open(t, nsqd);
    c.send(auth(secret));
    await expectFatal(t, c, 'E_AUTH_FAILED AUTH failed');
  }
  const hits = authd.hits.length;

  // no authorizations at all
  authd.secrets.set('empty', { ttl: 60, identity: 'nobody', authorizations: [] });
  const e = await open(t, nsqd);
  e.send(auth('empty'));
  await expectFatal(t, e, 'E_UNAUTHORIZED AUTH no authorizations found');
  t.equal(authd.hits.length, hits + 1);

  // the auth server goes away
  await authd.close();
  const d = await open(t, nsqd);
  d.send(auth('good'));
  await expectFatal(t, d, 'E_AUTH_FAILED AUTH failed');

  // the server still serves everyone else
  const other = await open(t, nsqd);
  other.send('NOP\n');
  other.send(encodeCommand('SUB', 'x', 'y'));
  await expectFatal(t, other, 'E_AUTH_FIRST AUTH required before SUB');
});

t.test('any of several auth servers: a dead one is skipped', async (t) => {
  const authd = await startAuthd(t, { s: PUBLISHER });
  // a port nothing listens on: take one from a server we close again
  const dead = await startAuthd(t, {});
  await dead.close();
  const nsqd = await startNsqd(t, { authHttpAddresses: [dead.address, authd.address] });
  for (let i = 0; i < 4; i++) {
    const c = await open(t, nsqd);
    c.send(auth('s'));
    await expectResponse(t, c, '{"identity":"pat","identity_url":"https://auth.example/pat","permission_count":1}', `AUTH ${i + 1} succeeds`);
    c.close();
  }
  t.equal(authd.hits.length, 4);
});

t.test('AUTH twice: E_INVALID AUTH already set; after SUB: cannot AUTH in current state; bad sizes', async (t) => {
  const { nsqd } = await authNsqd(t, { s: READER });
  const c = await open(t, nsqd);
  await login(t, c, 's');
  c.send(auth('s'));
  await expectFatal(t, c, 'E_INVALID AUTH already set');

  const d = await open(t, nsqd);
  await login(t, d, 's');
  d.send(encodeCommand('SUB', 'orders', 'billing'));
  await expectResponse(t, d, 'OK');
  d.send(auth('s'));
  await expectFatal(t, d, 'E_INVALID cannot AUTH in current state');

  const e = await open(t, nsqd);
  const size = Buffer.alloc(4);
  e.send(Buffer.concat([Buffer.from('AUTH\n'), size]));
  await expectFatal(t, e, 'E_BAD_BODY AUTH invalid body size 0');

  const f = await open(t, nsqd);
  f.send('AUTH x\n');
  await expectFatal(t, f, 'E_INVALID AUTH invalid number of parameters');
});

t.test('commands pipelined behind AUTH wait for it and run in order', async (t) => {
  const { authd, nsqd } = await authNsqd(t, { s: READER });
  const c = await open(t, nsqd);
  // everything in one write: AUTH, then commands that need its answer
  c.send(
    Buffer.concat([
      encodeIdentify({ feature_negotiation: false }),
      auth('s'),
      encodePub('logs.a', 'one'),
      encodeMpub('logs.a', ['two', 'three']),
      encodeCommand('SUB', 'orders', 'billing'),
      encodeCommand('RDY', 10),
    ]),
  );
  await expectResponse(t, c, 'OK', 'IDENTIFY');
  await expectResponse(t, c, '{"identity":"rita","identity_url":"","permission_count":2}', 'AUTH');
  await expectResponse(t, c, 'OK', 'PUB');
  await expectResponse(t, c, 'OK', 'MPUB');
  await expectResponse(t, c, 'OK', 'SUB');
  t.equal(nsqd.getExistingTopic('logs.a')?.messageCount, 3, 'all three messages published');
  const hb = await getStats(nsqd);
  t.equal(hb.topics!.find((x) => x.topic_name === 'orders')?.channels[0]?.clients?.[0]?.ready_count, 10, 'RDY ran after SUB');
  t.equal(authd.hits.length, 1);

  // a slow auth server: commands that arrive in later chunks while AUTH waits wait too
  authd.delayMs = 150;
  const d = await open(t, nsqd);
  d.send(auth('s'));
  await new Promise((r) => setTimeout(r, 50));
  d.send(encodePub('logs.a', 'four'));
  d.send(encodeCommand('SUB', 'orders', 'billing'));
  await expectResponse(t, d, '{"identity":"rita","identity_url":"","permission_count":2}', 'AUTH (slow)');
  await expectResponse(t, d, 'OK', 'PUB sent while AUTH waited');
  await expectResponse(t, d, 'OK', 'SUB sent while AUTH waited');
  t.equal(nsqd.getExistingTopic('logs.a')?.messageCount, 4);
});

t.test('an expired authorization is asked for again on the next check (TTL)', async (t) => {
  const { authd, nsqd } = await authNsqd(t, { s: { ...READER, ttl: 1 }, s2: { ...READER, ttl: 1 } });
  const c = await open(t, nsqd);
  await login(t, c, 's');
  const d = await open(t, nsqd);
  await login(t, d, 's2');
  c.send(encodePub('logs.x', 'a'));
  await expectResponse(t, c, 'OK');
  t.equal(authd.hits.length, 2, 'within the TTL: no new query');
  await new Promise((r) => setTimeout(r, 1100));
  // expired: the next PUB re-queries; the PUB right behind it waits in order
  c.send(Buffer.concat([encodePub('logs.x', 'b'), encodePub('logs.x', 'c')]));
  await expectResponse(t, c, 'OK', 'PUB after expiry');
  await expectResponse(t, c, 'OK', 'the PUB behind it');
  t.equal(authd.hits.length, 3, 'one re-query on expiry');
  t.equal(nsqd.getExistingTopic('logs.x')?.messageCount, 3);

  // an auth server that now refuses the secret: the expired client's next check is E_AUTH_FAILED
  authd.secrets.delete('s2');
  d.send(encodeCommand('SUB', 'orders', 'billing'));
  await expectFatal(t, d, 'E_AUTH_FAILED AUTH failed');
  t.equal(authd.hits.length, 4);

  // the auth server withdraws the publish permission: after the renewed answer expires, PUB is refused
  authd.secrets.set('s', { ...READER, ttl: 1, authorizations: [READER.authorizations[0]!] });
  await new Promise((r) => setTimeout(r, 1100));
  c.send(encodePub('logs.x', 'd'));
  await expectFatal(t, c, 'E_UNAUTHORIZED AUTH failed for PUB on "logs.x" ""');
  t.equal(authd.hits.length, 5);
});

/** A consumer of orders/billing with RDY 10. */
async function subscriber(t: Test, nsqd: NSQD, secret: string): Promise<RawConn> {
  const c = await open(t, nsqd);
  await login(t, c, secret);
  c.send(encodeCommand('SUB', 'orders', 'billing'));
  await expectResponse(t, c, 'OK', `${secret} subscribed`);
  c.send(encodeCommand('RDY', 10));
  return c;
}

async function messages(c: RawConn, n: number): Promise<Frame[]> {
  const got: Frame[] = [];
  while (got.length < n) {
    const f = await c.next(3000);
    if (f?.type !== FRAME_TYPE_MESSAGE) throw new Error(`expected a message, got ${JSON.stringify(show(f))}`);
    got.push(f);
  }
  return got;
}

const msgId = (f: Frame): string => f.data.toString('latin1', 10, 26);
const msgBody = (f: Frame): string => f.data.toString('utf8', 26);

t.test('a subscriber whose grant is withdrawn is cut at expiry, without sending anything; its in-flight messages go to others', async (t) => {
  const { authd, nsqd } = await authNsqd(t, { gone: { ...READER, ttl: 1 }, stays: { ...READER, ttl: 1 } });
  const c = await subscriber(t, nsqd, 'gone');
  for (const body of ['m1', 'm2', 'm3']) nsqd.getTopic('orders').publish(Buffer.from(body), 0, body.length);
  const held = await messages(c, 3);
  t.same(held.map(msgBody), ['m1', 'm2', 'm3'], 'the consumer received while authorized');
  // the control: a consumer whose grant stays keeps its connection across the same expiry
  const keeper = await subscriber(t, nsqd, 'stays');

  authd.secrets.set('gone', { ...READER, ttl: 1, authorizations: [READER.authorizations[1]!] });
  const hits = authd.hits.length;
  // no command from the consumer: the expiry alone makes nsqd ask again
  await expectFatal(t, c, 'E_UNAUTHORIZED AUTH failed for SUB on "orders" "billing"');
  t.ok(authd.hits.slice(hits).some((h) => h.query.get('secret') === 'gone'), 'the auth server was asked again for the expired secret');

  const redelivered = await messages(keeper, 3);
  t.same(redelivered.map(msgBody).sort(), ['m1', 'm2', 'm3'], "the cut consumer's in-flight messages go to the authorized one");
  t.same(redelivered.map((f) => f.data.readUInt16BE(8)), [2, 2, 2], 'as second attempts');
  for (const f of redelivered) keeper.send(encodeCommand('FIN', msgId(f)));
  // the keeper subscribed later, so its own expiry comes later: wait for its renewal, then it must still receive
  const renewed = (): boolean => authd.hits.filter((h) => h.query.get('secret') === 'stays').length >= 2;
  for (const end = Date.now() + 5000; !renewed() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
  t.ok(renewed(), 'its grant was renewed at its expiry');
  nsqd.getTopic('orders').publish(Buffer.from('m4'), 0, 2);
  t.same((await messages(keeper, 1)).map(msgBody), ['m4'], 'the consumer whose grant stayed still receives after its expiry');
});

t.test('a FIN after expiry asks again at once, before the scan loop would', async (t) => {
  // scan passes 1 s apart; a heartbeat shows when one ran (heartbeats are sent by the scan loop)
  const { authd, nsqd } = await authNsqd(t, { s: { ...READER, ttl: 1 } }, { queueScanInterval: 1000 });
  const c = await open(t, nsqd);
  c.send(encodeIdentify({ feature_negotiation: true, heartbeat_interval: 1000 }));
  await c.next(3000);
  let f = await c.next(3000, false);
  // a closed connection answers null at once: stop there (looping on it starved the event loop until tap's timeout)
  while (f !== null && f.text !== '_heartbeat_') f = await c.next(3000, false);
  if (f === null) throw new Error('the connection closed before its first heartbeat');
  const tick = Date.now();
  c.send('NOP\n');
  // AUTH 300 ms after a pass: the grant expires 300 ms after the next pass, which cannot see it
  await new Promise((r) => setTimeout(r, 300));
  c.send(auth('s'));
  await expectResponse(t, c, '{"identity":"rita","identity_url":"","permission_count":2}');
  c.send(encodeCommand('SUB', 'orders', 'billing'));
  await expectResponse(t, c, 'OK');
  c.send(encodeCommand('RDY', 1));
  nsqd.getTopic('orders').publish(Buffer.from('x'), 0, 1);
  const [m] = await messages(c, 1);
  authd.secrets.set('s', { ...READER, ttl: 1, authorizations: [READER.authorizations[1]!] });
  const expires = [...nsqd.clients.values()][0]!.authState!.expires;
  await new Promise((r) => setTimeout(r, expires - Date.now() + 20));
  const sent = Date.now();
  t.ok(tick + 2000 - sent > 500, 'the scan pass that would find the expiry is still more than 500 ms away');
  c.send(encodeCommand('FIN', msgId(m!)));
  await expectFatal(t, c, 'E_UNAUTHORIZED AUTH failed for SUB on "orders" "billing"');
  t.ok(Date.now() - sent < 400, `cut ${Date.now() - sent} ms after the FIN`);
});

t.test('an auth server that refuses the re-query at expiry (FIN sent after it) cuts the consumer with E_AUTH_FAILED', async (t) => {
  const { authd, nsqd } = await authNsqd(t, { s: { ...READER, ttl: 1 } });
  const c = await subscriber(t, nsqd, 's');
  nsqd.getTopic('orders').publish(Buffer.from('x'), 0, 1);
  const [m] = await messages(c, 1);
  authd.secrets.delete('s');
  await new Promise((r) => setTimeout(r, 1050));
  c.send(encodeCommand('FIN', msgId(m!)));
  await expectFatal(t, c, 'E_AUTH_FAILED AUTH failed');
  const ch = nsqd.getExistingTopic('orders')!.getExistingChannel('billing')!;
  t.equal(ch.inFlightCount, 0, 'nothing left in flight');
  t.equal(ch.clients.length, 0, 'the consumer left the channel');
});

t.test('/stats shows authed, auth_identity, auth_identity_url; HTTP /pub is not authorized (as nsqd)', async (t) => {
  const { nsqd } = await authNsqd(t, { pub: PUBLISHER, read: READER });
  const c = await open(t, nsqd);
  await login(t, c, 'read');
  c.send(encodeCommand('SUB', 'orders', 'billing'));
  await expectResponse(t, c, 'OK');
  const p = await open(t, nsqd);
  await login(t, p, 'pub');
  p.send(encodePub('orders', 'x'));
  await expectResponse(t, p, 'OK');
  const anon = await open(t, nsqd);
  anon.send(encodeIdentify({}));
  await expectResponse(t, anon, 'OK');

  const res = await fetch(`${httpBase(nsqd)}/pub?topic=orders`, { method: 'POST', body: 'over http' });
  t.equal(res.status, 200, 'HTTP /pub needs no AUTH');

  const stats = await getStats(nsqd);
  const topic = stats.topics!.find((x) => x.topic_name === 'orders')!;
  const sub = topic.channels[0]!.clients![0]! as unknown as Record<string, unknown>;
  t.equal(sub['authed'], true);
  t.equal(sub['auth_identity'], 'rita');
  t.notOk('auth_identity_url' in sub, 'empty identity_url is left out (omitempty)');
  const raw = (await (await fetch(`${httpBase(nsqd)}/stats?format=json`)).json()) as { producers: Record<string, unknown>[] };
  const pub = raw.producers.find((x) => x['auth_identity'] === 'pat');
  t.ok(pub, 'the publisher is listed with its identity');
  t.equal(pub?.['auth_identity_url'], 'https://auth.example/pat');
  t.equal(pub?.['authed'], true);
});

t.test('--auth-http-address, --auth-http-request-method, config file names; POST queries', async (t) => {
  t.same(optionsFromFlags({ 'auth-http-address': ['127.0.0.1:4181', 'https://auth.example/check'] }).authHttpAddresses, ['127.0.0.1:4181', 'https://auth.example/check']);
  t.throws(() => optionsFromFlags({ 'auth-http-address': ['nope'] }), /invalid value "nope" for flag -?-auth-http-address/);
  t.equal(optionsFromFlags({ 'auth-http-request-method': 'post' }).authHttpRequestMethod, 'post');
  t.throws(() => optionsFromFlags({ 'auth-http-request-method': 'put' }), /want get or post/);
  t.same(flagsFromConfig({ auth_http_addresses: ['a:1', 'b:2'], auth_http_request_method: 'post' }, 'x.toml'), { 'auth-http-address': ['a:1', 'b:2'], 'auth-http-request-method': 'post' });

  const authd = await startAuthd(t, { s: PUBLISHER });
  // a full URL is used as it is (no /auth appended)
  const nsqd = await startNsqd(t, { authHttpAddresses: [`http://${authd.address}/v2/check`], authHttpRequestMethod: 'post' });
  const c = await open(t, nsqd);
  c.send(auth('s'));
  await expectResponse(t, c, '{"identity":"pat","identity_url":"https://auth.example/pat","permission_count":1}');
  t.equal(authd.hits[0]?.method, 'POST');
  t.equal(authd.hits[0]?.path, '/v2/check');
  t.equal(authd.hits[0]?.query.get('secret'), 's');
  const cfg = (await (await fetch(`${httpBase(nsqd)}/config/auth_http_addresses`)).json()) as unknown;
  t.same(cfg, [`http://${authd.address}/v2/check`], '/config/auth_http_addresses');
});

t.test('DEFLATE connection: AUTH and the commands pipelined behind it, compressed, some arriving while AUTH waits', async (t) => {
  const { authd, nsqd } = await authNsqd(t, { s: READER });
  const socket = connect(nsqd.tcpEndpoint.port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  await once(socket, 'connect');
  const frames: string[] = [];
  const inflate = createInflateRaw();
  const decoder = new FrameDecoder({ onFrame: (_type, buf, start, end) => frames.push(buf.toString('utf8', start, end)), onDecodeError: (err) => t.fail(err.message) });
  inflate.on('data', (d: Buffer) => decoder.push(d));
  // the IDENTIFY answer comes plain, everything after it compressed
  let plain: Buffer | null = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    if (plain === null) return void inflate.write(chunk);
    plain = Buffer.concat([plain, chunk]);
    if (plain.length < 4) return;
    const end = 4 + plain.readUInt32BE(0);
    if (plain.length < end) return;
    const rest = plain.subarray(end);
    plain = null;
    if (rest.length > 0) inflate.write(rest);
  });
  socket.write(Buffer.concat([MAGIC_V2, encodeIdentify({ feature_negotiation: true, deflate: true })]));
  const deflate = createDeflateRaw();
  deflate.on('data', (d: Buffer) => socket.write(d));
  // the auth server answers slowly: the second flush arrives while AUTH is still waiting
  authd.delayMs = 150;
  deflate.write(Buffer.concat([auth('s'), encodePub('logs.z', 'one')]));
  deflate.flush(zlibConstants.Z_SYNC_FLUSH);
  await new Promise((r) => setTimeout(r, 50));
  deflate.write(Buffer.concat([encodePub('logs.z', 'two'), encodeCommand('SUB', 'orders', 'billing')]));
  deflate.flush(zlibConstants.Z_SYNC_FLUSH);
  const deadline = Date.now() + 5000;
  while (frames.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.same(frames, ['OK', '{"identity":"rita","identity_url":"","permission_count":2}', 'OK', 'OK', 'OK'], 'deflate OK, AUTH, PUB, PUB, SUB in order');
  t.equal(nsqd.getExistingTopic('logs.z')?.messageCount, 2);
  t.equal(authd.hits.length, 1);
});

t.test('a slow auth server does not trip the read deadline (nothing is read while AUTH executes)', async (t) => {
  const { authd, nsqd } = await authNsqd(t, { s: PUBLISHER });
  authd.delayMs = 2150;
  const c = await open(t, nsqd);
  c.send(encodeIdentify({ heartbeat_interval: 1000 }));
  await expectResponse(t, c, 'OK');
  c.send(auth('s'));
  // 2 heartbeat intervals pass while the auth server thinks
  await expectResponse(t, c, '{"identity":"pat","identity_url":"https://auth.example/pat","permission_count":1}', 'AUTH answered after 2.15 s');
  c.send(encodePub('orders', 'x'));
  await expectResponse(t, c, 'OK', 'and the connection is still open');
});

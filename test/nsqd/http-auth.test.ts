// --auth-http-api: the HTTP API's publish and admin routes need `Authorization: Bearer <secret>`
// granted by the auth server (a real HTTP server in the test); open routes stay open; the answer
// is cached for its TTL; without the flag nothing changes (nsqd's behaviour).

import { request as httpsRequest } from 'node:https';
import t, { type Test } from 'tap';
import { AuthCache } from '../../src/nsqd/auth.js';
import { flagsFromConfig, optionsFromFlags } from '../../commands/flags/nsqd.js';
import { NSQD } from '../../src/nsqd/nsqd.js';
import type { NsqdOptions } from '../../src/nsqd/options.js';
import { startAuthd, type AuthAnswer, type Authd } from '../helpers/authd.js';
import { spawnNsq, startNsqd, tempDir } from '../helpers/nsqd.js';
import { makeCerts } from '../helpers/tls.js';
import { httpBase } from '../helpers/stats.js';

const PUBLISHER: AuthAnswer = { ttl: 3600, identity: 'pat', authorizations: [{ topic: '^orders$', channels: ['.*'], permissions: ['publish'] }] };
const READER: AuthAnswer = { ttl: 3600, identity: 'rita', authorizations: [{ topic: '^orders$', channels: ['.*'], permissions: ['subscribe'] }] };
/** both permissions on orders/billing only */
const BILLING_ADMIN: AuthAnswer = { ttl: 3600, identity: 'bill', authorizations: [{ topic: '^orders$', channels: ['^billing$'], permissions: ['publish', 'subscribe'] }] };
/** both permissions on orders and all its channels */
const ORDERS_ADMIN: AuthAnswer = { ttl: 3600, identity: 'olga', authorizations: [{ topic: '^orders$', channels: ['.*'], permissions: ['publish', 'subscribe'] }] };
const ROOT: AuthAnswer = { ttl: 3600, identity: 'root', authorizations: [{ topic: '.*', channels: ['.*'], permissions: ['publish', 'subscribe'] }] };
const SECRETS = { pub: PUBLISHER, read: READER, bill: BILLING_ADMIN, olga: ORDERS_ADMIN, root: ROOT, nothing: { ttl: 60, authorizations: [] } };

async function apiNsqd(t: Test, options: Partial<NsqdOptions> = {}): Promise<{ authd: Authd; nsqd: NSQD; base: string }> {
  const authd = await startAuthd(t, SECRETS);
  const nsqd = await startNsqd(t, { authHttpAddresses: [authd.address], authHttpApi: true, ...options });
  return { authd, nsqd, base: httpBase(nsqd) };
}

interface Answer {
  status: number;
  body: string;
  headers: Headers;
}

async function call(base: string, method: string, path: string, secret?: string, body?: string): Promise<Answer> {
  const headers: Record<string, string> = secret === undefined ? {} : { authorization: `Bearer ${secret}` };
  const res = await fetch(`${base}${path}`, { method, headers, body });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

const answer = (a: Answer): [number, string] => [a.status, a.body];
const OK_TEXT: [number, string] = [200, 'OK'];
const EMPTY_OK: [number, string] = [200, ''];
const REQUIRED: [number, string] = [401, '{"message":"AUTH_REQUIRED"}'];
const DENIED: [number, string] = [403, '{"message":"UNAUTHORIZED"}'];

t.test('without --auth-http-api the HTTP API is open, as in nsqd, even with AUTH on for TCP', async (t) => {
  const authd = await startAuthd(t, SECRETS);
  const nsqd = await startNsqd(t, { authHttpAddresses: [authd.address] });
  const base = httpBase(nsqd);
  t.same(answer(await call(base, 'POST', '/pub?topic=orders', undefined, 'x')), OK_TEXT, '/pub');
  t.same(answer(await call(base, 'POST', '/channel/create?topic=orders&channel=c')), EMPTY_OK, '/channel/create');
  t.same(answer(await call(base, 'POST', '/channel/empty?topic=orders&channel=c')), EMPTY_OK, '/channel/empty');
  t.same(answer(await call(base, 'PUT', '/config/log_level', undefined, 'warn')), [200, '3'], 'PUT /config');
  t.same(answer(await call(base, 'POST', '/topic/delete?topic=orders')), EMPTY_OK, '/topic/delete');
  t.equal(authd.hits.length, 0, 'the auth server was never asked');
});

t.test('open routes stay open: /ping, /info, /stats, /metrics', async (t) => {
  const { authd, base } = await apiNsqd(t);
  for (const path of ['/ping', '/info', '/stats?format=json', '/metrics']) t.equal((await call(base, 'GET', path)).status, 200, path);
  t.equal(authd.hits.length, 0);
  t.equal((await call(base, 'GET', '/nope')).status, 404, 'unknown routes are still 404');
});

t.test('/pub and /mpub: AUTH_REQUIRED without a bearer, UNAUTHORIZED without publish on the topic; refused bodies are not delivered', async (t) => {
  const { authd, nsqd, base } = await apiNsqd(t);
  const missing = await call(base, 'POST', '/pub?topic=orders', undefined, 'm0');
  t.same(answer(missing), REQUIRED, 'no Authorization header');
  t.equal(missing.headers.get('www-authenticate'), 'Bearer realm="nsqd"');
  t.same(answer(await fetchWith(base, '/pub?topic=orders', 'Basic cGF0OnB3', 'm0')), REQUIRED, 'not a bearer');
  t.same(answer(await call(base, 'POST', '/pub?topic=orders', 'unknown', 'm0')), DENIED, 'a secret the auth server refuses (403)');
  t.same(answer(await call(base, 'POST', '/pub?topic=orders', 'nothing', 'm0')), DENIED, 'a secret with no authorizations');
  t.same(answer(await call(base, 'POST', '/pub?topic=orders', 'read', 'm0')), DENIED, 'subscribe only');
  t.same(answer(await call(base, 'POST', '/pub?topic=payments', 'pub', 'm0')), DENIED, 'publish on another topic');
  t.same(answer(await call(base, 'POST', '/mpub?topic=orders', 'read', 'a\nb')), DENIED, '/mpub subscribe only');
  t.equal(nsqd.getExistingTopic('orders')?.messageCount ?? 0, 0, 'nothing refused was published');
  t.equal(nsqd.getExistingTopic('payments'), undefined, 'no topic was created');

  t.same(answer(await call(base, 'POST', '/pub?topic=orders', 'pub', 'm1')), OK_TEXT, 'allowed /pub');
  t.same(answer(await call(base, 'POST', '/mpub?topic=orders', 'pub', 'm2\nm3')), OK_TEXT, 'allowed /mpub');
  t.same(answer(await call(base, 'POST', '/pub?topic=orders&defer=100', 'pub', 'm4')), OK_TEXT, 'allowed deferred /pub');
  t.equal(nsqd.getExistingTopic('orders')?.messageCount, 4);
  t.same(answer(await call(base, 'POST', '/pub', 'pub', 'x')), [400, '{"message":"MISSING_ARG_TOPIC"}'], 'a missing topic is the handler\'s 400');

  const hit = authd.hits.find((h) => h.query.get('secret') === 'pub')!;
  t.same(Object.fromEntries(hit.query), { remote_ip: '127.0.0.1', tls: 'false', secret: 'pub', common_name: '' }, 'the query carries what a TCP AUTH does');
});

async function fetchWith(base: string, path: string, authorization: string, body: string): Promise<Answer> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization }, body });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

t.test('admin routes need publish and subscribe; topic routes cover all of the topic\'s channels', async (t) => {
  const { nsqd, base } = await apiNsqd(t);
  const orders = nsqd.getTopic('orders');
  orders.getChannel('billing');
  orders.getChannel('audit');
  orders.publish(Buffer.from('x'), 0, 1);

  t.same(answer(await call(base, 'POST', '/channel/empty?topic=orders&channel=billing')), REQUIRED, 'no bearer');
  t.same(answer(await call(base, 'POST', '/channel/empty?topic=orders&channel=billing', 'pub')), DENIED, 'publish only');
  t.same(answer(await call(base, 'POST', '/channel/empty?topic=orders&channel=billing', 'read')), DENIED, 'subscribe only');
  t.same(answer(await call(base, 'POST', '/channel/pause?topic=orders&channel=audit', 'bill')), DENIED, 'both, but on another channel');
  t.equal(orders.getExistingChannel('audit')?.paused, false);
  t.same(answer(await call(base, 'POST', '/channel/pause?topic=orders&channel=billing', 'bill')), EMPTY_OK, 'both permissions on the channel');
  t.equal(orders.getExistingChannel('billing')?.paused, true);
  t.same(answer(await call(base, 'POST', '/channel/create?topic=orders&channel=billing2', 'bill')), DENIED, '^billing$ does not grant billing2');

  // the topic has channels bill may not touch: deleting or pausing the topic would touch them
  t.same(answer(await call(base, 'POST', '/topic/pause?topic=orders', 'bill')), DENIED, 'topic route: a channel is not granted');
  t.same(answer(await call(base, 'POST', '/topic/delete?topic=orders', 'bill')), DENIED, 'topic delete likewise');
  t.ok(nsqd.getExistingTopic('orders'), 'the topic is still there');
  t.same(answer(await call(base, 'POST', '/topic/pause?topic=orders', 'olga')), EMPTY_OK, 'every channel granted (.*)');
  t.equal(orders.paused, true);
  t.same(answer(await call(base, 'POST', '/topic/create?topic=payments', 'olga')), DENIED, 'another topic');
  t.same(answer(await call(base, 'POST', '/topic/delete?topic=orders', 'olga')), EMPTY_OK, 'delete with the grant');
  t.equal(nsqd.getExistingTopic('orders'), undefined, 'deleted');
});

t.test('/config needs a grant on every topic and channel (.* / .* with both permissions), to read it too', async (t) => {
  const { nsqd, base } = await apiNsqd(t);
  t.same(answer(await call(base, 'PUT', '/config/log_level', undefined, 'debug')), REQUIRED);
  t.same(answer(await call(base, 'PUT', '/config/log_level', 'olga', 'debug')), DENIED, 'all of one topic is not enough');
  t.same(answer(await call(base, 'GET', '/config/log_level', 'olga')), DENIED, 'nor to read');
  t.equal(nsqd.options.logLevel, 'info', 'unchanged');
  t.same(answer(await call(base, 'PUT', '/config/log_level', 'root', 'warn')), [200, '3'], 'root may');
  t.equal(nsqd.options.logLevel, 'warn');
  t.same(answer(await call(base, 'GET', '/config/auth_http_api', 'root')), [200, 'true']);
});

t.test('auth server failures: 503 AUTH_FAILED, the reason only in the log; the server keeps serving', async (t) => {
  const { authd, base } = await apiNsqd(t);
  authd.secrets.set('garbage', 'not json');
  authd.secrets.set('zero-ttl', { ...ROOT, ttl: 0 });
  for (const secret of ['garbage', 'zero-ttl']) t.same(answer(await call(base, 'POST', '/pub?topic=orders', secret, 'x')), [503, '{"message":"AUTH_FAILED"}'], `bad answer (${secret})`);
  await authd.close();
  t.same(answer(await call(base, 'POST', '/pub?topic=orders', 'pub', 'x')), [503, '{"message":"AUTH_FAILED"}'], 'auth server down');
  t.equal((await call(base, 'GET', '/ping')).status, 200, 'still serving');
});

t.test('the answer is cached per secret for its TTL: a /pub loop asks the auth server once', async (t) => {
  const { authd, nsqd, base } = await apiNsqd(t);
  authd.secrets.set('short', { ...PUBLISHER, ttl: 1 });
  for (let i = 0; i < 20; i++) t.equal((await call(base, 'POST', '/pub?topic=orders', 'short', `m${i}`)).status, 200);
  await Promise.all(Array.from({ length: 10 }, (_, i) => call(base, 'POST', '/pub?topic=orders', 'pub', `p${i}`)));
  t.equal(authd.hits.filter((h) => h.query.get('secret') === 'short').length, 1, 'sequential: one query');
  t.equal(authd.hits.filter((h) => h.query.get('secret') === 'pub').length, 1, 'concurrent: one query');
  t.equal(nsqd.getExistingTopic('orders')?.messageCount, 30);

  // refusals are not cached: a secret the auth server learns is granted at once
  t.same(answer(await call(base, 'POST', '/pub?topic=orders', 'late', 'x')), DENIED);
  authd.secrets.set('late', PUBLISHER);
  t.same(answer(await call(base, 'POST', '/pub?topic=orders', 'late', 'x')), OK_TEXT);

  // after the TTL the grant is asked for again, and a withdrawn one is refused
  authd.secrets.set('short', { ...READER, ttl: 1 });
  await new Promise((r) => setTimeout(r, 1050));
  t.same(answer(await call(base, 'POST', '/pub?topic=orders', 'short', 'x')), DENIED, 'withdrawn after the TTL');
  t.equal(authd.hits.filter((h) => h.query.get('secret') === 'short').length, 2, 'one more query');
});

t.test('over HTTPS the auth server is told tls=true and the client certificate\'s common name', async (t) => {
  const certs = makeCerts(t);
  const { authd, nsqd } = await apiNsqd(t, { tlsCert: certs.serverCert, tlsKey: certs.serverKey, httpsAddress: '127.0.0.1:0', tlsClientAuthPolicy: 'require-verify', tlsRootCaFile: certs.caCert });
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port: nsqd.httpsEndpoint!.port, path: '/pub?topic=orders', method: 'POST', headers: { authorization: 'Bearer pub' }, ca: certs.read(certs.caCert), cert: certs.read(certs.clientCert), key: certs.read(certs.clientKey), agent: false },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end('over tls');
  });
  t.equal(status, 200);
  t.same(Object.fromEntries(authd.hits[0]!.query), { remote_ip: '127.0.0.1', tls: 'true', secret: 'pub', common_name: 'nsq-test-client' });
});

t.test('--auth-http-api, auth_http_api in the config file; it needs an auth server', async (t) => {
  t.equal(optionsFromFlags({ 'auth-http-api': '' }).authHttpApi, true, 'a bare flag');
  t.equal(optionsFromFlags({ 'auth-http-api': 'false' }).authHttpApi, false);
  t.same(flagsFromConfig({ auth_http_api: true }, 'x.toml'), { 'auth-http-api': 'true' });
  const nsqd = new NSQD({ authHttpApi: true, tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', logLevel: 'fatal' });
  await t.rejects(nsqd.start(), { code: 'E_AUTH_CONFIG', message: 'cannot authorize the HTTP API (--auth-http-api) without --auth-http-address' });
  const p = spawnNsq(t, ['serve', '--auth-http-api', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--data-path=${tempDir(t)}`]);
  t.equal((await p.exit).code, 1, 'nsq serve exits 1');
  t.equal(p.stderr(), 'nsq: cannot authorize the HTTP API (--auth-http-api) without --auth-http-address\n', 'with one line');
});

t.test('the cache is bounded: the oldest answer makes room', async (t) => {
  const authd = await startAuthd(t, { a: ROOT, b: ROOT, c: ROOT });
  const cache = new AuthCache(() => [authd.address], () => ({ method: 'get', connectTimeout: 1000, requestTimeout: 1000 }), 2);
  const q = (secret: string) => ({ remoteIp: '127.0.0.1', tls: false, commonName: '', secret });
  for (const s of ['a', 'b', 'c']) await cache.get(q(s));
  t.equal(cache.size, 2, 'never more than its bound');
  await cache.get(q('c'));
  t.equal(authd.hits.length, 3, 'the newest is kept');
  await cache.get(q('a'));
  t.equal(authd.hits.length, 4, 'the oldest was dropped and is asked for again');
});

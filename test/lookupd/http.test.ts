// nsqlookupd's HTTP API: every route, its JSON shape, headers and error codes, and tombstones.

import type { Socket } from 'node:net';
import { once } from 'node:events';
import t from 'tap';
import nsq from 'nsqjs';
import type { Message } from 'nsqjs';
import { startNsqd } from '../helpers/nsqd.js';
import type { NSQLookupd } from '../../src/lookupd/lookupd.js';
import { startLookupd, V1Conn } from '../helpers/lookupd.js';
import { checkHeadLimits, rawHttp } from '../helpers/http.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

async function call(l: NSQLookupd, method: string, path: string): Promise<Reply> {
  const res = await fetch(`http://127.0.0.1:${l.httpEndpoint.port}${path}`, { method });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, text, body };
}

const get = (l: NSQLookupd, path: string): Promise<Reply> => call(l, 'GET', path);
const post = (l: NSQLookupd, path: string): Promise<Reply> => call(l, 'POST', path);

/**
 * An nsqd registered over TCP: IDENTIFY, then REGISTER each line ("topic" or "topic channel").
 * Resolves once every command was answered OK; the connection closes when the test ends.
 */
async function registerPeer(t: Teardown, l: NSQLookupd, peer: { broadcast_address: string; http_port: number; tcp_port?: number }, registrations: string[]): Promise<Socket> {
  const c = await V1Conn.open(t, l.tcpEndpoint.port);
  await c.identify({ hostname: 'h', tcp_port: 4150, version: '1.3.0', ...peer });
  for (const r of registrations) {
    const answer = await c.command(`REGISTER ${r}`);
    if (answer !== 'OK') throw new Error(`REGISTER ${r}: ${String(answer)}`);
  }
  return c.socket;
}

const V1_HEADER = 'nsq; version=1.0';

// nsqlookupd takes 1 MiB of request line and headers (Go's http.DefaultMaxHeaderBytes); Node's default is 16 KiB
t.test('request heads up to 1 MiB are read; a longer one gets 431 and the server goes on', async (t) => {
  const l = await startLookupd(t);
  const port = l.httpEndpoint.port;
  const pad = 'a'.repeat(100 * 1024);
  const query = await rawHttp(port, `GET /lookup?topic=nothing&pad=${pad} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  t.same([query.status, query.body], [404, '{"message":"TOPIC_NOT_FOUND"}'], 'a 100 KiB query string is read (and answered for the topic)');
  await checkHeadLimits(t, port);
  t.equal((await get(l, '/ping')).text, 'OK', 'the server still answers');
});

t.test('/ping: plain OK without the V1 header', async (t) => {
  const l = await startLookupd(t);
  const r = await get(l, '/ping');
  t.equal(r.status, 200);
  t.equal(r.text, 'OK');
  t.match(r.headers.get('content-type'), /^text\/plain/);
  t.equal(r.headers.get('x-nsq-content-type'), null);
});

t.test('/info: the version, as JSON with the V1 header', async (t) => {
  const l = await startLookupd(t);
  const r = await get(l, '/info');
  t.equal(r.status, 200);
  t.same(r.body, { version: '1.3.0' });
  t.equal(r.headers.get('x-nsq-content-type'), V1_HEADER);
  t.match(r.headers.get('content-type'), /^application\/json/);
});

t.test('empty lookupd: /topics, /nodes, /debug, /channels are empty; /lookup is 404', async (t) => {
  const l = await startLookupd(t);
  t.same((await get(l, '/topics')).body, { topics: [] });
  t.same((await get(l, '/nodes')).body, { producers: [] });
  t.same((await get(l, '/debug')).body, {});
  t.same((await get(l, '/channels?topic=none')).body, { channels: [] });
  const r = await get(l, '/lookup?topic=none');
  t.equal(r.status, 404);
  t.same(r.body, { message: 'TOPIC_NOT_FOUND' });
  t.equal(r.headers.get('x-nsq-content-type'), V1_HEADER);
});

t.test('/topic/create and /topic/delete', async (t) => {
  const l = await startLookupd(t);
  const created = await post(l, '/topic/create?topic=made');
  t.equal(created.status, 200);
  t.equal(created.text, '', 'an empty 200');
  t.equal(created.headers.get('x-nsq-content-type'), V1_HEADER);
  t.equal((await post(l, '/topic/create?topic=made')).status, 200, 'creating twice is fine');
  t.same((await get(l, '/topics')).body, { topics: ['made'] });
  t.same((await get(l, '/lookup?topic=made')).body, { channels: [], producers: [] });

  t.same(await errorOf(post(l, '/topic/create')), [400, 'MISSING_ARG_TOPIC']);
  t.same(await errorOf(post(l, '/topic/create?topic=bad!name')), [400, 'INVALID_ARG_TOPIC']);
  t.same(await errorOf(post(l, `/topic/create?topic=${'x'.repeat(65)}`)), [400, 'INVALID_ARG_TOPIC']);

  t.equal((await post(l, '/channel/create?topic=made&channel=c1')).status, 200);
  const deleted = await post(l, '/topic/delete?topic=made');
  t.equal(deleted.status, 200);
  t.equal(deleted.text, '');
  t.same((await get(l, '/topics')).body, { topics: [] });
  t.same((await get(l, '/channels?topic=made')).body, { channels: [] }, 'its channels went with it');
  t.equal((await get(l, '/lookup?topic=made')).status, 404);
  t.equal((await post(l, '/topic/delete?topic=never')).status, 200, 'deleting an unknown topic is fine, as in nsqlookupd');
  t.same(await errorOf(post(l, '/topic/delete')), [400, 'MISSING_ARG_TOPIC']);
});

async function errorOf(reply: Promise<Reply>): Promise<[number, string]> {
  const r = await reply;
  return [r.status, r.body?.message];
}

t.test('/channel/create, /channels and /channel/delete', async (t) => {
  const l = await startLookupd(t);
  t.equal((await post(l, '/channel/create?topic=tp&channel=one')).status, 200);
  t.equal((await post(l, '/channel/create?topic=tp&channel=two')).status, 200);
  t.same((await get(l, '/channels?topic=tp')).body, { channels: ['one', 'two'] });
  t.same((await get(l, '/topics')).body, { topics: ['tp'] }, 'creating a channel creates its topic');
  t.same((await get(l, '/lookup?topic=tp')).body, { channels: ['one', 'two'], producers: [] });

  for (const route of ['/channel/create', '/channel/delete']) {
    t.same(await errorOf(post(l, `${route}?channel=one`)), [400, 'MISSING_ARG_TOPIC'], route);
    t.same(await errorOf(post(l, `${route}?topic=b@d&channel=one`)), [400, 'INVALID_ARG_TOPIC'], route);
    t.same(await errorOf(post(l, `${route}?topic=tp`)), [400, 'MISSING_ARG_CHANNEL'], route);
    t.same(await errorOf(post(l, `${route}?topic=tp&channel=b@d`)), [400, 'INVALID_ARG_CHANNEL'], route);
  }
  t.same(await errorOf(post(l, '/channel/delete?topic=tp&channel=three')), [404, 'CHANNEL_NOT_FOUND']);
  const r = await post(l, '/channel/delete?topic=tp&channel=one');
  t.equal(r.status, 200);
  t.equal(r.text, '');
  t.same((await get(l, '/channels?topic=tp')).body, { channels: ['two'] });
  t.same(await errorOf(get(l, '/channels')), [400, 'MISSING_ARG_TOPIC']);
});

t.test('/lookup, /nodes and /debug with registered producers', async (t) => {
  const l = await startLookupd(t);
  const a = await registerPeer(t, l, { broadcast_address: 'a.test', http_port: 1001 }, ['news sports', 'news']);
  await registerPeer(t, l, { broadcast_address: 'b.test', http_port: 1002 }, ['news', 'weather']);
  const addrA = `${a.localAddress}:${a.localPort}`;

  const lookup = await get(l, '/lookup?topic=news');
  t.equal(lookup.status, 200);
  t.same(lookup.body.channels, ['sports']);
  t.same(
    lookup.body.producers.map((p: { broadcast_address: string; http_port: number }) => `${p.broadcast_address}:${p.http_port}`),
    ['a.test:1001', 'b.test:1002'],
  );
  t.same(lookup.body.producers[0], { remote_address: addrA, hostname: 'h', broadcast_address: 'a.test', tcp_port: 4150, http_port: 1001, version: '1.3.0' });
  t.same(await errorOf(get(l, '/lookup')), [400, 'MISSING_ARG_TOPIC']);

  const nodes = await get(l, '/nodes');
  t.same(nodes.body.producers, [
    { remote_address: addrA, hostname: 'h', broadcast_address: 'a.test', tcp_port: 4150, http_port: 1001, version: '1.3.0', tombstones: [false], topics: ['news'] },
    { remote_address: nodes.body.producers[1].remote_address, hostname: 'h', broadcast_address: 'b.test', tcp_port: 4150, http_port: 1002, version: '1.3.0', tombstones: [false, false], topics: ['news', 'weather'] },
  ]);
  t.same((await get(l, '/topics')).body, { topics: ['news', 'weather'] });

  const debug = (await get(l, '/debug')).body as Record<string, { id: string; broadcast_address: string; last_update: number; tombstoned: boolean }[]>;
  t.same(Object.keys(debug).sort(), ['channel:news:sports', 'client::', 'topic:news:', 'topic:weather:']);
  t.same(debug['topic:news:']!.map((p) => p.broadcast_address), ['a.test', 'b.test']);
  t.equal(debug['channel:news:sports']![0]!.id, addrA);
  t.equal(debug['client::']!.length, 2);
  t.ok(Math.abs(debug['topic:news:']![0]!.last_update / 1e6 - Date.now()) < 60_000, 'last_update is in nanoseconds since the epoch');
  t.equal(debug['topic:news:']![0]!.tombstoned, false);
});

t.test('/topic/tombstone hides a producer from /lookup for --tombstone-lifetime, then it is back', async (t) => {
  const LIFETIME = 600;
  const l = await startLookupd(t, { tombstoneLifetime: LIFETIME });
  await registerPeer(t, l, { broadcast_address: 'a.test', http_port: 1001 }, ['tomb', 'other']);
  await registerPeer(t, l, { broadcast_address: 'b.test', http_port: 1002 }, ['tomb']);
  const producersOf = async (topic: string): Promise<string[]> =>
    ((await get(l, `/lookup?topic=${topic}`)).body.producers as { broadcast_address: string }[]).map((p) => p.broadcast_address);

  t.same(await errorOf(post(l, '/topic/tombstone?node=a.test:1001')), [400, 'MISSING_ARG_TOPIC']);
  t.same(await errorOf(post(l, '/topic/tombstone?topic=tomb')), [400, 'MISSING_ARG_NODE']);
  t.equal((await post(l, '/topic/tombstone?topic=tomb&node=nobody:1')).status, 200, 'an unknown node is fine');
  t.same(await producersOf('tomb'), ['a.test', 'b.test']);
  t.equal((await post(l, '/topic/tombstone?topic=tomb&node=a.test:4150')).status, 200);
  t.same(await producersOf('tomb'), ['a.test', 'b.test'], 'the node is broadcast_address:http_port, not the TCP port');

  const tombstoned = Date.now();
  const r = await post(l, '/topic/tombstone?topic=tomb&node=a.test:1001');
  t.equal(r.status, 200);
  t.equal(r.text, '');
  t.same(await producersOf('tomb'), ['b.test'], 'hidden from /lookup');
  t.same(await producersOf('other'), ['a.test'], 'only for that topic');
  const nodes = (await get(l, '/nodes')).body.producers as { broadcast_address: string; tombstones: boolean[]; topics: string[] }[];
  const a = nodes.find((n) => n.broadcast_address === 'a.test')!;
  t.same([a.topics, a.tombstones], [['tomb', 'other'], [true, false]], '/nodes lists it, with the tombstone');
  const debug = (await get(l, '/debug')).body as Record<string, { broadcast_address: string; tombstoned: boolean; tombstoned_at: number }[]>;
  const entry = debug['topic:tomb:']!.find((p) => p.broadcast_address === 'a.test')!;
  t.equal(entry.tombstoned, true);
  t.ok(Math.abs(entry.tombstoned_at / 1e6 - tombstoned) < 5000, 'tombstoned_at in nanoseconds');

  // a tombstone expires: the producer (still registered) is listed again
  await new Promise((r) => setTimeout(r, LIFETIME + 50 - (Date.now() - tombstoned)));
  t.same(await producersOf('tomb'), ['a.test', 'b.test'], 'back after the lifetime');
  const after = ((await get(l, '/nodes')).body.producers as { broadcast_address: string; tombstones: boolean[] }[]).find((n) => n.broadcast_address === 'a.test')!;
  t.same(after.tombstones, [false, false]);
});

t.test('unknown paths 404, wrong methods 405 with Allow, malformed queries 400', async (t) => {
  const l = await startLookupd(t);
  const nf = await get(l, '/nope');
  t.same([nf.status, nf.body], [404, { message: 'NOT_FOUND' }]);
  t.equal(nf.headers.get('x-nsq-content-type'), V1_HEADER);
  const m1 = await get(l, '/topic/create?topic=x');
  t.same([m1.status, m1.body], [405, { message: 'METHOD_NOT_ALLOWED' }]);
  t.equal(m1.headers.get('allow'), 'POST');
  const m2 = await post(l, '/lookup?topic=x');
  t.same([m2.status, m2.body], [405, { message: 'METHOD_NOT_ALLOWED' }]);
  t.equal(m2.headers.get('allow'), 'GET');
  t.same(await errorOf(get(l, '/lookup?topic=%zz')), [400, 'INVALID_REQUEST']);
  t.same(await errorOf(post(l, '/topic/create?topic=a;b')), [400, 'INVALID_REQUEST']);
  t.same((await get(l, '/topics')).body, { topics: [] }, 'nothing was created');
  t.equal((await get(l, '/ping')).text, 'OK', 'still serving');
});

t.test('nsqjs, an independent client, finds an nsqd through /lookup and consumes from it', async (t) => {
  const l = await startLookupd(t);
  const nsqd = await startNsqd(t);
  // our nsqd does not register itself yet: register it as nsqd would
  await registerPeer(t, l, { broadcast_address: '127.0.0.1', http_port: nsqd.httpEndpoint.port, tcp_port: nsqd.tcpEndpoint.port }, ['found found-ch']);
  const pub = await fetch(`http://127.0.0.1:${nsqd.httpEndpoint.port}/pub?topic=found`, { method: 'POST', body: 'via lookupd' });
  t.equal(pub.status, 200);
  const reader = new nsq.Reader('found', 'found-ch', { lookupdHTTPAddresses: [`127.0.0.1:${l.httpEndpoint.port}`], lookupdPollInterval: 1 });
  reader.on('error', () => {});
  t.teardown(() => reader.close());
  const got = once(reader, 'message', { signal: AbortSignal.timeout(5000) }) as Promise<[Message]>;
  reader.connect();
  const [msg] = await got;
  t.equal(msg.body.toString(), 'via lookupd', 'the message arrived');
  msg.finish();
});

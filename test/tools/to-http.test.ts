// `nsq to-http` between an in-process nsqd (fed by our Producer) and real HTTP endpoints (node:http
// on 127.0.0.1:0), watched through /stats: the spawned binary for the command line and signals, the
// engine in-process (from the same flag reader) for delivery and distribution.

import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import type { NSQD } from '../../src/nsqd/nsqd.js';
import { ToHttp } from '../../src/tools/to-http.js';
import { queryEscape } from '../../src/tools/to-http/request.js';
import { Logger } from '../../src/util/log.js';
import { toHttpOptions } from '../../commands/to-http.js';
import { startEndpoint, type Endpoint } from '../helpers/endpoint.js';
import { BIN, spawnNsq, startNsqd, type Spawned } from '../helpers/nsqd.js';
import { channelStats, waitFor } from '../helpers/stats.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

const tcp = (nsqd: NSQD): string => `127.0.0.1:${nsqd.tcpEndpoint.port}`;

async function publish(t: Teardown, nsqd: NSQD, topic: string, bodies: (string | Buffer)[]): Promise<void> {
  const p = new Producer(tcp(nsqd));
  t.teardown(() => p.close());
  await p.mpublish(topic, bodies);
}

const bodies = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix} ${i}`);
const sorted = (a: string[]): string[] => [...a].sort();

/** The channel as a drained one looks: nothing waiting, in flight or deferred. */
async function drained(nsqd: NSQD, topic: string, channel = 'nsq_to_http'): Promise<{ requeues: number }> {
  const c = await waitFor(
    `${topic}/${channel} drained`,
    async () => {
      const c = await channelStats(nsqd, topic, channel);
      return c !== undefined && c.depth === 0 && c.in_flight_count === 0 && c.deferred_count === 0 ? c : undefined;
    },
    10_000,
  );
  return { requeues: c.requeue_count };
}

async function stopped(p: Spawned, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  p.child.kill(signal);
  const { code } = await p.exit;
  return code;
}

/** The engine in-process, from a command line's flags (as the command reads them); its log lines are kept. */
async function inProcess(t: Teardown, nsqd: NSQD, topic: string, flags: Record<string, unknown>): Promise<{ relay: ToHttp; log: string[] }> {
  const log: string[] = [];
  const { options } = toHttpOptions({ topic, 'nsqd-tcp-address': [tcp(nsqd)], ...flags });
  const relay = new ToHttp(options, new Logger('info', '[nsq_to_http] ', (line) => log.push(line)));
  await relay.start();
  t.teardown(() => relay.stop());
  return { relay, log };
}

/** short go-nsq delays, so a requeued message comes back within the test */
const FAST_RETRY_OPTS = { 'consumer-opt': ['default_requeue_delay,50ms', 'max_backoff_duration,100ms'] };

function toHttp(t: Teardown, nsqd: NSQD, topic: string, flags: string[], argv0?: string): Spawned {
  return spawnNsq(t, [...(argv0 === undefined ? ['to-http'] : []), `--topic=${topic}`, `--nsqd-tcp-address=${tcp(nsqd)}`, ...flags], argv0 === undefined ? {} : { argv0 });
}

t.test('POST: every message is a body, with Content-Type, --header and User-Agent; FINed only after 2xx; SIGTERM exits 0', async (t) => {
  const nsqd = await startNsqd(t);
  const ep = await startEndpoint(t);
  const sent = [...bodies('post', 40), 'ünïcode ✓', 'two\nlines'];
  await publish(t, nsqd, 'posts', sent);
  const p = toHttp(t, nsqd, 'posts', [`--post=${ep.base}/in?x=1`, '--content-type=text/plain', '--header=X-Test: yes', '--header', 'Authorization: Bearer s3cret']);
  await waitFor('every message at the endpoint', () => ep.hits.length >= sent.length, 10_000);
  t.same(sorted(ep.delivered()), sorted(sent), 'each message once, byte for byte');
  const h = ep.hits[0]!;
  t.match(h, { method: 'POST', url: '/in?x=1' });
  t.match(h.headers, { 'content-type': 'text/plain', 'x-test': 'yes', authorization: 'Bearer s3cret', 'user-agent': /^nsq_to_http v1\.3\.0$/ });
  t.equal((await drained(nsqd, 'posts')).requeues, 0, 'the channel is drained, nothing requeued');
  t.equal(await stopped(p), 0);
  t.match(p.stderr(), /\[nsq_to_http\] .* INFO: \[posts\/nsq_to_http\] consuming from 127\.0\.0\.1:\d+/);
  t.match(p.stderr(), /received SIGTERM/);
});

t.test('GET, as nsq_to_http with Go flags: the body query-escaped in place of %s (Go url.QueryEscape); any 2xx finishes', async (t) => {
  const nsqd = await startNsqd(t);
  // 204: nsq_to_http itself wants exactly 200 for a GET (see the README)
  const ep = await startEndpoint(t, () => 204);
  const sent = ['hello world', 'a&b=c', '~._-', '100%', 'x/y?z#w', 'ünï'];
  await publish(t, nsqd, 'gets', [...sent, Buffer.from([0x00, 0xff, 0x20])]);
  const dir = mkdtempSync(join(tmpdir(), 'nsq-alias-'));
  const alias = join(dir, 'nsq_to_http');
  symlinkSync(BIN, alias);
  const p = spawnNsq(t, ['-topic=gets', `-nsqd-tcp-address=${tcp(nsqd)}`, `-get=${ep.base}/hit?msg=%s&from=test`, '-n', '1'], { argv0: alias });
  await waitFor('every message at the endpoint', () => ep.hits.length >= sent.length + 1, 10_000);
  const urls = ep.hits.map((h) => h.url).sort();
  t.ok(urls.includes('/hit?msg=hello+world&from=test'), 'space as +');
  t.ok(urls.includes('/hit?msg=a%26b%3Dc&from=test'), '& and = escaped');
  t.ok(urls.includes('/hit?msg=~._-&from=test'), 'unreserved bytes as they are');
  t.ok(urls.includes('/hit?msg=%00%FF+&from=test'), 'bytes that are not UTF-8, one %XX each');
  const decoded = ep.hits.map((h) => new URL(h.url, ep.base).searchParams.get('msg')!);
  for (const s of sent) t.ok(decoded.includes(s), `${JSON.stringify(s)} arrives`);
  t.same(ep.hits.map((h) => h.method), Array(sent.length + 1).fill('GET'));
  t.equal(queryEscape(Buffer.from('ünï')), '%C3%BCn%C3%AF');
  t.equal((await drained(nsqd, 'gets')).requeues, 0);
  t.equal(await stopped(p, 'SIGINT'), 0);
});

t.test('a failing endpoint (500s, a cut connection, a timeout): the messages are requeued and delivered later; none lost', async (t) => {
  const nsqd = await startNsqd(t);
  // the first 8 requests get 500, then two connections are cut and one request is never answered
  const ep = await startEndpoint(t, (n) => (n < 8 ? 500 : n < 10 ? 'drop' : n === 10 ? 'hang' : 200));
  const sent = bodies('retry', 30);
  await publish(t, nsqd, 'flaky', sent);
  const { log } = await inProcess(t, nsqd, 'flaky', { post: [`${ep.base}/`], ...FAST_RETRY_OPTS, 'http-client-request-timeout': '300ms', n: '4' });
  await waitFor('every message delivered', () => new Set(ep.delivered()).size >= sent.length, 12_000);
  t.same(sorted([...new Set(ep.delivered())]), sorted(sent), 'every message arrived');
  t.equal(ep.hits.length, sent.length + 11, 'one request per failure more, no other duplicates');
  t.equal((await drained(nsqd, 'flaky')).requeues, 11, 'each failure requeued its message once');
  t.match(log.join('\n'), /WARNING: \[flaky\/nsq_to_http\] POST http:\/\/127\.0\.0\.1:\d+\/: got status code 500; message [0-9a-f]{16} requeued \(attempt 1\)/);
  t.match(log.join('\n'), /no answer within 300 ms/);
  ep.release(200);
});

t.test('control: finishing a message before the endpoint answered loses every message that failed', async (t) => {
  const nsqd = await startNsqd(t);
  const ep = await startEndpoint(t, (n) => (n < 8 ? 500 : 200));
  const sent = bodies('naive', 30);
  await publish(t, nsqd, 'naive', sent);
  // what to-http would be if it did not wait: send, and FIN at once
  const c = new Consumer({ topic: 'naive', channel: 'nsq_to_http', nsqdTcpAddresses: [tcp(nsqd)], maxInFlight: 4 }, (msg) => {
    void fetch(`${ep.base}/`, { method: 'POST', body: msg.body }).catch(() => {});
  });
  await c.start();
  t.teardown(() => c.stop());
  await waitFor('30 requests', () => ep.hits.length >= 30);
  await drained(nsqd, 'naive');
  t.equal(ep.delivered().length, 22, 'the channel is empty, yet 8 messages never reached the endpoint');
});

t.test('multicast: every endpoint gets every message; round-robin: one each in turn; hostpool: a failing endpoint is left out', async (t) => {
  const nsqd = await startNsqd(t);
  const [a, b, c, d, ok, bad] = await Promise.all([startEndpoint(t), startEndpoint(t), startEndpoint(t), startEndpoint(t), startEndpoint(t), startEndpoint(t, () => 500)]);
  const fan = bodies('fan', 20);
  const rr = bodies('rr', 20);
  const hp = bodies('hp', 20);
  await Promise.all([publish(t, nsqd, 'fan', fan), publish(t, nsqd, 'rr', rr), publish(t, nsqd, 'hp', hp)]);
  await Promise.all([
    inProcess(t, nsqd, 'fan', { post: [`${a.base}/`, `${b.base}/`], mode: 'multicast' }),
    inProcess(t, nsqd, 'rr', { post: [`${c.base}/`, `${d.base}/`], mode: 'round-robin' }),
    // one request at a time: the failure is known before the next pick
    inProcess(t, nsqd, 'hp', { post: [`${ok.base}/`, `${bad.base}/`], mode: 'hostpool', n: '1', ...FAST_RETRY_OPTS }),
  ]);
  await waitFor('fan-out done', () => a.hits.length >= 20 && b.hits.length >= 20, 10_000);
  t.same(sorted(a.delivered()), sorted(fan), 'multicast: the first endpoint has every message');
  t.same(sorted(b.delivered()), sorted(fan), 'multicast: the second too');
  await waitFor('round-robin done', () => c.hits.length + d.hits.length >= 20, 10_000);
  t.same([c.hits.length, d.hits.length], [10, 10], 'round-robin: half each');
  t.same(sorted([...c.delivered(), ...d.delivered()]), sorted(rr), 'round-robin: each message once');
  await waitFor('hostpool done', () => ok.delivered().length >= 20, 10_000);
  t.same(sorted(ok.delivered()), sorted(hp), 'hostpool: every message at the endpoint that works');
  t.equal(bad.hits.length, 1, 'hostpool: the failing endpoint got one request, then was left out (for 30 s)');
  for (const topic of ['fan', 'rr']) t.equal((await drained(nsqd, topic)).requeues, 0, `${topic} drained`);
  t.equal((await drained(nsqd, 'hp')).requeues, 1, 'hp drained: the one failed message was requeued');
});

t.test('stopping: SIGTERM waits for the answers under way; kill -9 leaves unanswered messages to nsqd, a restart delivers them', async (t) => {
  const nsqd = await startNsqd(t);
  const slow = await startEndpoint(t, () => ({ status: 200, afterMs: 400 }));
  await publish(t, nsqd, 'slow', bodies('slow', 3));
  const p = toHttp(t, nsqd, 'slow', [`--post=${slow.base}/`]);
  await waitFor('3 requests under way', () => slow.pending() === 3, 10_000);
  t.equal(await stopped(p), 0, 'SIGTERM: exit 0 once they were answered');
  t.equal(slow.delivered().length, 3);
  t.equal((await drained(nsqd, 'slow')).requeues, 0, 'all three finished, none requeued');

  const hang: Endpoint = await startEndpoint(t, () => 'hang');
  const sent = bodies('kill', 5);
  await publish(t, nsqd, 'kill', sent);
  const first = toHttp(t, nsqd, 'kill', [`--post=${hang.base}/`]);
  await waitFor('5 requests unanswered', () => hang.pending() === 5, 10_000);
  first.child.kill('SIGKILL');
  await first.exit;
  await waitFor('the 5 messages back in the channel', async () => (await channelStats(nsqd, 'kill', 'nsq_to_http'))?.depth === 5, 10_000);
  const good = await startEndpoint(t);
  const second = toHttp(t, nsqd, 'kill', [`--post=${good.base}/`]);
  await waitFor('5 delivered', () => good.delivered().length >= 5, 10_000);
  t.same(sorted(good.delivered()), sorted(sent), 'nothing lost');
  await drained(nsqd, 'kill');
  t.equal(await stopped(second), 0);
});

t.test('no nsqd to reach: one line, exit 1', async (t) => {
  const p = spawnNsq(t, ['to-http', '--topic=x', '--post=http://127.0.0.1:9/', '--nsqd-tcp-address=127.0.0.1:1']);
  t.equal((await p.exit).code, 1);
  t.equal(p.stderr(), 'nsq: connect to 127.0.0.1:1: connection refused\n');
});

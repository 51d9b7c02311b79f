// Per-topic retention (POST /topic/config, docs/retention.md) and the retained range in /stats, on
// real `nsq serve --durable` processes: a topic's own limit decides over the server's, by time and
// by size, it survives a restart in nsqd.dat, 0 gives the server's back; each case has a topic
// without the setting next to it as the control.

import t from 'tap';
import type { Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/nsqd.js';
import { delay } from '../helpers/stats.js';
import type { StatsJson, TopicJson } from '../helpers/stats.js';
import { api, COMPACTED_MS, drain, post, publish, range, serve, SMALL_SEGMENTS, type Server } from '../helpers/retention.js';
import { drainNsqjs } from '../helpers/drain.js';
import { startAuthd } from '../helpers/authd.js';

t.jobs = 2;

async function topicStats(s: Server, topic: string): Promise<TopicJson | undefined> {
  const stats = JSON.parse((await api(s, 'GET', `/stats?format=json&topic=${topic}`)).text) as StatsJson;
  return stats.topics?.find((x) => x.topic_name === topic);
}

/** The topic's entry in nsqd.dat, as Go nsqd would read it (plus the fields it ignores). */
function datTopic(dir: string, topic: string): Record<string, unknown> | undefined {
  const dat = JSON.parse(readFileSync(join(dir, 'nsqd.dat'), 'utf8')) as { topics: Record<string, unknown>[] };
  return dat.topics.find((x) => x['name'] === topic);
}

/** Publishes, consumes everything on `c`, and lets compaction run twice. */
async function consumed(t: Test, s: Server, topic: string, bodies: string[]): Promise<void> {
  await post(s, `/topic/create?topic=${topic}`);
  await post(s, `/channel/create?topic=${topic}&channel=c`);
  await publish(t, s, topic, bodies);
  t.same(await drain(t, s, topic, 'c', bodies.length), bodies, `${topic}: consumed`);
}

t.test('by time: the topic with retention=1h keeps what was consumed, the one without loses it; retention=1s then lets it go', async (t) => {
  const s = await serve(t, tempDir(t), ['--durable', SMALL_SEGMENTS]);
  const bodies = range('t-', 100);
  await post(s, '/topic/create?topic=kept');
  t.same(JSON.parse(await post(s, '/topic/config?topic=kept&retention=1h')), { topic: 'kept', retention_ms: 3600_000, retention_size: 0 }, 'the answer is the limits in force');
  await consumed(t, s, 'kept', bodies);
  await consumed(t, s, 'plain', bodies);
  await delay(COMPACTED_MS);
  await post(s, '/channel/create?topic=kept&channel=r1&from=earliest');
  t.same(await drainNsqjs(t, s.tcp, 'kept', 'r1', bodies.length, { quietMs: 200 }), bodies, 'retention=1h: every consumed message comes back (nsqjs)');
  await post(s, '/channel/create?topic=plain&channel=r1&from=earliest');
  const lost = await drain(t, s, 'plain', 'r1', 0);
  t.ok(lost.length < bodies.length / 2, `control, no retention: the consumed segments are gone (${lost.length} of ${bodies.length} left)`);

  // a real wait past a short limit: the done segments go at the next compaction
  await post(s, '/topic/config?topic=kept&retention=1s');
  await delay(1000 + COMPACTED_MS);
  await post(s, '/channel/create?topic=kept&channel=r2&from=earliest');
  const after = await drain(t, s, 'kept', 'r2', 0);
  t.ok(after.length < bodies.length / 2, `retention=1s, after it passed: the done segments went (${after.length} of ${bodies.length} left)`);
});

t.test('by size: retention_size keeps only the newest done segments; the server-wide --retention still holds for the other topic', async (t) => {
  const s = await serve(t, tempDir(t), ['--durable', SMALL_SEGMENTS, '--retention=1h']);
  const bodies = range('s-', 150);
  await post(s, '/topic/create?topic=small');
  t.same(JSON.parse(await post(s, '/topic/config?topic=small&retention=0&retention_size=6000')), { topic: 'small', retention_ms: 3600_000, retention_size: 6000 }, 'retention=0: the server\'s 1h');
  await consumed(t, s, 'small', bodies);
  await consumed(t, s, 'whole', bodies);
  await delay(COMPACTED_MS);
  await post(s, '/channel/create?topic=small&channel=back&from=earliest');
  const got = await drain(t, s, 'small', 'back', 1);
  t.ok(got.length > 0 && got.length < bodies.length, `some kept, not all (${got.length} of ${bodies.length})`);
  t.same(got, bodies.slice(bodies.length - got.length), 'the newest ones, in order');
  const bytes = (await topicStats(s, 'small'))!.retained_bytes!;
  // the segment being written is counted in retained_bytes but not against the limit
  t.ok(bytes <= 6000 + 2048 + 512, `retained_bytes stays near the limit (${bytes})`);
  await post(s, '/channel/create?topic=whole&channel=back&from=earliest');
  t.same(await drain(t, s, 'whole', 'back', bodies.length), bodies, 'control: the topic without a size limit kept everything (--retention=1h)');
});

t.test('/topic/config mistakes: each a 400 with its code, and nothing changes', async (t) => {
  const s = await serve(t, tempDir(t), ['--durable-topic=d.*', '--retention=2h']);
  await post(s, '/topic/create?topic=d.one');
  await post(s, '/topic/create?topic=plain');
  const cases: [string, number, string][] = [
    ['/topic/config?topic=plain&retention=1h', 400, 'NOT_DURABLE'],
    ['/topic/config?topic=d.one&retention=soon', 400, 'INVALID_ARG_RETENTION'],
    ['/topic/config?topic=d.one&retention=-1h', 400, 'INVALID_ARG_RETENTION'],
    ['/topic/config?topic=d.one&retention=1h&retention_size=10GiB', 400, 'INVALID_ARG_RETENTION_SIZE'],
    ['/topic/config?topic=d.one&retention_size=-5', 400, 'INVALID_ARG_RETENTION_SIZE'],
    ['/topic/config?topic=nope&retention=1h', 404, 'TOPIC_NOT_FOUND'],
    ['/topic/config?retention=1h', 400, 'MISSING_ARG_TOPIC'],
    ['/topic/config?topic=bad!name', 400, 'INVALID_ARG_TOPIC'],
  ];
  for (const [path, status, code] of cases) t.same(await api(s, 'POST', path), { status, text: `{"message":"${code}"}` }, path);
  t.equal((await api(s, 'GET', '/topic/config?topic=d.one')).status, 405, 'GET: method not allowed');
  const st = (await topicStats(s, 'd.one'))!;
  t.same([st.retention_ms, st.retention_size], [7200_000, 0], 'the refused requests changed nothing: the server\'s limits');
  t.equal((await topicStats(s, 'plain'))!.retained_bytes, undefined, 'a plain topic has no retained fields in /stats');
});

t.test('nsqd.dat keeps a topic\'s limits across a clean restart and a kill -9; 0 gives the server\'s back', async (t) => {
  const dir = tempDir(t);
  const args = ['--durable', '--retention=2h'];
  let s = await serve(t, dir, args);
  await post(s, '/topic/create?topic=a');
  await post(s, '/topic/create?topic=b');
  await post(s, '/topic/config?topic=a&retention=30m&retention_size=1000000');
  t.match(datTopic(dir, 'a'), { retention: 1800_000, retention_size: 1000000 }, 'written to nsqd.dat before the answer');
  t.notOk('retention' in datTopic(dir, 'b')!, 'a topic without its own limits has no such fields');
  s.proc.child.kill('SIGKILL');
  await s.proc.exit;
  s = await serve(t, dir, args);
  t.match(await topicStats(s, 'a'), { retention_ms: 1800_000, retention_size: 1000000 }, 'after kill -9: the topic\'s own limits');
  t.match(await topicStats(s, 'b'), { retention_ms: 7200_000, retention_size: 0 }, 'the other topic: the server\'s');
  await post(s, '/topic/config?topic=a&retention_size=0');
  s.proc.child.kill('SIGTERM');
  await s.proc.exit;
  t.match(datTopic(dir, 'a'), { retention: 1800_000 }, 'after a clean stop: retention kept');
  t.notOk('retention_size' in datTopic(dir, 'a')!, 'retention_size=0 removed the field');
  s = await serve(t, dir, args);
  t.match(await topicStats(s, 'a'), { retention_ms: 1800_000, retention_size: 0 }, 'after the restart: 30m, and the server\'s size limit (none)');
});

t.test('/stats retained range: the oldest retained publish time and the journal bytes, in JSON and text', async (t) => {
  const s = await serve(t, tempDir(t), ['--durable', SMALL_SEGMENTS, '--retention=1h']);
  await post(s, '/topic/create?topic=r');
  const empty = (await topicStats(s, 'r'))!;
  t.same([empty.retained_from, empty.retained_bytes], [0, 0], 'a new topic: nothing retained');
  const before = Date.now();
  await publish(t, s, 'r', range('r-', 50));
  const after = Date.now();
  await drain(t, s, 'r', 'c', 50);
  await delay(COMPACTED_MS);
  const st = (await topicStats(s, 'r'))!;
  t.ok(st.retained_from! >= before - 1 && st.retained_from! <= after, `retained_from is the first publish's time (${st.retained_from} in ${before}..${after})`);
  t.ok(st.retained_bytes! > 50 * 20, `retained_bytes counts the consumed, retained records (${st.retained_bytes})`);
  const text = (await api(s, 'GET', '/stats?topic=r')).text;
  t.match(text, `retained: ${st.retained_bytes} bytes from ${new Date(st.retained_from!).toISOString()} (retention 1h0m0s/-)`, 'the text /stats says it on the topic line');
});

t.test('--auth-http-api: /topic/config needs the grant of the other topic routes (both permissions on the topic and every channel)', async (t) => {
  const authd = await startAuthd(t, {
    olga: { ttl: 3600, authorizations: [{ topic: '^orders$', channels: ['.*'], permissions: ['publish', 'subscribe'] }] },
    bill: { ttl: 3600, authorizations: [{ topic: '^orders$', channels: ['^billing$'], permissions: ['publish', 'subscribe'] }] },
    rita: { ttl: 3600, authorizations: [{ topic: '^orders$', channels: ['.*'], permissions: ['subscribe'] }] },
  });
  const s = await serve(t, tempDir(t), ['--durable', `--auth-http-address=${authd.address}`, '--auth-http-api']);
  const call = async (secret: string | undefined): Promise<[number, string]> => {
    const res = await fetch(`http://127.0.0.1:${s.http}/topic/config?topic=orders&retention=1h`, { method: 'POST', headers: secret === undefined ? {} : { authorization: `Bearer ${secret}` } });
    return [res.status, await res.text()];
  };
  for (const path of ['/topic/create?topic=orders', '/channel/create?topic=orders&channel=audit']) {
    t.equal((await fetch(`http://127.0.0.1:${s.http}${path}`, { method: 'POST', headers: { authorization: 'Bearer olga' } })).status, 200, path);
  }
  t.same(await call(undefined), [401, '{"message":"AUTH_REQUIRED"}'], 'no bearer');
  t.same(await call('rita'), [403, '{"message":"UNAUTHORIZED"}'], 'subscribe only');
  t.same(await call('bill'), [403, '{"message":"UNAUTHORIZED"}'], 'a channel of the topic is not granted');
  t.same(await call('olga'), [200, '{"topic":"orders","retention_ms":3600000,"retention_size":0}'], 'the whole topic granted');
});

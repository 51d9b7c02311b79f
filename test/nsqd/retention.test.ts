// Retention and replay (docs/retention.md) as a user sees them: a durable topic with --retention
// keeps its journal after every channel is done with it, and a channel created with
// /channel/create?from= starts with what it kept, then carries on live. Each case has a control
// that shows what the guarantee guards against (without --retention the consumed messages are gone).

import t from 'tap';
import { Connection } from '../../src/client/connection.js';
import { retentionMark } from '../../src/nsqd/retention.js';
import { emptySegment } from '../../src/nsqd/segment-log.js';
import { parseReplayFrom } from '../../src/nsqd/replay.js';
import { spawnNsq, tempDir } from '../helpers/nsqd.js';
import { delay, waitFor } from '../helpers/stats.js';
import { api, COMPACTED_MS, drain, post, publish, QUIET_MS, range, serve, SMALL_SEGMENTS } from '../helpers/retention.js';
import { drainNsqjs } from '../helpers/drain.js';


t.jobs = 2;

t.test('from=earliest after everything was consumed: the kept journal comes back in order; the control without --retention has lost it', async (t) => {
  const bodies = range('keep-', 120);
  const results: Record<string, string[]> = {};
  for (const [name, extra] of [['retained', ['--retention=1h']], ['control', []]] as const) {
    const s = await serve(t, tempDir(t), ['--durable', SMALL_SEGMENTS, ...extra]);
    await post(s, '/topic/create?topic=orders');
    await post(s, '/channel/create?topic=orders&channel=billing');
    await publish(t, s, 'orders', bodies);
    t.same(await drain(t, s, 'orders', 'billing', bodies.length), bodies, `${name}: billing consumed everything`);
    await delay(COMPACTED_MS);
    const answer = JSON.parse(await post(s, '/channel/create?topic=orders&channel=audit&from=earliest')) as { start_id: string; catching_up: boolean };
    t.match(answer.start_id, /^[0-9a-f]{16}$/, `${name}: the answer says where the channel starts`);
    results[name] = await drain(t, s, 'orders', 'audit', name === 'retained' ? bodies.length : 0);
  }
  t.same(results['retained'], bodies, 'with --retention: every message, in publish order, once');
  t.ok(results['control']!.length < bodies.length / 2, `without it the consumed segments are gone (${results['control']!.length} of ${bodies.length} left in the unsealed segment)`);
});

t.test('from=<time>: the first message at or after it and everything later, then new ones live (nsqjs)', async (t) => {
  const s = await serve(t, tempDir(t), ['--durable', SMALL_SEGMENTS, '--retention=1h']);
  await post(s, '/topic/create?topic=t');
  await post(s, '/channel/create?topic=t&channel=c');
  const before = range('before-', 30);
  const after = range('after-', 30);
  await publish(t, s, 't', before);
  await delay(50);
  const point = new Date().toISOString();
  await delay(50);
  await publish(t, s, 't', after);
  await drain(t, s, 't', 'c', before.length + after.length);
  await delay(COMPACTED_MS);
  await post(s, `/channel/create?topic=t&channel=since&from=${encodeURIComponent(point)}`);
  await publish(t, s, 't', ['live-1', 'live-2']);
  t.same(await drainNsqjs(t, s.tcp, 't', 'since', after.length + 2, { maxInFlight: 1, quietMs: QUIET_MS }), [...after, 'live-1', 'live-2'], 'exactly what came after the point, then the live ones');
  // unix milliseconds mean the same
  await post(s, `/channel/create?topic=t&channel=since-ms&from=${Date.parse(point)}`);
  t.same(await drain(t, s, 't', 'since-ms', after.length + 2), [...after, 'live-1', 'live-2'], 'from=<unix ms> likewise');
});

t.test('from=latest: only what is published after the channel was created; refused while the topic holds messages for its first channel', async (t) => {
  const s = await serve(t, tempDir(t), ['--durable', '--retention=1h']);
  await post(s, '/topic/create?topic=held');
  await publish(t, s, 'held', ['waiting-1', 'waiting-2']);
  t.same(await api(s, 'POST', '/channel/create?topic=held&channel=new&from=latest'), { status: 400, text: '{"message":"TOPIC_HOLDS_MESSAGES"}' }, 'the two waiting would go to nobody');
  t.same(await drain(t, s, 'held', 'usual', 2), ['waiting-1', 'waiting-2'], 'they still go to the first channel made the usual way');
  await post(s, '/channel/create?topic=held&channel=new&from=latest');
  await publish(t, s, 'held', ['new-1']);
  t.same(await drain(t, s, 'held', 'new', 1), ['new-1'], 'the from=latest channel gets only the new message');
});

t.test('a live publisher during the catch-up: nothing missed, nothing twice at the switch', async (t) => {
  const s = await serve(t, tempDir(t), ['--durable', SMALL_SEGMENTS, '--retention=1h', '--mem-queue-size=50']);
  await post(s, '/topic/create?topic=flow');
  await post(s, '/channel/create?topic=flow&channel=first');
  const old = range('old-', 200);
  await publish(t, s, 'flow', old);
  await drain(t, s, 'flow', 'first', old.length);
  const fresh = range('fresh-', 300);
  const conn = await Connection.open({ host: '127.0.0.1', port: s.tcp });
  t.teardown(() => conn.close());
  let sent = 0;
  const publishing = (async () => {
    for (const b of fresh) {
      await conn.publish('flow', b);
      sent++;
    }
  })();
  await waitFor('some fresh messages published', () => sent >= 20);
  await post(s, '/channel/create?topic=flow&channel=replay&from=earliest');
  const got = await drain(t, s, 'flow', 'replay', old.length + fresh.length, 20_000);
  await publishing;
  t.equal(got.length, old.length + fresh.length, 'every message once');
  t.same(got, [...old, ...fresh], 'in publish order');
});

t.test('kill -9 while a replaying channel is half done: its unfinished messages come back, the finished ones do not', async (t) => {
  const dir = tempDir(t);
  const args = ['--durable', SMALL_SEGMENTS, '--retention=1h'];
  let s = await serve(t, dir, args);
  await post(s, '/topic/create?topic=k');
  await post(s, '/channel/create?topic=k&channel=c');
  const bodies = range('k-', 60);
  await publish(t, s, 'k', bodies);
  await drain(t, s, 'k', 'c', bodies.length);
  await delay(COMPACTED_MS);
  await post(s, '/channel/create?topic=k&channel=again&from=earliest');
  const firstHalf = await drain(t, s, 'k', 'again', 30);
  t.same(firstHalf.slice(0, 30), bodies.slice(0, 30), 'the first 30 replayed');
  await delay(300); // their FINs reach the ack log with the next commit
  s.proc.child.kill('SIGKILL');
  await s.proc.exit;
  s = await serve(t, dir, args);
  const rest = await drain(t, s, 'k', 'again', bodies.length - firstHalf.length);
  t.same(rest, bodies.slice(firstHalf.length), 'after the crash: exactly the ones not finished, in order');
  t.same(await drain(t, s, 'k', 'c', 0), [], 'the first channel gets nothing again');
});

t.test('--retention-size keeps the newest done segments only', async (t) => {
  const s = await serve(t, tempDir(t), ['--durable', SMALL_SEGMENTS, '--retention-size=6000']);
  await post(s, '/topic/create?topic=sz');
  await post(s, '/channel/create?topic=sz&channel=c');
  const bodies = range('size-', 150);
  await publish(t, s, 'sz', bodies);
  await drain(t, s, 'sz', 'c', bodies.length);
  await delay(COMPACTED_MS);
  await post(s, '/channel/create?topic=sz&channel=back&from=earliest');
  const got = await drain(t, s, 'sz', 'back', 1);
  t.ok(got.length > 0 && got.length < bodies.length, `some kept, not all (${got.length} of ${bodies.length})`);
  t.same(got, bodies.slice(bodies.length - got.length), 'and they are the newest ones, in order');
});

t.test('mistakes: from on an existing channel, on a plain topic, a bad from, --retention without --durable', async (t) => {
  const s = await serve(t, tempDir(t), ['--durable-topic=d.*']);
  await post(s, '/topic/create?topic=d.one');
  await post(s, '/topic/create?topic=plain');
  await post(s, '/channel/create?topic=d.one&channel=c');
  t.same(await api(s, 'POST', '/channel/create?topic=d.one&channel=c&from=earliest'), { status: 400, text: '{"message":"CHANNEL_EXISTS"}' });
  t.same(await api(s, 'POST', '/channel/create?topic=plain&channel=c&from=earliest'), { status: 400, text: '{"message":"NOT_DURABLE"}' });
  t.same(await api(s, 'POST', '/channel/create?topic=d.one&channel=x&from=yesterday'), { status: 400, text: '{"message":"INVALID_ARG_FROM"}' });
  t.same(await api(s, 'POST', '/channel/create?topic=nope&channel=x&from=earliest'), { status: 404, text: '{"message":"TOPIC_NOT_FOUND"}' });
  const bad = spawnNsq(t, ['serve', `--data-path=${tempDir(t)}`, '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--retention=1h']);
  const { code } = await bad.exit;
  t.equal(code, 2, '--retention without a durable topic: exit 2');
  t.match(bad.stderr(), /--retention and --retention-size need --durable or --durable-topic/);
});

t.test('retentionMark: each limit alone, both, and what is still needed', async (t) => {
  const seg = (num: number, minId: number, maxId: number, maxTs: number, bytes: number) => ({ ...emptySegment(num), minId, maxId, maxTs, minTs: maxTs, bytes });
  const now = 100e9;
  // three done segments (IDs below 30), then the one still needed
  const segs = [seg(0, 0, 9, 10e9, 1000), seg(1, 10, 19, 50e9, 1000), seg(2, 20, 29, 90e9, 1000), seg(3, 30, 39, 99e9, 1000)];
  t.equal(retentionMark(segs, 30, { retention: 0, retentionSize: 0 }, now), 30, 'no limits: everything done may go');
  t.equal(retentionMark(segs, 30, { retention: 60_000, retentionSize: 0 }, now), 10, '60 s: the segments newer than that stay');
  t.equal(retentionMark(segs, 30, { retention: 0, retentionSize: 2000 }, now), 10, '2000 bytes: the newest two done ones');
  t.equal(retentionMark(segs, 30, { retention: 60_000, retentionSize: 1000 }, now), 20, 'both: the stricter decides');
  t.equal(retentionMark(segs, 15, { retention: 3600_000, retentionSize: 0 }, now), 0, 'what is needed is never above the mark');
  t.same(parseReplayFrom('earliest'), { kind: 'earliest' });
  t.same(parseReplayFrom('2026-12-02T10:00:00Z'), { kind: 'time', epochMs: Date.parse('2026-12-02T10:00:00Z') });
  t.same(parseReplayFrom('1796234448434'), { kind: 'time', epochMs: 1796234448434 });
  t.equal(parseReplayFrom('1h'), null);
});

// `nsq tail --since/--from-start` and `nsq to-file --from` as spawned processes against a real
// `nsq serve --durable --retention` (docs/retention.md): what they print or write, and their
// one-line errors (exit 2 for flags, exit 1 for a node's refusal), never a stack trace.

import t from 'tap';
import type { Test } from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnNsq, tempDir, type Spawned } from '../helpers/nsqd.js';
import { delay, waitFor } from '../helpers/stats.js';
import { drain, post, publish, range, serve, type Server } from '../helpers/retention.js';

t.jobs = 2;

const addr = (s: Server): string[] => [`--nsqd-tcp-address=127.0.0.1:${s.tcp}`, `--nsqd-http-address=127.0.0.1:${s.http}`];

async function ran(p: Spawned): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { code } = await p.exit;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

function oneLine(t: Test, stderr: string, re: RegExp, what: string): void {
  t.match(stderr, re, what);
  t.equal(stderr.trim().split('\n').length, 1, `${what}: one line`);
  t.notMatch(stderr, /\n\s+at /, `${what}: no stack trace`);
}

t.test('tail --from-start and --since: the consumed past comes back, then new messages; the control without them sees only new ones', async (t) => {
  const s = await serve(t, tempDir(t), ['--durable-topic=d*', '--retention=1h']);
  await post(s, '/topic/create?topic=d');
  await post(s, '/channel/create?topic=d&channel=c');
  const old = range('old-', 10);
  await publish(t, s, 'd', old);
  // 6 s between the two batches; --since below reaches back to the recent batch plus 3-4 s (room for a
  // slow start of the tail), so it leaves the old one out however slow the steps in between are
  await delay(6000);
  const recentAt = Date.now();
  const recent = range('recent-', 5);
  await publish(t, s, 'd', recent);
  t.same(await drain(t, s, 'd', 'c', 15), [...old, ...recent], 'everything consumed on channel c');

  const all = await ran(spawnNsq(t, ['tail', 'd', '--from-start', '-n', '15', ...addr(s)]));
  t.equal(all.code, 0, '--from-start exits 0 after -n');
  t.same(all.stdout.trim().split('\n'), [...old, ...recent], '--from-start: every retained message, in order');

  const window = Math.ceil((Date.now() - recentAt) / 1000) + 3;
  const since = await ran(spawnNsq(t, ['tail', 'd', '--since', `${window}s`, '-n', '5', ...addr(s)]));
  t.equal(since.code, 0);
  t.same(since.stdout.trim().split('\n'), recent, `--since ${window}s: only the ones published since then`);

  // control: a plain tail starts now, so the consumed past never shows; a live message proves it runs
  const plain = spawnNsq(t, ['tail', 'd', '-n', '1', `--nsqd-tcp-address=127.0.0.1:${s.tcp}`]);
  await waitFor('the plain tail subscribed', async () => {
    const stats = (await (await fetch(`http://127.0.0.1:${s.http}/stats?format=json&topic=d`)).json()) as { topics: { channels: { channel_name: string; client_count: number }[] }[] };
    return stats.topics[0]!.channels.some((c) => c.channel_name.startsWith('tail') && c.client_count > 0);
  });
  await publish(t, s, 'd', ['live']);
  const p = await ran(plain);
  t.same(p.stdout.trim().split('\n'), ['live'], 'control: without a start point the tail gets only the new message');
});

t.test('to-file --from=earliest backfills a topic into a file; again on the same channel is refused', async (t) => {
  const s = await serve(t, tempDir(t), ['--durable', '--retention=1h']);
  await post(s, '/topic/create?topic=events');
  await post(s, '/channel/create?topic=events&channel=live');
  const bodies = range('ev-', 40);
  await publish(t, s, 'events', bodies);
  await drain(t, s, 'events', 'live', bodies.length);
  const out = tempDir(t);
  const args = ['to-file', '--topic=events', '--channel=backfill', '--from=earliest', `--output-dir=${out}`, '--sync-interval=100ms', ...addr(s)];
  const run = spawnNsq(t, args);
  const read = (): string => readdirSync(out).map((f) => readFileSync(join(out, f), 'utf8')).join('');
  await waitFor(`the backfill in ${out}`, () => read().split('\n').length > bodies.length, 10_000);
  run.child.kill('SIGINT');
  t.equal((await run.exit).code, 0, 'SIGINT: exit 0 once the files are closed');
  t.same(read().trim().split('\n'), bodies, 'every consumed message, in order, in the file');

  const again = await ran(spawnNsq(t, args));
  t.equal(again.code, 1, 'the channel exists now: exit 1');
  oneLine(t, again.stderr, /--from: 127\.0\.0\.1:\d+ refused to create channel backfill: 400 CHANNEL_EXISTS: the channel exists there, and a start point is only for a new channel/, 'CHANNEL_EXISTS');
});

t.test('usage errors (exit 2) and a node\'s refusal (exit 1), each one line', async (t) => {
  const s = await serve(t, tempDir(t), ['--durable-topic=d*']);
  await post(s, '/topic/create?topic=plain');
  await post(s, '/topic/create?topic=d');
  const both = await ran(spawnNsq(t, ['tail', 'd', '--since', '1h', '--from-start', ...addr(s)]));
  t.equal(both.code, 2);
  oneLine(t, both.stderr, /--since and --from-start do not go together/, 'both flags');
  const bad = await ran(spawnNsq(t, ['tail', 'd', '--since', 'yesterday', ...addr(s)]));
  t.equal(bad.code, 2);
  oneLine(t, bad.stderr, /invalid value "yesterday" for flag --since/, 'a bad duration');
  const plain = await ran(spawnNsq(t, ['tail', 'plain', '--from-start', ...addr(s)]));
  t.equal(plain.code, 1);
  oneLine(t, plain.stderr, /--from-start: 127\.0\.0\.1:\d+ refused to create channel tail\d{6}#ephemeral: 400 NOT_DURABLE: the topic is not durable there/, 'a plain topic');
  // two topics, the second refused: the channel made on the first goes again, or it would hold d's journal
  const partial = await ran(spawnNsq(t, ['tail', 'd', 'plain', '--from-start', ...addr(s)]));
  t.equal(partial.code, 1);
  oneLine(t, partial.stderr, /NOT_DURABLE/, 'the second topic refused');
  const left = (await (await fetch(`http://127.0.0.1:${s.http}/stats?format=json&topic=d`)).json()) as { topics: { channels: { channel_name: string }[] }[] };
  t.same(left.topics[0]!.channels.map((c) => c.channel_name), [], 'the channel created on d was deleted again');
  const fromFile = await ran(spawnNsq(t, ['to-file', '--topic=d', '--from=last tuesday', ...addr(s)]));
  t.equal(fromFile.code, 2);
  oneLine(t, fromFile.stderr, /invalid value "last tuesday" for flag --from: want earliest, an RFC 3339 time/, 'to-file: a bad --from');
  // no retention: it works, and says how little it may get
  const noRetention = spawnNsq(t, ['tail', 'd', '--from-start', '-n', '1', ...addr(s)]);
  await waitFor('the warning', () => noRetention.stderr().includes('no retention'));
  t.match(noRetention.stderr(), /d @ 127\.0\.0\.1:\d+: the topic has no retention/, 'a topic without retention: a warning, and the tail runs');
  await publish(t, s, 'd', ['x']);
  const r = await ran(noRetention);
  t.equal(r.code, 0);
  t.equal(r.stdout, 'x\n');
});

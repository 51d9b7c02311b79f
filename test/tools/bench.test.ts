// `nsq bench pub|sub` as a user runs them: spawned against a real server, JSON checked against
// what the server's /stats counted. No timing thresholds: only counts that must agree.

import { createServer } from 'node:net';
import t, { type Test } from 'tap';
import { startLookupd } from '../helpers/lookupd.js';
import { spawnNsq, startNsqd } from '../helpers/nsqd.js';
import { getStats, waitFor, type TopicJson } from '../helpers/stats.js';
import type { BenchResult } from '../../src/tools/bench/shared.js';

async function runJson(t: Test, args: string[]): Promise<BenchResult> {
  const s = spawnNsq(t, args);
  const { code } = await s.exit;
  t.equal(code, 0, `nsq ${args.join(' ')} exits 0 (stderr: ${s.stderr().trim()})`);
  return JSON.parse(s.stdout()) as BenchResult;
}

t.test('bench pub then bench sub: every published message is consumed once, as /stats counts', async (t) => {
  const nsqd = await startNsqd(t, { memQueueSize: 100_000 });
  const addr = `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpEndpoint.port}`;

  // a modest rate keeps the in-process server light; the sizes and counts are what is checked
  const pub = await runJson(t, ['bench', 'pub', addr, '--topic', 'tb', '--duration', '1s', '--rate', '20000', '--batch', '50', '--size', '100', '--json']);
  t.equal(pub.mode, 'pub');
  t.ok(pub.messages > 0, 'published something');
  t.equal(pub.bytes, pub.messages * 100);
  t.ok(pub.msgsPerSec > 0);
  t.ok(pub.latency !== null && pub.latency.kind === 'ack' && pub.latency.samples > 0, 'ack latency measured');
  t.ok(pub.latency!.p50Ms <= pub.latency!.p99Ms && pub.latency!.p99Ms <= pub.latency!.maxMs, 'percentiles in order');

  let topic = (await getStats(nsqd)).topics?.find((x) => x.topic_name === 'tb');
  t.equal(topic?.message_count, pub.messages, 'the server counted every acknowledged message');

  const sub = await runJson(t, ['bench', 'sub', addr, '--topic', 'tb', '--channel', 'c', '--duration', '1s', '--json']);
  t.equal(sub.mode, 'sub');
  t.ok(sub.messages > 0, 'consumed something');
  t.equal(sub.bytes, sub.messages * 100);
  t.equal(sub.redelivered, 0);
  t.equal(sub.rdy, 2500);
  t.ok(sub.latency !== null && sub.latency.kind === 'end-to-end', 'end-to-end latency from the send times in the bodies');
  t.equal(sub.latency!.samples, sub.messages, 'every body carried a send time');

  // FINs arrive before the connection's end; give the server the moment to read them
  topic = await waitFor('the channel to settle', async () => {
    const tp = (await getStats(nsqd)).topics?.find((x) => x.topic_name === 'tb');
    const ch = tp?.channels.find((c) => c.channel_name === 'c');
    return ch !== undefined && ch.in_flight_count === 0 && ch.client_count === 0 ? tp : undefined;
  });
  const ch = (topic as TopicJson).channels.find((c) => c.channel_name === 'c')!;
  t.equal(ch.message_count, sub.messages, 'delivered as many as bench sub reports');
  t.equal(ch.depth + sub.messages, pub.messages, 'what was not consumed is still queued');
  t.equal(ch.requeue_count, 0, 'nothing requeued: every message was FINed');
  t.equal(ch.timeout_count, 0);
});

t.test('bench pub --count publishes exactly that many, over several connections', async (t) => {
  const nsqd = await startNsqd(t);
  const addr = `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpEndpoint.port}`;
  const pub = await runJson(t, ['bench', 'pub', addr, '--topic', 'tc', '--count', '1001', '--batch', '1', '--producers', '3', '--size', '8', '--json']);
  t.equal(pub.messages, 1001);
  t.equal(pub.connections, 3);
  const topic = (await getStats(nsqd)).topics?.find((x) => x.topic_name === 'tc');
  t.equal(topic?.message_count, 1001);

  // 8-byte bodies carry no send time: no latency to report, and the human report says so
  const s = spawnNsq(t, ['bench', 'sub', addr, '--topic', 'tc', '--count', '1001', '--consumers', '2']);
  t.equal((await s.exit).code, 0, s.stderr());
  t.match(s.stdout(), /messages\s+1,001 in/);
  t.match(s.stdout(), /latency\s+n\/a/);
});

t.test('bad flags and an unreachable nsqd: one line on stderr, non-zero exit', async (t) => {
  const cases: [string[], RegExp, number][] = [
    [['bench', 'pub', '--size', 'big'], /^nsq: invalid value "big" for flag --size/, 2],
    [['bench', 'sub', '--duration', '10'], /^nsq: invalid value "10" for flag --duration: missing unit/, 2],
    [['bench', 'pub', '--topic', 'no good'], /^nsq: invalid value "no good" for flag --topic/, 2],
    [['bench', 'pub', '--no-such-flag'], /^nsq: unknown flag --no-such-flag$/m, 2],
    [['bench'], /^nsq: bench needs a mode/, 2],
  ];
  // a port nobody listens on: bind one, then let it go
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
  cases.push([['bench', 'sub', `--nsqd-tcp-address=127.0.0.1:${port}`, '--duration', '1s'], /^nsq: connect to 127\.0\.0\.1:\d+: connection refused$/, 1]);
  cases.push([['bench', 'pub', `--nsqd-tcp-address=127.0.0.1:${port}`, '--duration', '1s'], /^nsq: connect to 127\.0\.0\.1:\d+: connection refused$/, 1]);
  cases.push([['bench', 'pub', `--lookupd-http-address=127.0.0.1:${port}`, '--duration', '1s'], /^nsq: connect to lookupd 127\.0\.0\.1:\d+: connection refused$/, 1]);
  const lookupd = await startLookupd(t);
  cases.push([['bench', 'pub', `--lookupd-http-address=127.0.0.1:${lookupd.httpEndpoint.port}`, '--duration', '1s'], /^nsq: no nsqd registered with lookupd 127\.0\.0\.1:\d+$/, 1]);
  for (const [args, re, exit] of cases) {
    const s = spawnNsq(t, args);
    const { code } = await s.exit;
    t.equal(code, exit, `${args.join(' ')}: exit ${exit}`);
    const lines = s.stderr().trim().split('\n');
    t.equal(lines.length, 1, `${args.join(' ')}: one line`);
    t.match(lines[0], re);
    t.equal(s.stdout(), '');
  }
});

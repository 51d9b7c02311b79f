// `nsq bench pub|sub` as a user runs them: spawned against a real server, JSON checked against
// what the server's /stats counted. No timing thresholds: only counts that must agree.

import { createServer } from 'node:net';
import t, { type Test } from 'tap';
import { startLookupd } from '../helpers/lookupd.js';
import { spawnNsq, startNsqd } from '../helpers/nsqd.js';
import { getStats, waitFor, type TopicJson } from '../helpers/stats.js';
import type { CombinedResult } from '../../src/tools/bench/combined.js';
import type { BenchResult } from '../../src/tools/bench/shared.js';

async function runJson<R = BenchResult>(t: Test, args: string[]): Promise<R> {
  const s = spawnNsq(t, args);
  const { code } = await s.exit;
  t.equal(code, 0, `nsq ${args.join(' ')} exits 0 (stderr: ${s.stderr().trim()})`);
  return JSON.parse(s.stdout()) as R;
}

/** RFC 4180, enough for a test: quoted fields with doubled quotes, commas, no line breaks inside. */
function parseCsv(text: string): Record<string, string>[] {
  const lines = text.split('\n');
  if (lines.pop() !== '') throw new Error('CSV does not end with a newline');
  const split = (line: string): string[] => {
    const out: string[] = [];
    for (let i = 0; i <= line.length; ) {
      if (line[i] === '"') {
        let v = '';
        for (i++; i < line.length; i++) {
          if (line[i] === '"' && line[i + 1] === '"') (v += '"'), i++;
          else if (line[i] === '"') break;
          else v += line[i];
        }
        out.push(v);
        i += 2;
      } else {
        const end = line.indexOf(',', i) === -1 ? line.length : line.indexOf(',', i);
        out.push(line.slice(i, end));
        i = end + 1;
      }
    }
    return out;
  };
  const [header, ...rows] = lines.map(split);
  return rows.map((r) => {
    if (r.length !== header!.length) throw new Error(`a row of ${r.length} fields under a header of ${header!.length}`);
    return Object.fromEntries(header!.map((h, i) => [h, r[i]!]));
  });
}

async function runCsv(t: Test, args: string[]): Promise<{ header: string; rows: Record<string, string>[] }> {
  const s = spawnNsq(t, args);
  t.equal((await s.exit).code, 0, `nsq ${args.join(' ')} exits 0 (stderr: ${s.stderr().trim()})`);
  return { header: s.stdout().split('\n')[0]!, rows: parseCsv(s.stdout()) };
}

const channelOf = async (nsqd: Parameters<typeof getStats>[0], topic: string, channel: string) =>
  waitFor(`${topic}/${channel} settled`, async () => {
    const tp = (await getStats(nsqd)).topics?.find((x) => x.topic_name === topic);
    const ch = tp?.channels.find((c) => c.channel_name === channel);
    return ch !== undefined && ch.in_flight_count === 0 && ch.client_count === 0 ? { topic: tp!, channel: ch } : undefined;
  });

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
    [['bench', 'sbu'], /^nsq: unknown argument "sbu"; did you mean "sub"\?$/, 2],
    [['bench', '--size', '8'], /^nsq: invalid value "8" for flag --size: the combined run needs 16 or more/, 2],
    [['bench', 'pub', '--json', '--csv'], /^nsq: give either --json or --csv, not both$/, 2],
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
  cases.push([['bench', `--nsqd-tcp-address=127.0.0.1:${port}`, '--duration', '1s'], /^nsq: connect to 127\.0\.0\.1:\d+: connection refused$/, 1]);
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

t.test('bench with no mode: publishes and consumes together; the counts agree with each other and /stats', async (t) => {
  const nsqd = await startNsqd(t);
  const addr = `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpEndpoint.port}`;
  const r = await runJson<CombinedResult>(t, ['bench', addr, '--topic', 'both', '--count', '3000', '--batch', '50', '--size', '64', '--json']);
  t.equal(r.mode, 'pubsub');
  t.equal(r.channel, 'bench', "bench's channel by default");
  t.equal(r.published, 3000);
  t.equal(r.pub.messages, 3000);
  t.equal(r.consumed, 3000, 'every message published arrived');
  t.equal(r.sub.messages, 3000);
  t.equal(r.missing, 0);
  t.equal(r.sub.older, 0);
  t.equal(r.sub.bytes, 3000 * 64);
  t.ok(r.pub.msgsPerSec > 0 && r.sub.msgsPerSec > 0, 'both rates');
  t.equal(r.pub.latency?.kind, 'ack');
  t.equal(r.sub.latency?.kind, 'end-to-end');
  t.equal(r.sub.latency?.samples, 3000, 'end-to-end latency of every message');
  const { topic, channel } = await channelOf(nsqd, 'both', 'bench');
  t.equal(topic.message_count, 3000, 'nsqd took 3000');
  t.equal(channel.message_count, 3000, 'and delivered 3000');
  t.equal(channel.depth, 0, 'nothing left');
  t.equal(channel.requeue_count, 0);

  // the human report: both sides, the totals, both latencies
  const s = spawnNsq(t, ['bench', addr, '--topic', 'both', '--count', '2000', '--rate', '20000', '--producers', '2', '--consumers', '2']);
  t.equal((await s.exit).code, 0, s.stderr());
  const out = s.stdout();
  t.match(out, /^nsq bench → 127\.0\.0\.1:\d+: topic both, channel bench; 2 producer connections, MPUB ×200, 200 B bodies, 20,000 msgs\/s; 2 consumer connections, RDY 1250 each\n/);
  t.match(out, /\n  pub +2,000 in \d+\.\d\d s: [\d,]+ msgs\/s, [\d.]+ MiB\/s\n/);
  t.match(out, /\n  sub +2,000 in \d+\.\d\d s: [\d,]+ msgs\/s, [\d.]+ MiB\/s\n/);
  t.match(out, /\n  total +2,000 published, 2,000 consumed, 0 missing\n/);
  t.match(out, /\n  ack +p50 [\d.]+  p90 [\d.]+  p99 [\d.]+  max [\d.]+ ms \(write to OK, [\d,]+ writes\)\n/);
  t.match(out, /\n  end-to-end p50 [\d.]+  p90 [\d.]+  p99 [\d.]+  max [\d.]+ ms \(publish to receipt, 2,000 messages\)\n$/);
  t.equal(s.stderr(), '');
});

t.test('bench with no mode: older messages in the channel are taken off but not counted', async (t) => {
  const nsqd = await startNsqd(t);
  const addr = `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpEndpoint.port}`;
  // an earlier run left 500 in channel c
  await runJson(t, ['bench', 'pub', addr, '--topic', 'old', '--count', '500', '--json']);
  const res = await fetch(`http://127.0.0.1:${nsqd.httpEndpoint.port}/channel/create?topic=old&channel=c`, { method: 'POST' });
  t.equal(res.status, 200);
  t.equal((await channelOf(nsqd, 'old', 'c')).channel.depth, 500);
  const r = await runJson<CombinedResult>(t, ['bench', addr, '--topic', 'old', '--channel', 'c', '--count', '1000', '--json']);
  t.equal(r.published, 1000);
  t.equal(r.consumed, 1000, "only this run's messages count");
  t.equal(r.sub.older, 500, 'the older ones are told');
  t.equal(r.missing, 0);
  t.equal((await channelOf(nsqd, 'old', 'c')).channel.depth, 0);
});

t.test('bench with no mode: published messages that never arrive are missing, exit 1 after the report', async (t) => {
  // an ephemeral channel drops what does not fit in memory; a consumer with RDY 1 falls behind
  const nsqd = await startNsqd(t, { memQueueSize: 10 });
  const addr = `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpEndpoint.port}`;
  const s = spawnNsq(t, ['bench', addr, '--topic', 'lossy', '--channel', 'lossy#ephemeral', '--max-in-flight', '1', '--count', '2000', '--csv']);
  t.equal((await s.exit).code, 1, 'not a success');
  const rows = parseCsv(s.stdout());
  t.equal(rows.length, 2, 'the report is printed all the same');
  const missing = Number(rows[1]!['missing']);
  t.ok(missing > 0, `${missing} missing`);
  t.equal(Number(rows[1]!['messages']) + missing, 2000, 'received + missing = published');
  t.equal(s.stderr(), `nsq: ${missing} of 2000 published messages did not arrive (none came for 5 s)\n`);
});

t.test('--csv on every mode: a header line, then one row per role, counts as sent', async (t) => {
  const nsqd = await startNsqd(t);
  const addr = `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpEndpoint.port}`;
  const HEADER = 'mode,role,addresses,topic,channel,connections,size,batch,rate,rdy,messages,bytes,seconds,msgs_per_sec,mib_per_sec,latency,latency_samples,p50_ms,p90_ms,p99_ms,max_ms,redelivered,missing';

  const pub = await runCsv(t, ['bench', 'pub', addr, '--topic', 'csv', '--count', '2000', '--batch', '100', '--size', '32', '--csv']);
  t.equal(pub.header, HEADER);
  t.equal(pub.rows.length, 1);
  t.match(pub.rows[0], { mode: 'pub', role: 'pub', addresses: `127.0.0.1:${nsqd.tcpEndpoint.port}`, topic: 'csv', channel: '', connections: '1', size: '32', batch: '100', rate: '0', messages: '2000', bytes: String(2000 * 32), latency: 'ack' });
  for (const f of ['seconds', 'msgs_per_sec', 'mib_per_sec', 'p50_ms', 'p99_ms', 'max_ms']) t.ok(Number.isFinite(Number(pub.rows[0]![f])) && pub.rows[0]![f] !== '', `${f} is a number`);

  const sub = await runCsv(t, ['bench', 'sub', addr, '--topic', 'csv', '--channel', 'first', '--count', '2000', '--csv']);
  t.equal(sub.header, HEADER);
  t.equal(sub.rows.length, 1);
  t.match(sub.rows[0], { mode: 'sub', role: 'sub', topic: 'csv', channel: 'first', rdy: '2500', messages: '2000', bytes: String(2000 * 32), latency: 'end-to-end', latency_samples: '2000', redelivered: '0' });

  const both = await runCsv(t, ['bench', addr, '--topic', 'csv2', '--count', '2000', '--csv']);
  t.equal(both.header, HEADER);
  t.same(both.rows.map((r) => `${r['mode']}/${r['role']}`), ['pubsub/pub', 'pubsub/sub']);
  t.equal(both.rows[0]!['messages'], '2000');
  t.equal(both.rows[1]!['messages'], '2000');
  t.equal(both.rows[1]!['missing'], '0');
  t.equal(both.rows[1]!['channel'], 'bench');
});

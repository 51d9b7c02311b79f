// Ordered channels (docs/ordered-channels.md) over real sockets: three consumers (two of our client,
// one nsqjs) that randomly REQ, REQ with a delay, or let a message time out; the sequence of FINs
// must equal the publish sequence exactly. Each case runs a control on a normal channel of the same
// topic under the same consumers, which must show the reorder an ordered channel prevents.

import t, { type Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import type { NSQD } from '../../src/nsqd/nsqd.js';
import type { NsqdOptions } from '../../src/nsqd/options.js';
import { serverPorts, spawnNsq, startNsqd, tempDir } from '../helpers/nsqd.js';
import { channelStats, delay } from '../helpers/stats.js';
import { consumers, firstDifference, publish, until } from '../helpers/ordered.js';

async function orderedRun(t: Test, options: Partial<NsqdOptions>, count: number): Promise<void> {
  const nsqd = await startNsqd(t, { msgTimeout: 1000, ...options });
  const port = nsqd.tcpEndpoint.port;
  const topic = 'orders';
  const ch = nsqd.getTopic(topic);
  ch.getChannel('line').setOrdered(true);
  ch.getChannel('control');
  const bodies = Array.from({ length: count }, (_, i) => `m${i}`);
  await publish(port, topic, bodies);
  const line = await consumers(t, port, topic, 'line', 1, 3);
  const control = await consumers(t, port, topic, 'control', 2, 3);
  await until(`${count} FINs on both channels`, 120_000, () => line.fins.length >= count && control.fins.length >= count);
  await line.stop();
  await control.stop();
  t.equal(line.fins.length, count, 'the ordered channel finished every message once');
  t.equal(firstDifference(line.fins, bodies), -1, `the ordered channel's FIN sequence is the publish sequence (${count} messages)`);
  t.not(firstDifference(control.fins, bodies), -1, 'control: on a normal channel the same consumers finish out of publish order');
  const st = await channelStats(nsqd, topic, 'line');
  t.ok(st !== undefined && st.requeue_count > 0 && st.timeout_count > 0, `the line saw REQs (${st?.requeue_count}) and timeouts (${st?.timeout_count})`);
}

t.test('10,000 messages through an ordered channel, 3 consumers, random REQ and timeouts', async (t) => {
  await orderedRun(t, {}, 10_000);
});

t.test('the same across a disk overflow (--mem-queue-size 100)', async (t) => {
  await orderedRun(t, { memQueueSize: 100 }, 10_000);
});

t.test('a clean restart with a disk overflow keeps the order (the head and memory go ahead of the disk queue)', async (t) => {
  const dataPath = tempDir(t);
  const bodies = Array.from({ length: 1000 }, (_, i) => `m${i}`);
  let nsqd: NSQD = await startNsqd(t, { dataPath, memQueueSize: 50 });
  nsqd.getTopic('t').getChannel('line').setOrdered(true);
  await publish(nsqd.tcpEndpoint.port, 't', bodies);
  // take 10, leave the 11th in flight (neither FIN nor REQ) when the node stops
  const fins: string[] = [];
  let held = '';
  const c = new Consumer({ topic: 't', channel: 'line', nsqdTcpAddresses: [`127.0.0.1:${nsqd.tcpEndpoint.port}`], maxInFlight: 1, autoFinish: false }, (m) => {
    if (fins.length < 10) {
      fins.push(m.body.toString());
      m.finish();
    } else held = m.body.toString();
  });
  c.events.error = () => {};
  await c.start();
  await until('10 FINs and one held', 10_000, () => held !== '');
  t.equal(held, 'm10', 'the 11th message is out when the node stops');
  await nsqd.stop();
  await c.stop(100);
  const dat = JSON.parse(readFileSync(join(dataPath, 'nsqd.dat'), 'utf8')) as { topics: { channels: { name: string; ordered?: boolean }[] }[] };
  t.equal(dat.topics[0]?.channels.find((x) => x.name === 'line')?.ordered, true, 'nsqd.dat keeps the channel ordered');
  nsqd = await startNsqd(t, { dataPath, memQueueSize: 50 });
  const st = await channelStats(nsqd, 't', 'line');
  t.equal(st?.ordered, true, 'ordered again after the restart');
  t.equal(st?.depth, 990, 'every message not finished is back');
  const after: string[] = [];
  const c2 = new Consumer({ topic: 't', channel: 'line', nsqdTcpAddresses: [`127.0.0.1:${nsqd.tcpEndpoint.port}`], maxInFlight: 3, autoFinish: false }, (m) => {
    after.push(m.body.toString());
    m.finish();
  });
  c2.events.error = () => {};
  await c2.start();
  t.teardown(() => c2.stop(100));
  await until('990 FINs', 20_000, () => after.length >= 990);
  t.equal(firstDifference([...fins, ...after], bodies), -1, 'FINs before and after the restart are the publish sequence');
});

t.test('POST /channel/config?ordered= and /stats', async (t) => {
  const nsqd = await startNsqd(t);
  const base = `http://127.0.0.1:${nsqd.httpEndpoint.port}`;
  const httpPost = async (url: string): Promise<{ status: number; body: string }> => {
    const res = await fetch(url, { method: 'POST' });
    return { status: res.status, body: await res.text() };
  };
  nsqd.getTopic('cfg').getChannel('c');
  const bad = await httpPost(`${base}/channel/config?topic=cfg&channel=c&ordered=yes`);
  t.same([bad.status, bad.body.trim()], [400, '{"message":"INVALID_ARG_ORDERED"}'], 'a value other than true/false/1/0 is refused');
  const ok = await httpPost(`${base}/channel/config?topic=cfg&channel=c&ordered=1`);
  t.equal(ok.status, 200);
  t.equal((JSON.parse(ok.body) as { ordered: boolean }).ordered, true, 'the answer says the channel is ordered');
  let st = await channelStats(nsqd, 'cfg', 'c');
  t.same([st?.ordered, st?.head_id], [true, ''], '/stats: ordered, no head while empty');
  await publish(nsqd.tcpEndpoint.port, 'cfg', ['a', 'b']);
  await delay(30);
  st = await channelStats(nsqd, 'cfg', 'c');
  t.equal(st?.head_id?.length, 16, '/stats: the head is the first message');
  t.ok((st?.head_age_ms ?? -1) >= 0, 'with its age');
  const off = await httpPost(`${base}/channel/config?topic=cfg&channel=c&ordered=false`);
  t.equal((JSON.parse(off.body) as { ordered: boolean }).ordered, false, 'and back to a normal channel');
});

t.test('--ordered-channel makes matching channels ordered from birth', async (t) => {
  const nsqd = await startNsqd(t, { orderedChannels: ['pay*/ledger'] });
  t.equal(nsqd.getTopic('payments').getChannel('ledger').ordered, true, 'payments/ledger matches');
  t.equal(nsqd.getTopic('payments').getChannel('audit').ordered, false, 'payments/audit does not');
  t.equal(nsqd.getTopic('orders').getChannel('ledger').ordered, false, 'orders/ledger does not');
});

t.test('--max-attempts: a poison head goes to the dead-letter topic and the line moves on', async (t) => {
  const nsqd = await startNsqd(t, { maxAttempts: 3 });
  nsqd.getTopic('jobs').getChannel('line').setOrdered(true);
  nsqd.getTopic('jobs.dead').getChannel('d');
  await publish(nsqd.tcpEndpoint.port, 'jobs', ['a', 'poison', 'b', 'c']);
  const fins: string[] = [];
  const seen: string[] = [];
  const c = new Consumer({ topic: 'jobs', channel: 'line', nsqdTcpAddresses: [`127.0.0.1:${nsqd.tcpEndpoint.port}`], maxInFlight: 10, autoFinish: false, maxBackoff: 0 }, (m) => {
    const body = m.body.toString();
    seen.push(`${body}#${m.attempts}`);
    if (body === 'poison') return m.requeue(0);
    fins.push(body);
    m.finish();
  });
  c.events.error = () => {};
  await c.start();
  t.teardown(() => c.stop(100));
  await until('the line to finish a, b and c', 10_000, () => fins.length === 3);
  t.same(fins, ['a', 'b', 'c'], 'the line finished everything but the poison message, in order');
  t.same(seen, ['a#1', 'poison#1', 'poison#2', 'poison#3', 'b#1', 'c#1'], 'the poison message was delivered again before anything after it, 3 times, then never again');
  const dead = await channelStats(nsqd, 'jobs.dead', 'd');
  t.equal(dead?.depth, 1, 'it waits in the dead-letter topic');
});

t.test('a DPUB joins the end of the line when it is due', async (t) => {
  const nsqd = await startNsqd(t);
  nsqd.getTopic('dp').getChannel('line').setOrdered(true);
  const port = nsqd.tcpEndpoint.port;
  const p = new Producer(`127.0.0.1:${port}`);
  await p.connect();
  await p.mpublish('dp', ['m0', 'm1', 'm2']);
  await p.deferredPublish('dp', 'late', 50);
  await p.mpublish('dp', ['m3']);
  await delay(150);
  await p.mpublish('dp', ['m4']);
  await p.close();
  const fins: string[] = [];
  const c = new Consumer({ topic: 'dp', channel: 'line', nsqdTcpAddresses: [`127.0.0.1:${port}`], maxInFlight: 10, autoFinish: false }, (m) => {
    fins.push(m.body.toString());
    m.finish();
  });
  c.events.error = () => {};
  await c.start();
  t.teardown(() => c.stop(100));
  await until('6 FINs', 10_000, () => fins.length === 6);
  t.same(fins, ['m0', 'm1', 'm2', 'm3', 'late', 'm4'], 'the deferred message took its place in line when it came due: after what was queued then, before what came later');
});

t.test('nsq serve: --ordered-channel in --config, /config/ordered_channels, and a bad value refused', async (t) => {
  const dir = tempDir(t);
  const config = join(dir, 'nsqd.toml');
  writeFileSync(config, 'ordered_channels = ["orders/ledger", "pay*/*"]\n');
  const s = spawnNsq(t, ['serve', `--config=${config}`, `--data-path=${dir}`, '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0']);
  const { http } = await serverPorts(s);
  const base = `http://127.0.0.1:${http}`;
  t.same(await (await fetch(`${base}/config/ordered_channels`)).json(), ['orders/ledger', 'pay*/*'], '/config reports the patterns');
  for (const path of ['/topic/create?topic=payments', '/channel/create?topic=payments&channel=x', '/topic/create?topic=orders', '/channel/create?topic=orders&channel=other']) await fetch(`${base}${path}`, { method: 'POST' });
  const stats = (await (await fetch(`${base}/stats?format=json`)).json()) as { topics: { topic_name: string; channels: { channel_name: string; ordered?: boolean }[] }[] };
  const ordered = (topic: string, ch: string): boolean | undefined => stats.topics.find((x) => x.topic_name === topic)?.channels.find((c) => c.channel_name === ch)?.ordered;
  t.same([ordered('payments', 'x'), ordered('orders', 'other')], [true, false], 'pay*/* matches payments/x; orders/ledger does not match orders/other');
  const bad = spawnNsq(t, ['serve', '--ordered-channel=orders', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0']);
  t.same((await bad.exit).code, 2, 'a pattern without /<channel> exits 2');
  t.equal(bad.stderr().trim(), 'nsq: invalid value "orders" for flag --ordered-channel: want <topic>/<channel>, * matching any characters', 'with one line saying why');
});

// Disk overflow in go-diskqueue's format, nsqd.dat, restart without loss, corruption and locking.

import { existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Connection, NsqError } from '../../src/client/connection.js';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import type { NSQD } from '../../src/nsqd/nsqd.js';
import { serverPorts, spawnNsq, startNsqd, tempDir } from '../helpers/nsqd.js';
import type { TopicStats } from '../../src/protocol/stats-json.js';

const tcp = (n: NSQD): string => `127.0.0.1:${n.tcpEndpoint.port}`;

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function consumeAll(t: { teardown(fn: () => unknown): void }, n: NSQD, topic: string, channel: string, count: number): Promise<string[]> {
  const got: string[] = [];
  const c = new Consumer({ topic, channel, nsqdTcpAddresses: [tcp(n)], maxInFlight: 100 }, (m) => {
    got.push(m.body.toString());
  });
  await c.start();
  t.teardown(() => c.stop());
  await until(() => got.length >= count);
  await c.stop();
  return got;
}

t.test('beyond --mem-queue-size messages go to disk, in nsqd file names, and come back in order', async (t) => {
  const dir = tempDir(t);
  const n = await startNsqd(t, { dataPath: dir, memQueueSize: 10 });
  n.getTopic('over').getChannel('c');
  const p = new Producer(tcp(n));
  t.teardown(() => p.close());
  await p.mpublish('over', Array.from({ length: 100 }, (_, i) => `m${i}`));
  const ch = n.getExistingTopic('over')!.getExistingChannel('c')!;
  t.equal(ch.depth, 100);
  t.equal(ch.backendDepth, 90);
  const stats = (await (await fetch(`http://127.0.0.1:${n.httpEndpoint.port}/stats?format=json&topic=over`)).json()) as { topics: TopicStats[] };
  t.same([stats.topics[0]!.channels[0]!.depth, stats.topics[0]!.channels[0]!.backend_depth], [100, 90], '/stats reports memory + disk');
  await new Promise((r) => setImmediate(r));
  t.ok(existsSync(join(dir, 'over:c.diskqueue.000000.dat')), 'channel queue file named <topic>:<channel>');
  const got = await consumeAll(t, n, 'over', 'c', 100);
  t.same(got, Array.from({ length: 100 }, (_, i) => `m${i}`), 'all 100, in order');
  t.equal(ch.backendDepth, 0);
});

t.test('a restart loses nothing: queued, in-flight and deferred come back; finished ones do not', async (t) => {
  const dir = tempDir(t);
  const first = await startNsqd(t, { dataPath: dir, memQueueSize: 5 });
  first.getTopic('keep').getChannel('c');
  first.getTopic('keep').getChannel('paused').pause();
  first.getTopic('waiting');
  const p = new Producer(tcp(first));
  await p.mpublish('keep', Array.from({ length: 20 }, (_, i) => `k${i}`));
  await p.deferredPublish('keep', 'later', 60_000);
  await p.mpublish('waiting', ['w1', 'w2']);
  await p.close();
  // finish 5, then hold 8 in flight (RDY 8), leaving 7 queued
  let seen = 0;
  const c = new Consumer({ topic: 'keep', channel: 'c', nsqdTcpAddresses: [tcp(first)], maxInFlight: 8, autoFinish: false }, (m) => {
    seen++;
    if (seen <= 5) m.finish();
  });
  await c.start();
  const ch = first.getExistingTopic('keep')!.getExistingChannel('c')!;
  await until(() => seen === 13 && ch.inFlightCount === 8);
  await first.stop();
  await c.stop(100);
  t.ok(existsSync(join(dir, 'nsqd.dat')));
  const meta = JSON.parse(readFileSync(join(dir, 'nsqd.dat'), 'utf8')) as { topics: { name: string; paused: boolean; channels: { name: string; paused: boolean }[] }[]; version: string };
  t.equal(meta.version, '1.3.0');
  t.same(meta.topics.find((x) => x.name === 'keep')!.channels, [
    { name: 'c', paused: false },
    { name: 'paused', paused: true },
  ]);

  const second = await startNsqd(t, { dataPath: dir, memQueueSize: 5 });
  const topic = second.getExistingTopic('keep');
  t.ok(topic, 'topic restored');
  t.ok(topic!.getExistingChannel('paused')!.paused, 'paused state restored');
  t.equal(second.getExistingTopic('waiting')!.depth, 2, 'a topic without channels keeps its messages');
  const restored = topic!.getExistingChannel('c')!;
  t.equal(restored.depth, 16, '7 queued + 8 in flight + 1 deferred');
  const got = await consumeAll(t, second, 'keep', 'c', 16);
  const expected = [...Array.from({ length: 15 }, (_, i) => `k${i + 5}`), 'later'];
  t.same([...got].sort(), [...expected].sort(), 'every unfinished message is delivered again, none of the finished');
  t.equal(topic!.getExistingChannel('paused')!.depth, 21, 'the paused channel kept all of its messages');
});

t.test('a data directory written in go-diskqueue format by Go nsqd is read, Go IDs included', async (t) => {
  const dir = tempDir(t);
  const records = ['from go 1', 'from go 2', 'from go 3'].map((body, i) => {
    const b = Buffer.alloc(26 + body.length);
    b.writeBigInt64BE(1_700_000_000_000_000_000n + BigInt(i), 0);
    b.writeUInt16BE(0, 8);
    b.write(`0e6f${'abcdef0123'}${i}0`.padEnd(16, 'f'), 10, 'latin1');
    b.write(body, 26);
    const rec = Buffer.alloc(4 + b.length);
    rec.writeInt32BE(b.length, 0);
    b.copy(rec, 4);
    return rec;
  });
  const data = Buffer.concat(records);
  writeFileSync(join(dir, 'legacy:ch.diskqueue.000000.dat'), data);
  writeFileSync(join(dir, 'legacy:ch.diskqueue.meta.dat'), `3\n0,0\n0,${data.length}\n`);
  writeFileSync(join(dir, 'nsqd.dat'), JSON.stringify({ topics: [{ name: 'legacy', paused: false, channels: [{ name: 'ch', paused: false }] }], version: '1.3.0' }));
  const n = await startNsqd(t, { dataPath: dir });
  t.equal(n.getExistingTopic('legacy')!.getExistingChannel('ch')!.depth, 3);
  const got = await consumeAll(t, n, 'legacy', 'ch', 3);
  t.same(got, ['from go 1', 'from go 2', 'from go 3'], 'delivered and FINed (IDs beyond 2^53 are reissued)');
  await until(() => n.getExistingTopic('legacy')!.getExistingChannel('ch')!.inFlightCount === 0);
});

t.test('a corrupt segment is set aside as .bad and the queue carries on', async (t) => {
  const dir = tempDir(t);
  const good = Buffer.alloc(4 + 26 + 2);
  good.writeInt32BE(28, 0);
  good.write('ok', 30);
  const bad = Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3]);
  writeFileSync(join(dir, 'broken:c.diskqueue.000000.dat'), bad);
  writeFileSync(join(dir, 'broken:c.diskqueue.000001.dat'), good);
  writeFileSync(join(dir, 'broken:c.diskqueue.meta.dat'), `2\n0,0\n1,${good.length}\n`);
  writeFileSync(join(dir, 'nsqd.dat'), JSON.stringify({ topics: [{ name: 'broken', paused: false, channels: [{ name: 'c', paused: false }] }], version: '1.3.0' }));
  const n = await startNsqd(t, { dataPath: dir });
  const got = await consumeAll(t, n, 'broken', 'c', 1);
  t.same(got, ['ok']);
  t.ok(readdirSync(dir).includes('broken:c.diskqueue.000000.dat.bad'), 'the bad file is kept for inspection');
  const res = await fetch(`http://127.0.0.1:${n.httpEndpoint.port}/ping`);
  t.equal(await res.text(), 'OK', 'the server keeps serving');
});

t.test('empty and delete remove what is on disk', async (t) => {
  const dir = tempDir(t);
  const n = await startNsqd(t, { dataPath: dir, memQueueSize: 1 });
  n.getTopic('gone').getChannel('c');
  const p = new Producer(tcp(n));
  t.teardown(() => p.close());
  await p.mpublish('gone', ['1', '2', '3', '4']);
  await new Promise((r) => setImmediate(r));
  t.ok(existsSync(join(dir, 'gone:c.diskqueue.000000.dat')));
  const base = `http://127.0.0.1:${n.httpEndpoint.port}`;
  await fetch(`${base}/channel/empty?topic=gone&channel=c`, { method: 'POST' });
  const ch = n.getExistingTopic('gone')!.getExistingChannel('c')!;
  t.same([ch.depth, ch.backendDepth], [0, 0]);
  t.notOk(existsSync(join(dir, 'gone:c.diskqueue.000000.dat')), 'emptied on disk too');
  await p.mpublish('gone', ['5', '6', '7']);
  await new Promise((r) => setImmediate(r));
  await fetch(`${base}/topic/delete?topic=gone`, { method: 'POST' });
  await new Promise((r) => setImmediate(r));
  t.same(readdirSync(dir).filter((f) => f.startsWith('gone')), [], 'no files left');
});

t.test('two servers cannot share a data path', async (t) => {
  const dir = tempDir(t);
  await startNsqd(t, { dataPath: dir });
  await t.rejects(startNsqd(t, { dataPath: dir }), /failed to lock data-path/);
  const first = spawnNsq(t, ['serve', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--data-path=${join(dir, 'sub')}`]);
  await serverPorts(first);
  const second = spawnNsq(t, ['serve', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--data-path=${join(dir, 'sub')}`]);
  t.equal((await second.exit).code, 1);
  t.match(second.stderr(), /nsq: failed to lock data-path: .* is in use by another nsqd \(pid \d+\)/);
  first.child.kill('SIGTERM');
  t.equal((await first.exit).code, 0);
  const unwritable = spawnNsq(t, ['serve', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--data-path=/proc/nope']);
  t.equal((await unwritable.exit).code, 1);
  t.match(unwritable.stderr(), /nsq: failed to lock data-path: \/proc\/nope is not a writable directory/);
});

t.test('SIGTERM writes everything to disk and a restarted server delivers it', async (t) => {
  const dir = tempDir(t);
  const args = ['serve', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--data-path=${dir}`, '--mem-queue-size=100'];
  const s1 = spawnNsq(t, args);
  const p1 = await serverPorts(s1);
  await fetch(`http://127.0.0.1:${p1.http}/channel/create?topic=sig&channel=c`, { method: 'POST' }).catch(() => undefined);
  await fetch(`http://127.0.0.1:${p1.http}/topic/create?topic=sig`, { method: 'POST' });
  await fetch(`http://127.0.0.1:${p1.http}/channel/create?topic=sig&channel=c`, { method: 'POST' });
  const body = Array.from({ length: 500 }, (_, i) => `s${i}`).join('\n');
  const res = await fetch(`http://127.0.0.1:${p1.http}/mpub?topic=sig`, { method: 'POST', body });
  t.equal(res.status, 200);
  s1.child.kill('SIGTERM');
  t.equal((await s1.exit).code, 0);
  const s2 = spawnNsq(t, args);
  const p2 = await serverPorts(s2);
  const stats = (await (await fetch(`http://127.0.0.1:${p2.http}/stats?format=json&topic=sig`)).json()) as { topics: TopicStats[] };
  t.equal(stats.topics[0]!.channels[0]!.depth, 500, 'all 500 are back after the restart');
  s2.child.kill('SIGTERM');
  await s2.exit;
});

t.test('a full disk: E_PUB_FAILED to the publisher, NOK on /ping, everyone else still served', async (t) => {
  const dir = tempDir(t);
  // every write to this topic's queue file lands on /dev/full: ENOSPC
  symlinkSync('/dev/full', join(dir, 'full.diskqueue.000000.dat'));
  const n = await startNsqd(t, { dataPath: dir, memQueueSize: 0 });
  const conn = await Connection.open({ host: '127.0.0.1', port: n.tcpEndpoint.port });
  const err = await conn.publish('full', 'x').catch((e: unknown) => e);
  t.ok(err instanceof NsqError);
  t.equal((err as NsqError).code, 'E_PUB_FAILED');
  t.match((err as NsqError).message, /^E_PUB_FAILED PUB failed ENOSPC/);
  const base = `http://127.0.0.1:${n.httpEndpoint.port}`;
  const ping = await fetch(`${base}/ping`);
  t.equal(ping.status, 500);
  t.match(await ping.text(), /^NOK - ENOSPC/);
  const http = await fetch(`${base}/pub?topic=full`, { method: 'POST', body: 'y' });
  t.equal(http.status, 503);
  const p = new Producer(tcp(n));
  t.teardown(() => p.close());
  await p.publish('fine', 'still works');
  t.equal(n.getExistingTopic('fine')!.depth, 1, 'other topics are unaffected');
});

// A PUB that stays in memory is answered before it is stored (docs/scaling.md); the one that
// would go to the disk must still wait for the disk and hear its refusal.
for (const where of ['the topic (no channel yet)', 'a channel'] as const) {
  t.test(`one PUB at a time into ${where} at --mem-queue-size: OK while it fits in memory, E_PUB_FAILED once it would go to a refusing disk`, async (t) => {
    const dir = tempDir(t);
    const file = where === 'a channel' ? 'early:c.diskqueue.000000.dat' : 'early.diskqueue.000000.dat';
    symlinkSync('/dev/full', join(dir, file));
    const n = await startNsqd(t, { dataPath: dir, memQueueSize: 2 });
    const topic = n.getTopic('early');
    if (where === 'a channel') topic.getChannel('c');
    const conn = await Connection.open({ host: '127.0.0.1', port: n.tcpEndpoint.port });
    t.teardown(() => conn.close());
    // each waits for its answer, as a producer that sends one PUB at a time does
    t.equal(await conn.publish('early', 'a'), undefined, 'the first is answered OK');
    t.equal(await conn.publish('early', 'b'), undefined, 'the second fills memory and is answered OK');
    const err = await conn.publish('early', 'c').catch((e: unknown) => e);
    t.ok(err instanceof NsqError, 'the third, bound for the disk, is refused');
    t.equal((err as NsqError).code, 'E_PUB_FAILED');
    const sub = await Connection.open({ host: '127.0.0.1', port: n.tcpEndpoint.port });
    t.teardown(() => sub.close());
    const got: string[] = [];
    sub.events.message = (m) => {
      got.push(m.body.toString());
      sub.finish(m.id);
    };
    await sub.subscribe('early', 'c');
    sub.ready(10);
    await until(() => got.length >= 2);
    await sub.publish('other', 'x');
    t.same(got, ['a', 'b'], 'both acknowledged messages are delivered (the control: what this test would see lost), the refused one is not');
  });
}

t.test('an MPUB the disk refuses is taken back whole: none of it is delivered, not even the part that fit in memory', async (t) => {
  const dir = tempDir(t);
  // the channel's queue file is a device that answers every write with ENOSPC
  symlinkSync('/dev/full', join(dir, 'mp:c.diskqueue.000000.dat'));
  const n = await startNsqd(t, { dataPath: dir, memQueueSize: 1 });
  n.getTopic('mp').getChannel('c');
  const conn = await Connection.open({ host: '127.0.0.1', port: n.tcpEndpoint.port });
  t.teardown(() => conn.close());
  const err = await conn.mpublish('mp', ['a', 'b', 'c']).catch((e: unknown) => e);
  t.equal((err as NsqError).code, 'E_MPUB_FAILED', 'the publisher is told');
  t.equal(n.getExistingTopic('mp')!.getExistingChannel('c')!.depth, 0, 'the channel holds none of the three');
  const sub = await Connection.open({ host: '127.0.0.1', port: n.tcpEndpoint.port });
  t.teardown(() => sub.close());
  const got: string[] = [];
  sub.events.message = (m) => got.push(m.body.toString());
  await sub.subscribe('mp', 'c');
  sub.ready(10);
  // a message published afterwards to another topic's channel shows the consumer's round trip is done
  await sub.publish('other', 'x');
  t.same(got, [], 'a consumer receives nothing (a retrying publisher would otherwise get duplicates)');
});

t.test('a disk queue whose writes the disk refuses keeps its records and hands them to readers from memory', async (t) => {
  const { DiskQueue } = await import('../../src/nsqd/disk-queue.js');
  const { Logger } = await import('../../src/util/log.js');
  const dir = tempDir(t);
  symlinkSync('/dev/full', join(dir, 'dq.diskqueue.000000.dat'));
  const errors: string[] = [];
  const opts = { dataPath: dir, maxBytesPerFile: 1 << 20, minMsgSize: 1, maxMsgSize: 1024, syncEvery: 2, syncTimeout: 1_000_000, logger: new Logger('fatal', ''), onError: (e: Error) => errors.push(e.message) };
  const q = new DiskQueue('dq', opts);
  t.teardown(() => q.delete());
  // syncEvery 2: the second put writes (and fails) at once, the third finds the queue failing
  for (const s of ['r1', 'r2', 'r3']) q.put(Buffer.from(s));
  t.match(errors, [/^ENOSPC/], 'the refusal is reported once, not thrown');
  t.ok(q.failing, 'the queue says it is failing');
  t.equal(q.depth, 3);
  const got: string[] = [];
  for (let b = q.shift(); b !== null; b = q.shift()) got.push(b.toString());
  t.same(got, ['r1', 'r2', 'r3'], 'reading catches up with the refused writes: served from memory, in order, no throw');
  t.equal(q.depth, 0);
});

t.test('after a crash, records past the saved metadata are cut off and new records read back exactly', async (t) => {
  const { DiskQueue } = await import('../../src/nsqd/disk-queue.js');
  const { Logger } = await import('../../src/util/log.js');
  const dir = tempDir(t);
  const opts = { dataPath: dir, maxBytesPerFile: 1 << 20, minMsgSize: 1, maxMsgSize: 1024, syncEvery: 1_000_000, syncTimeout: 1_000_000, logger: new Logger('fatal', '') };
  const q1 = new DiskQueue('crashy', opts);
  for (let i = 0; i < 5; i++) q1.put(Buffer.from(`old${i}`));
  q1.close(); // metadata says 5 records
  // the crash: more records reached the file, the metadata never learned of them
  const { appendFileSync } = await import('node:fs');
  const rec = (s: string): Buffer => Buffer.concat([Buffer.from([0, 0, 0, s.length]), Buffer.from(s)]);
  appendFileSync(join(dir, 'crashy.diskqueue.000000.dat'), Buffer.concat([rec('lost1'), rec('lost2')]));
  writeFileSync(join(dir, 'crashy.diskqueue.000001.dat'), rec('lost3'));
  const q2 = new DiskQueue('crashy', opts);
  t.teardown(() => q2.close());
  t.equal(q2.depth, 5);
  for (let i = 0; i < 3; i++) q2.put(Buffer.from(`new${i}`));
  const got: string[] = [];
  for (let b = q2.shift(); b !== null; b = q2.shift()) got.push(b.toString());
  t.same(got, ['old0', 'old1', 'old2', 'old3', 'old4', 'new0', 'new1', 'new2'], 'the saved records, then the new ones, in order');
  t.notOk(existsSync(join(dir, 'crashy.diskqueue.000001.dat.bad')), 'nothing was taken for a corrupt file');
});

t.test('the periodic sync runs in the background and its metadata describes what was synced (a restart after a crash resumes there)', async (t) => {
  const { DiskQueue } = await import('../../src/nsqd/disk-queue.js');
  const { Logger } = await import('../../src/util/log.js');
  const dir = tempDir(t);
  const opts = { dataPath: dir, maxBytesPerFile: 2000, minMsgSize: 1, maxMsgSize: 1024, syncEvery: 7, syncTimeout: 50, logger: new Logger('fatal', '') };
  const q = new DiskQueue('bg', opts);
  t.teardown(() => q.delete());
  for (let i = 0; i < 300; i++) q.put(Buffer.from(`m${String(i).padStart(3, '0')}`)); // rolls files of 2000 bytes
  for (let i = 0; i < 120; i++) q.shift();
  // no close: as after a kill -9, only what the background syncs wrote is there
  const meta = join(dir, 'bg.diskqueue.meta.dat');
  const deadline = Date.now() + 3000;
  while (!(existsSync(meta) && readFileSync(meta, 'utf8').startsWith('180\n'))) {
    if (Date.now() > deadline) t.fail(`metadata did not catch up: ${existsSync(meta) ? readFileSync(meta, 'utf8') : 'none'}`);
    if (Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  t.notOk(readdirSync(dir).some((f) => f.endsWith('.tmp')), 'no temporary metadata files left');
  const again = new DiskQueue('bg', opts);
  t.equal(again.depth, 180, 'a restart sees the synced depth');
  const got: string[] = [];
  for (let b = again.shift(); b !== null; b = again.shift()) got.push(b.toString());
  t.same(got, Array.from({ length: 180 }, (_, i) => `m${String(i + 120).padStart(3, '0')}`), 'and resumes at the synced read position');
  again.close();
});

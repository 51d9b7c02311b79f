// The engine's data structures: ring queue, deferred heap, in-flight table, timeout FIFO.

import t from 'tap';
import { MessageQueue } from '../../src/nsqd/message-queue.js';
import { DeferredHeap, TimeoutFifo } from '../../src/nsqd/pqueue.js';
import { InFlightTable } from '../../src/nsqd/inflight.js';
import { Message, MSG_DONE, MSG_IN_FLIGHT } from '../../src/nsqd/message.js';
import type { Client } from '../../src/nsqd/client.js';

const body = Buffer.from('x');
const msg = (id: number): Message => new Message(id, 0, body, 0, 1);

t.test('message queue keeps FIFO order and every field across growth and wrap-around', async (t) => {
  const q = new MessageQueue(4);
  const bufs = [Buffer.from('aaaa'), Buffer.from('bbbb')];
  let next = 0;
  let expect = 0;
  for (let round = 0; round < 1000; round++) {
    const pushes = Math.floor(Math.random() * 10);
    for (let i = 0; i < pushes; i++, next++) q.push(2 ** 40 + next, next * 1e6 + 0.5, next % 70000, bufs[next % 2]!, next % 4, 1);
    const shifts = Math.floor(Math.random() * 10);
    for (let i = 0; i < shifts && q.length > 0; i++, expect++) {
      const m = q.shift()!;
      if (m.id !== 2 ** 40 + expect || m.timestamp !== expect * 1e6 + 0.5 || m.attempts !== Math.min(65535, expect % 70000)) return t.fail(`wrong message at ${expect}`);
      if (m.body !== bufs[expect % 2] || m.bodyStart !== expect % 4 || m.bodyLength !== 1) return t.fail(`wrong body at ${expect}`);
    }
  }
  t.equal(q.length, next - expect);
  q.clear();
  t.equal(q.length, 0);
  t.equal(q.shift(), undefined);
  const m = new Message(7, 1, bufs[0]!, 0, 4);
  m.attempts = 3;
  q.pushMessage(m);
  const back = q.shift()!;
  t.same([back.id, back.attempts, back.bodyBuffer().toString()], [7, 3, 'aaaa'], 'a requeued message keeps its attempts');
});

t.test('message queue: runs of alike messages give back every field, against a plain array model', async (t) => {
  // publishes as the engine makes them (MPUB batches: one buffer, consecutive IDs, one timestamp;
  // single PUBs: each its own timestamp; requeues: an old ID with attempts), then shift, peek,
  // truncate, drain, minId and forEachId compared with an array of the same messages
  type M = [id: number, ts: number, attempts: number, buf: Buffer, start: number, length: number];
  let seed = 7;
  const rand = (n: number): number => {
    // mulberry32: a seeded generator, so a failure can be replayed
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) % n;
  };
  const slabs = [Buffer.alloc(64), Buffer.alloc(64), Buffer.alloc(64)];
  const q = new MessageQueue(4);
  const model: M[] = [];
  let nextId = 2 ** 45;
  let now = 1.7e18;
  let packed = Buffer.alloc(1 << 16);
  let packedAt = 0;
  const fields = (m: Message): M => [m.id, m.timestamp, m.attempts, m.body, m.bodyStart, m.bodyLength];
  for (let round = 0; round < 3000; round++) {
    const op = rand(10);
    if (op < 3) {
      const n = 1 + rand(30);
      const ts = rand(3) === 0 ? now : (now += 256 * (1 + rand(5000)));
      if (rand(3) > 0) {
        // an MPUB as the body store keeps it: each body after its 4-byte size, back to back
        // into one shared buffer: a batch may follow the previous one directly (joining its run
        // when its timestamp is the same) or after a gap
        if (packedAt > packed.length - 2000) [packed, packedAt] = [Buffer.alloc(1 << 16), 0];
        const buf = packed;
        const lengths = Array.from({ length: n }, () => rand(9));
        let at = packedAt + rand(2) * 4;
        for (const l of lengths) {
          buf.writeInt32BE(l, at);
          model.push([nextId++, ts, 0, buf, at + 4, l]);
          at += 4 + l;
        }
        packedAt = at;
      } else {
        const buf = slabs[rand(3)]!;
        for (let k = 0; k < n; k++) model.push([nextId++, ts, 0, buf, rand(60), 1 + rand(4)]);
      }
      for (const m of model.slice(-n)) q.push(...m);
    } else if (op < 5) {
      const m: M = [nextId++, (now += 256 * rand(2 ** 24)), 0, slabs[rand(3)]!, rand(60), 1];
      if (rand(20) === 0) m[1] = now + 2 ** 33; // further than an offset reaches
      if (rand(20) === 0) m[2] = 70_000; // attempts saturate
      model.push(m);
      q.push(...m);
      if (m[2] > 65535) m[2] = 65535;
    } else if (op < 6 && model.length > 0) {
      const m = model.shift()!;
      t.same(fields(q.shift()!), m);
      const again: M = [m[0], m[1], m[2] + 1, m[3], m[4], m[5]];
      model.push(again);
      q.push(...again);
    } else if (op < 8) {
      for (let k = rand(20); k > 0 && model.length > 0; k--) {
        const got = q.shift();
        const want = model.shift();
        if (got === undefined || want === undefined) return t.fail('queue ran out before the model');
        const f = fields(got);
        if (f.some((v, j) => v !== want[j])) return t.fail(`round ${round}: got ${f.slice(0, 3).join()} want ${want.slice(0, 3).join()}`);
      }
    } else if (op < 9) {
      const keep = rand(model.length + 1);
      model.length = keep;
      q.truncate(keep);
    } else {
      const n = rand(40);
      const seen: M[] = [];
      q.peek(n, (...f) => seen.push(f));
      if (seen.length !== Math.min(n, model.length) || seen.some((f, j) => f.some((v, x) => v !== model[j]![x]))) return t.fail(`round ${round}: peek differs`);
      const ids: number[] = [];
      q.forEachId((id) => ids.push(id));
      if (ids.join() !== model.map((m) => m[0]).join()) return t.fail(`round ${round}: forEachId differs`);
      t.equal(q.minId(), model.length === 0 ? Infinity : Math.min(...model.map((m) => m[0])), 'minId');
    }
    if (q.length !== model.length) return t.fail(`round ${round}: length ${q.length}, model ${model.length}`);
  }
  const rest: M[] = [];
  q.drain((...f) => rest.push(f));
  t.same(rest, model, 'drain hands over the rest in order');
  t.equal(q.length, 0);
});

t.test('message queue: a packed run cut short by truncate takes no more, even the same IDs again', async (t) => {
  // three bodies after their sizes, as an MPUB's; the publish fails after the first and the same
  // IDs come again laid out after the third: the second must be read where it is now
  const buf = Buffer.alloc(64);
  const put = (at: number, text: string): number => (buf.writeInt32BE(text.length, at), buf.write(text, at + 4), at + 4);
  const q = new MessageQueue();
  q.push(1, 5, 0, buf, put(0, 'aa'), 2);
  q.push(2, 5, 0, buf, put(6, 'bb'), 2);
  q.push(3, 5, 0, buf, put(12, 'cc'), 2);
  q.truncate(1);
  q.push(2, 5, 0, buf, put(18, 'dd'), 2);
  const bodies: string[] = [];
  q.drain((id, _ts, _a, b, start, length) => bodies.push(`${id}:${b.toString('latin1', start, start + length)}`));
  t.same(bodies, ['1:aa', '2:dd']);
});

t.test('message queue gives a drained deep backlog back and works again after', async (t) => {
  const q = new MessageQueue();
  t.equal(q.shift(), undefined, 'a new queue is empty (no columns yet)');
  t.equal(q.minId(), Infinity);
  for (let round = 0; round < 3; round++) {
    // past the release size (4096), then drained by shift, truncate, drain or clear
    for (let i = 0; i < 10_000; i++) q.push(i, i, 0, body, 0, 1);
    t.equal(q.length, 10_000);
    if (round === 0) for (let i = 0; i < 10_000; i++) q.shift();
    if (round === 1) q.truncate(0);
    if (round === 2) {
      let n = 0;
      q.drain((id) => {
        if (id === n) n++;
      });
      t.equal(n, 10_000, 'drain hands over every message in order');
    }
    t.equal(q.length, 0);
    q.push(42, 1, 2, body, 0, 1);
    const m = q.shift()!;
    t.same([m.id, m.timestamp, m.attempts], [42, 1, 2], `usable again after round ${round}`);
  }
});

t.test('deferred heap pops in due order and only when due', async (t) => {
  const h = new DeferredHeap();
  const deadlines = Array.from({ length: 500 }, () => Math.random() * 1000);
  deadlines.forEach((d, i) => {
    const m = msg(i);
    m.deadline = d;
    h.push(m);
  });
  t.equal(h.popDue(-1), undefined, 'nothing due before the earliest deadline');
  const popped: number[] = [];
  for (let m = h.popDue(2000); m !== undefined; m = h.popDue(2000)) popped.push(m.deadline);
  t.same(popped, [...deadlines].sort((a, b) => a - b));
});

t.test('in-flight table finds every message, collisions included', async (t) => {
  const table = new InFlightTable(8);
  const ids = [1, 9, 17, 2 ** 40 + 1, 5, 1000, 2 ** 52 + 9];
  for (const id of ids) table.add(msg(id));
  for (let i = 2000; i < 2300; i++) table.add(msg(i));
  t.equal(table.size, ids.length + 300);
  for (const id of ids) t.equal(table.get(id)?.id, id);
  t.equal(table.get(3), undefined);
  t.equal(table.take(9)?.id, 9);
  t.equal(table.take(9), undefined, 'taken once');
  t.equal(table.get(17)?.id, 17, 'collision partner still found');
  t.equal(table.size, ids.length + 299);
  t.equal(table.drain().length, ids.length + 299);
  t.equal(table.size, 0);
});

t.test('timeout FIFO expires live entries only, in order', async (t) => {
  const owner = {} as Client;
  const other = {} as Client;
  const fifo = new TimeoutFifo();
  const ms = [msg(1), msg(2), msg(3), msg(4)];
  ms.forEach((m, i) => {
    m.state = MSG_IN_FLIGHT;
    m.owner = owner;
    m.deadline = 10 * (i + 1);
    fifo.push(m, m.deadline, i);
  });
  ms[0]!.state = MSG_DONE; // finished
  ms[1]!.owner = other; // now someone else's
  ms[2]!.deadline = 100; // touched: the old entry is stale
  fifo.push(ms[2]!, 100, 4);
  t.equal(fifo.popExpired(5, owner), undefined, 'nothing expired yet');
  t.equal(fifo.popExpired(45, owner)?.id, 4, 'stale and foreign entries skipped');
  t.equal(fifo.popExpired(45, owner), undefined);
  t.equal(fifo.popExpired(100, owner)?.id, 3, 'touched message expires at its new deadline');
  t.equal(fifo.length, 0);
});

t.test('timeout FIFO compacts instead of growing without bound', async (t) => {
  const owner = {} as Client;
  const fifo = new TimeoutFifo();
  const stuck = msg(0);
  stuck.state = MSG_IN_FLIGHT;
  stuck.owner = owner;
  stuck.deadline = 1e12;
  fifo.push(stuck, stuck.deadline, 0);
  for (let i = 1; i < 100_000; i++) {
    const m = msg(i);
    m.state = MSG_DONE;
    fifo.push(m, i, 1);
  }
  t.ok(fifo.length < 1000, `finished entries behind a stuck one are compacted (length ${fifo.length})`);
});

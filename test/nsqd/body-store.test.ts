// The body store: every kept body is copied into shared slabs once, and an MPUB batch in runs of
// whole messages, so no run crosses a slab's end. Checked on the store itself and end to end: bodies
// of every size, published as PUBs and MPUBs cut into random socket writes, come back byte for byte
// and in order.

import t from 'tap';
import { BodyStore, OWN_BUFFER } from '../../src/nsqd/body-store.js';
import { FRAME_TYPE_MESSAGE, FRAME_TYPE_RESPONSE } from '../../src/protocol/constants.js';
import { decodeMessage, encodeCommand, encodeMpub, encodePub } from '../../src/protocol/encoders.js';
import { startNsqd } from '../helpers/nsqd.js';
import { mpubBody, RawConn } from '../helpers/raw.js';

/** a deterministic generator, so a failure can be replayed */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

function body(rand: (n: number) => number, size: number, tag: number): Buffer {
  // distinct at both ends and in between, so a body cut short or shifted is seen
  const b = Buffer.alloc(size, tag & 0xff);
  b[size - 1] = rand(256);
  b[size >> 1] = rand(256);
  if (size >= 4) b.writeUInt32BE(tag >>> 0, 0);
  return b;
}

t.test('an MPUB batch goes in as runs of whole messages, none across a slab end', async (t) => {
  const SLAB = 256 * 1024;
  const rand = rng(7);
  const store = new BodyStore();
  const slabs = new Set<ArrayBufferLike>();
  const faults: string[] = [];
  let messages = 0;
  let runs = 0;
  let slab: Buffer | null = null;
  let used = 0;
  for (let batch = 0; batch < 200; batch++) {
    const count = 1 + rand(300);
    const bodies = Array.from({ length: count }, (_, i) => body(rand, rand(100) === 0 ? 1 + rand(300_000) : 1 + rand(2000), batch * 1000 + i));
    const src = mpubBody(bodies);
    let from = 4;
    let left = count;
    const got: Buffer[] = [];
    while (left > 0) {
      const to = store.runEnd(src, from, left);
      if (to <= from) faults.push(`batch ${batch}: an empty run`);
      const at = store.copyRun(src, from, to);
      const b = store.buffer;
      if (to - from <= SLAB) {
        if (at + (to - from) > b.length) faults.push(`batch ${batch}: a run past its slab's end`);
        if (b !== slab) {
          // a fresh slab only when not even the run's first message fitted the one before
          if (slab !== null && SLAB - used >= 4 + src.readInt32BE(from)) faults.push(`batch ${batch}: a fresh slab with ${SLAB - used} bytes left in the last`);
          slab = b;
          slabs.add(b.buffer);
        }
        used = (at + (to - from) + 7) & ~7;
      } else if (b.length !== to - from) {
        faults.push(`batch ${batch}: a message bigger than a slab is not in a buffer of its own`);
      }
      for (let pos = at; pos < at + (to - from); left--) {
        const size = b.readInt32BE(pos);
        got.push(Buffer.from(b.subarray(pos + 4, pos + 4 + size)));
        pos += 4 + size;
      }
      from = to;
      runs++;
    }
    if (from !== src.length) faults.push(`batch ${batch}: the runs end at ${from} of ${src.length}`);
    if (!got.every((g, i) => g.equals(bodies[i]!))) faults.push(`batch ${batch}: a body changed`);
    messages += count;
  }
  t.same(faults.slice(0, 5), [], 'every run is whole messages, inside one slab, and a slab is left only when full');
  t.ok(runs > 200 && slabs.size > 10, `${messages} messages in ${runs} runs over ${slabs.size} slabs: batches were split at slab ends`);
});

t.test('single bodies: small ones share slabs, big ones get their own buffer', async (t) => {
  const store = new BodyStore();
  const small = Buffer.alloc(100, 1);
  const a = store.copy(small, 0, 100);
  const slab = store.buffer;
  const b = store.copy(small, 0, 100);
  t.equal(store.buffer, slab, 'two small bodies share a slab');
  t.equal(b, a + 104, 'the next body starts 8-byte aligned right after');
  const big = Buffer.alloc(OWN_BUFFER, 2);
  t.equal(store.copy(big, 0, big.length), 0);
  t.equal(store.buffer.length, OWN_BUFFER, 'a big body has a buffer of its own');
  t.ok(store.buffer.equals(big));
});

t.test('bodies of every size survive PUB and MPUB cut into random writes, in order', async (t) => {
  const nsqd = await startNsqd(t, { maxMsgSize: 400_000, maxBodySize: 64_000_000 });
  const rand = rng(11);
  const expected: Buffer[] = [];
  const wire: Buffer[] = [];
  let tag = 0;
  let commands = 0;
  for (let i = 0; i < 120; i++) {
    if (rand(3) === 0) {
      const b = body(rand, 1 + (rand(8) === 0 ? rand(100_000) : rand(3000)), tag++);
      expected.push(b);
      wire.push(encodePub('bodies', b));
    } else {
      const count = 1 + rand(250);
      const bodies = Array.from({ length: count }, () => body(rand, 1 + (rand(40) === 0 ? rand(300_000) : rand(1200)), tag++));
      expected.push(...bodies);
      wire.push(encodeMpub('bodies', bodies));
    }
    commands++;
  }
  const all = Buffer.concat(wire);
  const pub = await RawConn.open(nsqd.tcpEndpoint.port);
  t.teardown(() => pub.close());
  pub.socket.setNoDelay(true);
  for (let pos = 0; pos < all.length; ) {
    const n = 1 + rand(rand(4) === 0 ? 20 : 90_000);
    await new Promise<void>((resolve, reject) => pub.socket.write(all.subarray(pos, pos + n), (err) => (err ? reject(err) : resolve())));
    pos += n;
  }
  for (let i = 0; i < commands; i++) {
    const f = await pub.next(10_000);
    if (f?.type !== FRAME_TYPE_RESPONSE || f.text !== 'OK') {
      t.fail(`command ${i} answered ${f === null ? 'by a close' : f.text}`);
      return;
    }
  }
  t.pass(`${commands} commands (${expected.length} messages, ${(all.length / 1e6).toFixed(1)} MB) answered OK`);

  const sub = await RawConn.open(nsqd.tcpEndpoint.port);
  t.teardown(() => sub.close());
  sub.send(encodeCommand('SUB', 'bodies', 'c'));
  t.equal((await sub.next())?.text, 'OK', 'SUB');
  sub.send(encodeCommand('RDY', 100));
  let wrong = -1;
  for (let i = 0; i < expected.length; i++) {
    const f = await sub.next(10_000);
    if (f?.type !== FRAME_TYPE_MESSAGE) {
      t.fail(`message ${i}: got ${f === null ? 'a close' : f.text}`);
      return;
    }
    const m = decodeMessage(f.data, 0, f.data.length);
    if (wrong === -1 && !m.body.equals(expected[i]!)) wrong = i;
    sub.send(encodeCommand('FIN', m.id));
  }
  t.equal(wrong, -1, `all ${expected.length} bodies delivered intact and in publish order`);
});

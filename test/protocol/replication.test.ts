// The replication link's frames: the same frames however the bytes are split, and a peer's bad
// input (checksum, size, type, payload, file names, torn batches) stops the decoder with a coded
// error, never an exception, with nothing after it decoded.

import t from 'tap';
import { crc32 } from 'node:zlib';
import {
  E_REPL_CHECKSUM,
  E_REPL_FRAME,
  E_REPL_PAYLOAD,
  ReplFrameDecoder,
  checkBatches,
  encodeAppend,
  encodeError,
  encodeFrame,
  encodeJson,
  encodeMeta,
  encodePing,
  encodeRemove,
  encodeSeq,
  T_APPEND,
  T_CLAIM,
  T_COMMIT,
  T_CONFIRM,
  T_FETCH,
  T_HELLO,
  T_RELEASE,
  T_REMOVE,
  T_STATE,
  T_TAKEN_OK,
  type ReplFrame,
  type ReplicationProtocolError,
} from '../../src/protocol/replication.js';

/** A segment-log batch as the journal writes it. */
function batch(payload: Buffer): Buffer {
  const b = Buffer.allocUnsafe(8 + payload.length);
  b.writeUInt32BE(payload.length, 0);
  b.writeUInt32BE(crc32(payload), 4);
  payload.copy(b, 8);
  return b;
}

class Recorder {
  frames: string[] = [];
  errors: ReplicationProtocolError[] = [];
  onReplFrame(f: ReplFrame): void {
    // copy out what the frame shows: an APPEND's bytes are a view valid only during the call
    const o: Record<string, unknown> = { ...f };
    if ('bytes' in f) o.bytes = f.bytes.toString('hex');
    this.frames.push(JSON.stringify(o));
  }
  onReplError(err: ReplicationProtocolError): void {
    this.errors.push(err);
  }
}

function decode(chunks: Buffer[]): Recorder {
  const r = new Recorder();
  const d = new ReplFrameDecoder(r);
  for (const c of chunks) d.push(c);
  return r;
}

/** A small deterministic PRNG, so a failing split can be reproduced. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const two = Buffer.concat([batch(Buffer.from('first batch')), batch(Buffer.alloc(70_000, 3))]);
const stream = Buffer.concat([
  encodeJson(T_HELLO, { version: 1, name: 'a:4150', incarnation: '12ab', replicas: ['b:4150'], restore: false }),
  encodeJson(T_STATE, { incarnation: '12ab', files: { 'orders.journal.000000.dat': 0 }, confirmed: 0 }),
  encodeAppend(1, 'orders.journal.000000.dat', 0, two),
  encodeAppend(1, 'orders:billing.acks.000003.dat', 4096, batch(Buffer.alloc(8, 1))),
  encodeRemove(1, 'orders.journal.000000.dat'),
  encodeMeta(1, { topics: [{ name: 'orders', paused: false, channels: [{ name: 'billing', start_id: 7 }] }] }),
  encodeSeq(T_COMMIT, 1),
  encodeSeq(T_CONFIRM, 2 ** 40 + 5),
  encodeSeq(T_TAKEN_OK, 3),
  encodePing(),
  encodeError('E_REPL_OFFSET', 'orders.journal.000000.dat is 10 bytes'),
  encodeJson(T_FETCH, { version: 1, name: 'a:4150', incarnation: null, have: {} }),
  encodeJson(T_CLAIM, { origin: 'a:4150', incarnation: '12ab', by: 'c:4150' }),
  encodeJson(T_RELEASE, { origin: 'a:4150', incarnation: '12ab' }),
]);

const whole = decode([stream]);

t.test('every frame type round-trips', async (t) => {
  t.same(whole.errors, []);
  t.equal(whole.frames.length, 14);
  const f = whole.frames.map((s) => JSON.parse(s));
  t.match(f[0], { type: T_HELLO, json: { name: 'a:4150', incarnation: '12ab' } });
  t.match(f[2], { type: T_APPEND, seq: 1, file: 'orders.journal.000000.dat', offset: 0, bytes: two.toString('hex') });
  t.match(f[3], { offset: 4096 });
  t.match(f[4], { type: T_REMOVE, file: 'orders.journal.000000.dat' });
  t.match(f[5], { json: { topics: [{ name: 'orders' }] } });
  t.match(f[6], { type: T_COMMIT, seq: 1 });
  t.match(f[7], { type: T_CONFIRM, seq: 2 ** 40 + 5 });
  t.match(f[10], { text: 'E_REPL_OFFSET orders.journal.000000.dat is 10 bytes' });
  t.match(f[11], { type: T_FETCH, json: { name: 'a:4150', incarnation: null } });
  t.match(f[12], { type: T_CLAIM, json: { origin: 'a:4150', by: 'c:4150' } });
  t.match(f[13], { type: T_RELEASE, json: { incarnation: '12ab' } });
});

t.test('byte at a time gives the same frames', async (t) => {
  const chunks: Buffer[] = [];
  for (let i = 0; i < stream.length; i++) chunks.push(stream.subarray(i, i + 1));
  const r = decode(chunks);
  t.same(r.errors, []);
  t.same(r.frames, whole.frames);
});

t.test('random splits give the same frames', async (t) => {
  const rnd = prng(42);
  for (let round = 0; round < 200; round++) {
    const chunks: Buffer[] = [];
    let pos = 0;
    while (pos < stream.length) {
      const n = 1 + Math.floor(rnd() * (rnd() < 0.2 ? 80_000 : 40));
      chunks.push(stream.subarray(pos, pos + n));
      pos += n;
    }
    const r = decode(chunks);
    if (r.errors.length > 0 || r.frames.join() !== whole.frames.join()) {
      t.fail(`round ${round}: ${r.errors[0]?.message ?? 'frames differ'}`);
      return;
    }
  }
  t.pass('200 random splittings');
});

/** Decodes a good frame, then the bad one, then another good one that must not come out. */
function afterGood(bad: Buffer): Recorder {
  return decode([encodePing(), bad, encodePing()]);
}

t.test('a flipped bit anywhere fails the checksum', async (t) => {
  const f = encodeAppend(9, 'orders.journal.000001.dat', 0, two);
  for (const at of [8, 9, 20, f.length - 1]) {
    const bad = Buffer.from(f);
    bad[at] ^= 0x10;
    const r = afterGood(bad);
    t.equal(r.frames.length, 1, `bit at ${at}: nothing after the bad frame`);
    t.equal(r.errors[0]?.code, E_REPL_CHECKSUM, `bit at ${at}`);
  }
});

t.test('frame length: zero and oversize are refused before anything is buffered', async (t) => {
  const zero = Buffer.alloc(8);
  t.equal(afterGood(zero).errors[0]?.code, E_REPL_FRAME);
  const huge = Buffer.alloc(8);
  huge.writeUInt32BE(0xffffffff, 0);
  const r = afterGood(huge);
  t.equal(r.errors[0]?.code, E_REPL_FRAME);
  t.match(r.errors[0]?.message, /invalid frame length 4294967295/);
  // a decoder with a small limit refuses a frame above it
  const small = new Recorder();
  new ReplFrameDecoder(small, 1000).push(encodeAppend(1, 'x.journal.000000.dat', 0, batch(Buffer.alloc(2000))));
  t.equal(small.errors[0]?.code, E_REPL_FRAME);
});

t.test('unknown type and malformed payloads', async (t) => {
  const cases: Array<[string, Buffer, string]> = [
    ['unknown type', encodeFrame(0x7f, Buffer.from('x')), E_REPL_FRAME],
    ['HELLO not JSON', encodeFrame(T_HELLO, Buffer.from('{nope')), E_REPL_PAYLOAD],
    ['HELLO a JSON array', encodeFrame(T_HELLO, Buffer.from('[1]')), E_REPL_PAYLOAD],
    ['COMMIT short', encodeFrame(T_COMMIT, Buffer.alloc(7)), E_REPL_PAYLOAD],
    ['COMMIT long', encodeFrame(T_COMMIT, Buffer.alloc(9)), E_REPL_PAYLOAD],
    ['COMMIT beyond 2^53', encodeFrame(T_COMMIT, Buffer.alloc(8, 0xff)), E_REPL_PAYLOAD],
    ['PING with payload', encodeFrame(0x08, Buffer.from('x')), E_REPL_PAYLOAD],
    ['APPEND without name', encodeFrame(T_APPEND, Buffer.alloc(8)), E_REPL_PAYLOAD],
    ['REMOVE with trailing bytes', tamper(encodeRemove(1, 'a.journal.000000.dat'), Buffer.from('zz')), E_REPL_PAYLOAD],
  ];
  for (const [what, frame, code] of cases) {
    const r = afterGood(frame);
    t.equal(r.errors[0]?.code, code, what);
    t.equal(r.frames.length, 1, `${what}: nothing decoded after it`);
  }
});

/** Re-frames `f`'s type+payload with extra bytes (a well-checksummed frame with a bad layout). */
function tamper(f: Buffer, extra: Buffer): Buffer {
  return encodeFrame(f[8]!, f.subarray(9), extra);
}

t.test('file names cannot leave the mirror folder', async (t) => {
  for (const name of ['../nsqd.dat', 'a/b.dat', '..', '.hidden', 'a\\b', 'nul\0x']) {
    const payload = Buffer.concat([Buffer.alloc(8), Buffer.from([0, Buffer.byteLength(name)]), Buffer.from(name), Buffer.alloc(8), batch(Buffer.from('x'))]);
    const r = afterGood(encodeFrame(T_APPEND, payload));
    t.equal(r.errors[0]?.code, E_REPL_PAYLOAD, JSON.stringify(name));
    t.match(r.errors[0]?.message, /file name not allowed/);
  }
  t.throws(() => encodeRemove(1, ''), { code: E_REPL_PAYLOAD });
  t.throws(() => encodeRemove(1, 'x'.repeat(256)), { code: E_REPL_PAYLOAD });
});

t.test('APPEND carries only whole batches with good checksums', async (t) => {
  const good = batch(Buffer.from('payload'));
  t.equal(checkBatches(Buffer.concat([good, good])), null);
  t.match(checkBatches(Buffer.alloc(0)), /no data/);
  t.match(checkBatches(good.subarray(0, 5)), /torn batch header/);
  t.match(checkBatches(good.subarray(0, good.length - 1)), /runs past/);
  const flipped = Buffer.from(good);
  flipped[10] ^= 1;
  t.match(checkBatches(flipped), /fails its checksum/);
  const zero = Buffer.alloc(8);
  t.match(checkBatches(zero), /empty batch/);
  // the frame's own CRC is right, the batch inside is not: still refused
  const r = afterGood(encodeAppend(1, 'orders.journal.000000.dat', 0, flipped));
  t.equal(r.errors[0]?.code, E_REPL_PAYLOAD);
  t.match(r.errors[0]?.message, /orders\.journal\.000000\.dat: batch at 0 fails its checksum/);
});

t.test('random garbage never throws and never yields a frame it did not check', async (t) => {
  const rnd = prng(7);
  for (let round = 0; round < 300; round++) {
    const junk = Buffer.alloc(1 + Math.floor(rnd() * 300));
    for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(rnd() * 256);
    // a plausible header now and then, so payload parsers see garbage too
    if (round % 3 === 0 && junk.length > 9) junk.writeUInt32BE(junk.length - 8, 0);
    const r = new Recorder();
    const d = new ReplFrameDecoder(r);
    try {
      d.push(junk);
      d.push(encodePing());
    } catch (err) {
      t.fail(`round ${round} threw ${(err as Error).message}`);
      return;
    }
    if (r.errors.length === 0 && r.frames.length === 0) continue; // a partial frame is waiting
    if (r.errors.length > 0 && !d.stopped) t.fail(`round ${round}: error without stopping`);
  }
  t.pass('300 rounds of garbage');
});

// The snappy framing format: split anywhere, faults refused, and the same bytes as nsqjs's
// snappystream in both directions.

import t from 'tap';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { crc32c, maskedCrc32c, MAX_CHUNK_DATA, SnappyFrameDecoder, SnappyFrameEncoder, SnappyFrameError, STREAM_IDENTIFIER } from '../../src/protocol/snappy-frame.js';

const require = createRequire(import.meta.url);
const { SnappyStream, UnsnappyStream } = require('snappystream') as {
  SnappyStream: new () => NodeJS.ReadWriteStream;
  UnsnappyStream: new () => NodeJS.ReadWriteStream;
};

function decodeAll(parts: Buffer[]): Buffer {
  const out: Buffer[] = [];
  const d = new SnappyFrameDecoder((b) => out.push(Buffer.from(b)));
  for (const p of parts) d.push(p);
  return Buffer.concat(out);
}

function decodeError(data: Buffer): SnappyFrameError {
  const d = new SnappyFrameDecoder(() => {});
  try {
    d.push(data);
  } catch (err) {
    if (err instanceof SnappyFrameError) return err;
    throw err;
  }
  throw new Error('no error');
}

function chunk(type: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h[0] = type;
  h.writeUIntLE(payload.length, 1, 3);
  return Buffer.concat([h, payload]);
}

function withCrc(data: Buffer, body = data): Buffer {
  const c = Buffer.alloc(4);
  c.writeUInt32LE(maskedCrc32c(data));
  return Buffer.concat([c, body]);
}

t.test('CRC-32C matches the known check value and masking', async (t) => {
  t.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  t.equal(crc32c(Buffer.alloc(0)), 0);
  // the same bytes at any alignment
  const data = randomBytes(1001);
  t.equal(crc32c(data, 3, 1000), crc32c(Buffer.from(data.subarray(3, 1000))));
});

t.test('round trip: large data crosses the 64 KiB chunk limit, small writes too', async (t) => {
  const enc = new SnappyFrameEncoder();
  const big = Buffer.concat([randomBytes(300_000), Buffer.alloc(800_000, 'a')]);
  const framed = [enc.encode(big), enc.encode(Buffer.from('x')), enc.encode(Buffer.from('yz'))];
  t.ok(framed[0]!.subarray(0, 10).equals(STREAM_IDENTIFIER), 'starts with the stream identifier');
  t.notOk(framed[1]!.subarray(0, 10).equals(STREAM_IDENTIFIER), 'only once');
  const all = Buffer.concat(framed);
  const want = Buffer.concat([big, Buffer.from('xyz')]);
  t.ok(decodeAll([all]).equals(want), 'one push');
  // split at every position in a small stream, and at random places in the big one
  const small = Buffer.concat([new SnappyFrameEncoder().encode(Buffer.from('hello hello hello hello')), new SnappyFrameEncoder().encode(Buffer.alloc(0)).subarray(10)]);
  for (let i = 0; i <= small.length; i++) t.equal(decodeAll([small.subarray(0, i), small.subarray(i)]).toString(), 'hello hello hello hello');
  const pieces: Buffer[] = [];
  for (let pos = 0; pos < all.length; ) {
    const n = 1 + Math.floor(Math.random() * 9000);
    pieces.push(all.subarray(pos, pos + n));
    pos += n;
  }
  t.ok(decodeAll(pieces).equals(want), 'random splits');
  const oneByte: Buffer[] = [];
  const mid = new SnappyFrameEncoder().encode(randomBytes(3000));
  for (let i = 0; i < mid.length; i++) oneByte.push(mid.subarray(i, i + 1));
  t.equal(decodeAll(oneByte).length, 3000, 'byte at a time');
});

t.test('faults', async (t) => {
  const data = Buffer.from('some data some data some data');
  t.match(decodeError(chunk(0x01, withCrc(data))).message, /stream identifier/, 'no stream identifier');
  const bad = withCrc(data);
  bad[0]! ^= 1;
  t.match(decodeError(Buffer.concat([STREAM_IDENTIFIER, chunk(0x01, bad)])).message, /checksum/, 'corrupt CRC (stored)');
  const compressed = new SnappyFrameEncoder().encode(Buffer.alloc(1000, 'q'));
  t.equal(compressed[10], 0x00, 'compressible data goes in a compressed chunk');
  compressed[14]! ^= 0xff;
  t.match(decodeError(compressed).message, /checksum/, 'corrupt CRC (compressed)');
  t.match(decodeError(Buffer.concat([STREAM_IDENTIFIER, chunk(0x02, Buffer.alloc(3))])).message, /reserved unskippable chunk type 0x02/);
  t.match(decodeError(Buffer.concat([STREAM_IDENTIFIER, chunk(0x7f, Buffer.alloc(0))])).message, /0x7f/);
  t.match(decodeError(Buffer.concat([STREAM_IDENTIFIER, chunk(0x01, withCrc(Buffer.alloc(MAX_CHUNK_DATA + 1)))])).message, /bad uncompressed chunk length/, 'oversize stored chunk');
  // header alone is enough to refuse an oversize chunk: no waiting for 16 MB
  const huge = Buffer.from([0x00, 0xff, 0xff, 0xff]);
  t.match(decodeError(Buffer.concat([STREAM_IDENTIFIER, huge])).message, /bad compressed chunk length/);
  t.match(decodeError(Buffer.concat([STREAM_IDENTIFIER, chunk(0x00, Buffer.from([1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff, 0x0f]))])).message, /more than 65536|corrupt/, 'garbage block');
  t.match(decodeError(Buffer.from([0xff, 0x06, 0, 0, 1, 2, 3, 4, 5, 6])).message, /bad stream identifier/);
  // skippable and padding chunks are ignored
  const ok = Buffer.concat([STREAM_IDENTIFIER, chunk(0x80, Buffer.from('skip')), chunk(0xfe, Buffer.alloc(10)), chunk(0x01, withCrc(data)), STREAM_IDENTIFIER]);
  t.equal(decodeAll([ok]).toString(), data.toString());
  // after a fault the decoder stays failed
  const d = new SnappyFrameDecoder(() => {});
  t.throws(() => d.push(Buffer.from([1, 2, 3, 4])));
  t.throws(() => d.push(STREAM_IDENTIFIER), { code: 'E_BAD_SNAPPY' });
});

function pipeThrough(s: NodeJS.ReadWriteStream, input: Buffer[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    s.on('data', (b: Buffer) => out.push(b));
    s.on('end', () => resolve(Buffer.concat(out)));
    s.on('error', reject);
    for (const b of input) s.write(b);
    s.end();
  });
}

t.test('interop with snappystream (nsqjs) both ways', async (t) => {
  const payload = Buffer.concat([randomBytes(100_000), Buffer.alloc(200_000, 'z'), Buffer.from('end')]);
  // theirs → ours
  const theirs = await pipeThrough(new SnappyStream(), [payload.subarray(0, 5), payload.subarray(5)]);
  t.ok(decodeAll([theirs]).equals(payload), 'we decode snappystream');
  // ours → theirs
  const enc = new SnappyFrameEncoder();
  const ours = [enc.encode(payload.subarray(0, 70_000)), enc.encode(payload.subarray(70_000))];
  const back = await pipeThrough(new UnsnappyStream(), ours);
  t.ok(back.equals(payload), 'snappystream decodes ours');
});

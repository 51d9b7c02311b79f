// The command decoder must give the same commands however the bytes are split.

import t from 'tap';
import { CommandDecoder, MPUB_BODY, type CommandSink, type MpubLimits } from '../../src/protocol/command-decoder.js';
import { MAX_LINE_LENGTH } from '../../src/protocol/constants.js';
import { encodeCommand, encodeIdentify, encodeMpub, encodePub } from '../../src/protocol/encoders.js';
import { encodeMpubBody } from '../../src/protocol/mpub.js';
import type { ProtocolError } from '../../src/protocol/errors.js';

/** Records what the decoder reports; bodies follow PUB/MPUB/IDENTIFY/DPUB lines. */
class Recorder implements CommandSink {
  events: string[] = [];
  errors: ProtocolError[] = [];
  maxBody = 1 << 20;
  onLine(buf: Buffer, start: number, end: number): boolean | typeof MPUB_BODY {
    const line = buf.toString('latin1', start, end);
    this.events.push(`line:${line}`);
    if (line.startsWith('MPUB ')) return MPUB_BODY;
    return /^(PUB|DPUB|IDENTIFY|AUTH)\b/.test(line);
  }
  onBodySize(size: number): boolean {
    this.events.push(`size:${size}`);
    return size >= 0 && size <= this.maxBody;
  }
  onBody(buf: Buffer, start: number, end: number): void {
    this.events.push(`body:${buf.toString('hex', start, end)}`);
  }
  onDecodeError(err: ProtocolError): void {
    this.errors.push(err);
  }
}

const stream = Buffer.concat([
  Buffer.from('NOP\n'),
  encodeIdentify({ client_id: 'x', feature_negotiation: true }),
  encodeCommand('SUB', 'topic', 'channel'),
  encodeCommand('RDY', 10),
  encodePub('t', Buffer.from([0, 1, 2, 10, 13, 255])),
  encodeMpub('t', ['a', 'bb', Buffer.alloc(300, 7)]),
  Buffer.from('FIN 0123456789abcdef\r\n'),
  encodePub('t', Buffer.alloc(70_000, 9)),
  Buffer.from('CLS\n'),
]);

const LIMITS: MpubLimits = { maxBodySize: 1 << 20, maxMsgSize: 100_000 };

function decodeInPieces(pieces: Buffer[], limits: MpubLimits = LIMITS): Recorder {
  const r = new Recorder();
  const d = new CommandDecoder(r, limits);
  for (const p of pieces) d.push(p);
  return r;
}

const whole = decodeInPieces([stream]);

t.test('decodes a whole stream', async (t) => {
  t.equal(whole.errors.length, 0);
  t.same(whole.events.filter((e) => e.startsWith('line:')), [
    'line:NOP',
    'line:IDENTIFY',
    'line:SUB topic channel',
    'line:RDY 10',
    'line:PUB t',
    'line:MPUB t',
    'line:FIN 0123456789abcdef',
    'line:PUB t',
    'line:CLS',
  ]);
  t.ok(whole.events.includes('body:0001020a0dff'), 'binary body intact, newline and CR inside a body are data');
});

t.test('byte at a time gives the same result', async (t) => {
  const pieces: Buffer[] = [];
  for (let i = 0; i < stream.length; i++) pieces.push(stream.subarray(i, i + 1));
  const r = decodeInPieces(pieces);
  t.same(r.events, whole.events);
  t.equal(r.errors.length, 0);
});

function randomSplit(bytes: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const n = 1 + Math.floor(Math.random() * (Math.random() < 0.5 ? 8 : 5000));
    pieces.push(bytes.subarray(pos, pos + n));
    pos += n;
  }
  return pieces;
}

const byteAtATime = (bytes: Buffer): Buffer[] => Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));

t.test('random splits give the same result', async (t) => {
  for (let round = 0; round < 200; round++) {
    const pieces = randomSplit(stream);
    const r = decodeInPieces(pieces);
    if (JSON.stringify(r.events) !== JSON.stringify(whole.events)) {
      t.fail(`split ${pieces.map((p) => p.length).join(',')} decoded differently`);
      return;
    }
  }
  t.pass('200 random splits decoded identically');
});

// ---- MPUB: framed by its count and sizes, as nsqd reads it --------------------------------------

/** An MPUB line, the declared size, then the real body. */
function mpubDeclaring(declared: number, bodies: Buffer[]): Buffer {
  const body = encodeMpubBody(bodies);
  const size = Buffer.alloc(4);
  size.writeInt32BE(declared);
  return Buffer.concat([Buffer.from('MPUB t\n'), size, body]);
}

t.test('MPUB: the body ends where its last message ends, whatever size was declared', async (t) => {
  const bodies = [Buffer.from('one'), Buffer.alloc(300, 7), Buffer.from([10, 13, 0]), Buffer.alloc(9000, 5)];
  const body = encodeMpubBody(bodies);
  const sumOfBodies = bodies.reduce((n, b) => n + b.length, 0);
  const framings: [string, number][] = [
    ['declared size = the whole body', body.length],
    ['declared size = the message bodies only', sumOfBodies],
    ['declared size = 1', 1],
  ];
  const after = Buffer.concat([Buffer.from('NOP\n'), encodePub('t', Buffer.from('next'))]);
  const expected = ['line:MPUB t', '', `body:${body.toString('hex')}`, 'line:NOP', 'line:PUB t', 'size:4', `body:${Buffer.from('next').toString('hex')}`];
  for (const [name, declared] of framings) {
    const bytes = Buffer.concat([mpubDeclaring(declared, bodies), after]);
    expected[1] = `size:${declared}`;
    const ways: [string, () => Buffer[]][] = [
      ['whole', () => [bytes]],
      ['byte at a time', () => byteAtATime(bytes)],
      ['random splits', () => randomSplit(bytes)],
    ];
    for (const [way, pieces] of ways) {
      const rounds = way === 'random splits' ? 100 : 1;
      let same = true;
      for (let i = 0; i < rounds && same; i++) {
        const r = decodeInPieces(pieces());
        same = r.errors.length === 0 && JSON.stringify(r.events) === JSON.stringify(expected);
        if (!same) t.same({ events: r.events.map((e) => e.slice(0, 60)), errors: r.errors.map((e) => e.message) }, { events: expected.map((e) => e.slice(0, 60)), errors: [] }, `${name}, ${way}`);
      }
      if (same) t.pass(`${name}, ${way}: the batch whole, then the next commands in sync`);
    }
  }
});

t.test('MPUB: a declared size larger than the batch leaves the rest to be read as commands (as nsqd does)', async (t) => {
  const bytes = Buffer.concat([mpubDeclaring(100, [Buffer.from('a')]), Buffer.from('NOP\n')]);
  for (const pieces of [[bytes], byteAtATime(bytes)]) {
    const r = decodeInPieces(pieces);
    t.same(r.events, ['line:MPUB t', 'size:100', `body:${encodeMpubBody([Buffer.from('a')]).toString('hex')}`, 'line:NOP']);
  }
});

t.test('MPUB faults: nsqd\'s errors, and decoding stops', async (t) => {
  const limits: MpubLimits = { maxBodySize: 100, maxMsgSize: 20 };
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
  };
  const raw = (...parts: Buffer[]): Buffer => Buffer.concat([Buffer.from('MPUB t\n'), u32(50), ...parts, Buffer.from('NOP\n')]);
  const cases: [string, Buffer, string][] = [
    ['count 0', raw(u32(0)), 'E_BAD_BODY MPUB invalid message count 0'],
    ['count over (100 - 4) / 5', raw(u32(20)), 'E_BAD_BODY MPUB invalid message count 20'],
    ['size 0', raw(u32(2), u32(1), Buffer.from('x'), u32(0)), 'E_BAD_MESSAGE MPUB invalid message(1) body size 0'],
    ['size -1', raw(u32(1), u32(-1)), 'E_BAD_MESSAGE MPUB invalid message(0) body size -1'],
    ['message over max-msg-size', raw(u32(1), u32(21)), 'E_BAD_MESSAGE MPUB message too big 21 > 20'],
    // 4 + 5 × (4 + 20) = 124 > 100: every message fits max-msg-size, the batch does not fit max-body-size
    ['batch over max-body-size', raw(u32(5), ...Array.from({ length: 5 }, () => Buffer.concat([u32(20), Buffer.alloc(20)]))), 'E_BAD_BODY MPUB body too big: message(3) ends past 100'],
  ];
  for (const [name, bytes, text] of cases) {
    for (const pieces of [[bytes], byteAtATime(bytes)]) {
      const r = decodeInPieces(pieces, limits);
      t.same(r.errors.map((e) => [e.message, e.fatal]), [[text, true]], name);
      t.notOk(r.events.includes('line:NOP'), `${name}: nothing after it is decoded`);
      t.notOk(r.events.some((e) => e.startsWith('body:')), `${name}: no body handed out`);
    }
  }
});

t.test('MPUB: a batch of exactly max-body-size is accepted in either framing', async (t) => {
  const limits: MpubLimits = { maxBodySize: 4 + 4 * (4 + 20), maxMsgSize: 20 };
  const bodies = Array.from({ length: 4 }, (_, i) => Buffer.alloc(20, i));
  for (const declared of [limits.maxBodySize, 80]) {
    const r = decodeInPieces(byteAtATime(mpubDeclaring(declared, bodies)), limits);
    t.same(r.errors, [], `declared ${declared}`);
    t.equal(r.events[2], `body:${encodeMpubBody(bodies).toString('hex')}`);
  }
});

t.test('a line longer than the limit is an error, in one chunk or many', async (t) => {
  const long = Buffer.alloc(MAX_LINE_LENGTH + 10, 65);
  const one = decodeInPieces([long]);
  t.equal(one.errors.length, 1);
  t.equal(one.errors[0]!.code, 'E_INVALID');
  const pieces: Buffer[] = [];
  for (let i = 0; i < long.length; i += 100) pieces.push(long.subarray(i, i + 100));
  const many = decodeInPieces(pieces);
  t.equal(many.errors.length, 1);
  t.equal(many.events.length, 0, 'no command was produced');
  const withNewline = decodeInPieces([Buffer.concat([long, Buffer.from('\nNOP\n')])]);
  t.equal(withNewline.errors.length, 1);
  t.notOk(withNewline.events.includes('line:NOP'), 'decoding stops after the error');
});

t.test('a refused body size stops decoding', async (t) => {
  const r = new Recorder();
  r.maxBody = 10;
  const d = new CommandDecoder(r, LIMITS);
  d.push(Buffer.concat([encodePub('t', Buffer.alloc(11)), Buffer.from('NOP\n')]));
  t.same(r.events, ['line:PUB t', 'size:11']);
  t.ok(d.stopped);
});

t.test('a negative body size is reported as such', async (t) => {
  const r = new Recorder();
  const d = new CommandDecoder(r, LIMITS);
  const b = Buffer.from('PUB t\n\xff\xff\xff\xff', 'latin1');
  d.push(b);
  t.same(r.events, ['line:PUB t', 'size:-1']);
});

t.test('fuzz: random bytes never throw and never loop', async (t) => {
  for (let round = 0; round < 500; round++) {
    const len = Math.floor(Math.random() * 2000);
    const junk = Buffer.alloc(len);
    for (let i = 0; i < len; i++) junk[i] = Math.random() < 0.1 ? 10 : Math.floor(Math.random() * 256);
    const r = new Recorder();
    r.maxBody = 64;
    const d = new CommandDecoder(r, LIMITS);
    let pos = 0;
    while (pos < len) {
      const n = 1 + Math.floor(Math.random() * 50);
      d.push(junk.subarray(pos, pos + n));
      pos += n;
    }
  }
  t.pass('500 random inputs decoded without throwing');
});

t.test('fuzz: random MPUB bodies never throw and never loop, whatever size they declare', async (t) => {
  const limits: MpubLimits = { maxBodySize: 200, maxMsgSize: 50 };
  for (let round = 0; round < 500; round++) {
    const parts: Buffer[] = [Buffer.from('MPUB t\n')];
    // a count, then sizes and bodies, each sometimes wrong
    const n = Math.floor(Math.random() * 60);
    const words: number[] = [Math.floor(Math.random() * 300) - 20, Math.floor(Math.random() * 12) - 1];
    for (let i = 0; i < n; i++) words.push(Math.random() < 0.5 ? Math.floor(Math.random() * 70) - 5 : Math.floor(Math.random() * 2 ** 32) - 2 ** 31);
    for (const w of words) {
      const b = Buffer.alloc(4);
      b.writeInt32BE(w | 0);
      parts.push(b, Buffer.alloc(Math.floor(Math.random() * 8), 65));
    }
    parts.push(Buffer.from('NOP\n'));
    const bytes = Buffer.concat(parts);
    decodeInPieces(randomSplit(bytes), limits);
    decodeInPieces([bytes], limits);
  }
  t.pass('500 random MPUBs decoded without throwing');
});

t.test('divert hands the rest of the chunk to a new layer after the current command', async (t) => {
  const r = new Recorder();
  const d = new CommandDecoder(r, LIMITS);
  let rest: Buffer | null = null;
  const orig = r.onBody.bind(r);
  r.onBody = (buf, start, end) => {
    orig(buf, start, end);
    d.divert((b) => (rest = b));
  };
  d.push(Buffer.concat([encodeIdentify({ deflate: true }), Buffer.from([1, 2, 3])]));
  t.same(rest, Buffer.from([1, 2, 3]), 'the bytes after IDENTIFY are not decoded as commands');
  t.same(r.events.filter((e) => e.startsWith('line:')), ['line:IDENTIFY']);
});

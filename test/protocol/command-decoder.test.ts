// The command decoder must give the same commands however the bytes are split.

import t from 'tap';
import { CommandDecoder, type CommandSink } from '../../src/protocol/command-decoder.js';
import { MAX_LINE_LENGTH } from '../../src/protocol/constants.js';
import { encodeCommand, encodeIdentify, encodeMpub, encodePub } from '../../src/protocol/encoders.js';
import type { ProtocolError } from '../../src/protocol/errors.js';

/** Records what the decoder reports; bodies follow PUB/MPUB/IDENTIFY/DPUB lines. */
class Recorder implements CommandSink {
  events: string[] = [];
  errors: ProtocolError[] = [];
  maxBody = 1 << 20;
  onLine(buf: Buffer, start: number, end: number): boolean {
    const line = buf.toString('latin1', start, end);
    this.events.push(`line:${line}`);
    return /^(PUB|MPUB|DPUB|IDENTIFY|AUTH)\b/.test(line);
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

function decodeInPieces(pieces: Buffer[]): Recorder {
  const r = new Recorder();
  const d = new CommandDecoder(r);
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

t.test('random splits give the same result', async (t) => {
  for (let round = 0; round < 200; round++) {
    const pieces: Buffer[] = [];
    let pos = 0;
    while (pos < stream.length) {
      const n = 1 + Math.floor(Math.random() * (Math.random() < 0.5 ? 8 : 5000));
      pieces.push(stream.subarray(pos, pos + n));
      pos += n;
    }
    const r = decodeInPieces(pieces);
    if (JSON.stringify(r.events) !== JSON.stringify(whole.events)) {
      t.fail(`split ${pieces.map((p) => p.length).join(',')} decoded differently`);
      return;
    }
  }
  t.pass('200 random splits decoded identically');
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
  const d = new CommandDecoder(r);
  d.push(Buffer.concat([encodePub('t', Buffer.alloc(11)), Buffer.from('NOP\n')]));
  t.same(r.events, ['line:PUB t', 'size:11']);
  t.ok(d.stopped);
});

t.test('a negative body size is reported as such', async (t) => {
  const r = new Recorder();
  const d = new CommandDecoder(r);
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
    const d = new CommandDecoder(r);
    let pos = 0;
    while (pos < len) {
      const n = 1 + Math.floor(Math.random() * 50);
      d.push(junk.subarray(pos, pos + n));
      pos += n;
    }
  }
  t.pass('500 random inputs decoded without throwing');
});

t.test('divert hands the rest of the chunk to a new layer after the current command', async (t) => {
  const r = new Recorder();
  const d = new CommandDecoder(r);
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

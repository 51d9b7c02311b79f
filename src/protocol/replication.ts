// The replication link's wire format (docs/replication.md, "Wire protocol"): after `REPL 1` on a V2
// connection, both sides exchange frames of
//   [4-byte length of type+payload][4-byte CRC-32 of type+payload][1-byte type][payload]
// (CRC-32 as zlib computes it, natively: the frames carry every replicated byte)
// A peer is untrusted input: every frame is checked (size, checksum, type, payload layout) before
// anything in it is handed on, and a bad one stops the decoder with a coded error.

import { zlib } from '../util/builtins.js';
import { readUint64BE as readUint64, writeUint64BE as writeUint64 } from './uint64.js';

export const REPL_VERSION = 1;

export const T_HELLO = 0x01;
export const T_STATE = 0x02;
export const T_APPEND = 0x03;
export const T_REMOVE = 0x04;
export const T_META = 0x05;
export const T_COMMIT = 0x06;
export const T_CONFIRM = 0x07;
export const T_PING = 0x08;
export const T_TAKEN = 0x09;
export const T_TAKEN_OK = 0x0a;
export const T_CLAIM = 0x0b;
export const T_ERROR = 0x0c;
export const T_FETCH = 0x0d;
export const T_RELEASE = 0x0e;

const TYPE_NAMES: Record<number, string> = {
  [T_HELLO]: 'HELLO',
  [T_STATE]: 'STATE',
  [T_APPEND]: 'APPEND',
  [T_REMOVE]: 'REMOVE',
  [T_META]: 'META',
  [T_COMMIT]: 'COMMIT',
  [T_CONFIRM]: 'CONFIRM',
  [T_PING]: 'PING',
  [T_TAKEN]: 'TAKEN',
  [T_TAKEN_OK]: 'TAKEN_OK',
  [T_CLAIM]: 'CLAIM',
  [T_ERROR]: 'ERROR',
  [T_FETCH]: 'FETCH',
  [T_RELEASE]: 'RELEASE',
};

export function frameTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `0x${type.toString(16).padStart(2, '0')}`;
}

/** The largest frame a peer may send: one segment batch of at most 64 MiB plus its header. */
export const MAX_REPL_FRAME = 64 * 1024 * 1024 + 1024;
/** The longest file name in APPEND/REMOVE: a topic and a channel (64 each) and the suffixes. */
export const MAX_FILE_NAME = 255;

const HEADER = 8;

export class ReplicationProtocolError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(`${code} ${message}`);
    this.name = 'ReplicationProtocolError';
    this.code = code;
  }
}

export const E_REPL_FRAME = 'E_REPL_FRAME';
export const E_REPL_CHECKSUM = 'E_REPL_CHECKSUM';
export const E_REPL_PAYLOAD = 'E_REPL_PAYLOAD';
export const E_REPL_OFFSET = 'E_REPL_OFFSET';

// ---- encoding ---------------------------------------------------------------------------------

/** One whole frame around `payload` (the parts are concatenated; nothing is kept). */
export function encodeFrame(type: number, ...parts: Buffer[]): Buffer {
  let len = 1;
  for (const p of parts) len += p.length;
  const out = Buffer.allocUnsafe(HEADER + len);
  out.writeUInt32BE(len, 0);
  out[HEADER] = type;
  let pos = HEADER + 1;
  for (const p of parts) pos += p.copy(out, pos);
  out.writeUInt32BE(zlib().crc32(out.subarray(HEADER, HEADER + len)), 4);
  return out;
}

function seqBuf(seq: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  writeUint64(b, 0, seq);
  return b;
}

function nameBuf(name: string): Buffer {
  const n = Buffer.from(name, 'utf8');
  if (n.length === 0 || n.length > MAX_FILE_NAME) throw new ReplicationProtocolError(E_REPL_PAYLOAD, `file name length ${n.length}`);
  const b = Buffer.allocUnsafe(2 + n.length);
  b.writeUInt16BE(n.length, 0);
  n.copy(b, 2);
  return b;
}

export function encodeJson(type: number, value: unknown): Buffer {
  return encodeFrame(type, Buffer.from(JSON.stringify(value), 'utf8'));
}

export function encodeSeq(type: typeof T_COMMIT | typeof T_CONFIRM | typeof T_TAKEN_OK, seq: number): Buffer {
  return encodeFrame(type, seqBuf(seq));
}

/** `bytes` are whole segment-log batches to append to `file` at `offset`. */
export function encodeAppend(seq: number, file: string, offset: number, bytes: Buffer): Buffer {
  return encodeAppendInPlace(seq, file, offset, bytes.length, (buf, at) => bytes.copy(buf, at));
}

/**
 * An APPEND of `length` bytes that `fill` writes straight into the frame at `at` (read from the
 * file into the frame: no second copy).
 */
export function encodeAppendInPlace(seq: number, file: string, offset: number, length: number, fill: (buf: Buffer, at: number) => void): Buffer {
  const name = nameBuf(file);
  const len = 1 + 8 + name.length + 8 + length;
  const out = Buffer.allocUnsafe(HEADER + len);
  out.writeUInt32BE(len, 0);
  out[HEADER] = T_APPEND;
  let pos = HEADER + 1;
  writeUint64(out, pos, seq);
  pos += 8;
  pos += name.copy(out, pos);
  writeUint64(out, pos, offset);
  pos += 8;
  fill(out, pos);
  out.writeUInt32BE(zlib().crc32(out.subarray(HEADER, HEADER + len)), 4);
  return out;
}

export function encodeRemove(seq: number, file: string): Buffer {
  return encodeFrame(T_REMOVE, seqBuf(seq), nameBuf(file));
}

export function encodeMeta(seq: number, meta: unknown): Buffer {
  return encodeFrame(T_META, seqBuf(seq), Buffer.from(JSON.stringify(meta), 'utf8'));
}

export function encodePing(): Buffer {
  return encodeFrame(T_PING);
}

export function encodeError(code: string, text: string): Buffer {
  return encodeFrame(T_ERROR, Buffer.from(`${code} ${text}`, 'utf8'));
}

// ---- decoding ---------------------------------------------------------------------------------

export type ReplFrame =
  | { type: typeof T_HELLO | typeof T_STATE | typeof T_TAKEN | typeof T_CLAIM | typeof T_FETCH | typeof T_RELEASE; json: Record<string, unknown> }
  | { type: typeof T_APPEND; seq: number; file: string; offset: number; bytes: Buffer }
  | { type: typeof T_REMOVE; seq: number; file: string }
  | { type: typeof T_META; seq: number; json: Record<string, unknown> }
  | { type: typeof T_COMMIT | typeof T_CONFIRM | typeof T_TAKEN_OK; seq: number }
  | { type: typeof T_PING }
  | { type: typeof T_ERROR; text: string };

export interface ReplFrameSink {
  /** One checked frame; an APPEND's bytes are a view valid only during the call. */
  onReplFrame(frame: ReplFrame): void;
  onReplError(err: ReplicationProtocolError): void;
}

function bad(msg: string): never {
  throw new ReplicationProtocolError(E_REPL_PAYLOAD, msg);
}

function json(buf: Buffer, start: number, end: number): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8', start, end));
  } catch {
    bad('payload is not JSON');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) bad('payload is not a JSON object');
  return v as Record<string, unknown>;
}

function seqAt(buf: Buffer, pos: number, end: number): number {
  if (end - pos < 8) bad('payload too short for a sequence number');
  const n = readUint64(buf, pos);
  if (!Number.isSafeInteger(n)) bad('sequence number out of range');
  return n;
}

function nameAt(buf: Buffer, pos: number, end: number): { file: string; next: number } {
  if (end - pos < 2) bad('payload too short for a file name');
  const len = buf.readUInt16BE(pos);
  if (len === 0 || len > MAX_FILE_NAME || end - pos - 2 < len) bad(`bad file name length ${len}`);
  const file = buf.toString('utf8', pos + 2, pos + 2 + len);
  // a peer names files inside one mirror folder: nothing that climbs out of it or hides
  if (file.includes('/') || file.includes('\\') || file.includes('\0') || file === '.' || file === '..' || file.startsWith('.')) {
    bad(`file name not allowed: ${JSON.stringify(file)}`);
  }
  return { file, next: pos + 2 + len };
}

/** Parses the payload of a checked frame; throws ReplicationProtocolError when it does not fit its type. */
export function parseFrame(type: number, buf: Buffer, start: number, end: number): ReplFrame {
  switch (type) {
    case T_HELLO:
    case T_STATE:
    case T_TAKEN:
    case T_CLAIM:
    case T_FETCH:
    case T_RELEASE:
      return { type, json: json(buf, start, end) };
    case T_APPEND: {
      const seq = seqAt(buf, start, end);
      const { file, next } = nameAt(buf, start + 8, end);
      const offset = seqAt(buf, next, end);
      const bytes = buf.subarray(next + 8, end);
      const err = checkBatches(bytes);
      if (err !== null) bad(`APPEND to ${file}: ${err}`);
      return { type, seq, file, offset, bytes };
    }
    case T_REMOVE: {
      const seq = seqAt(buf, start, end);
      const { file, next } = nameAt(buf, start + 8, end);
      if (next !== end) bad('trailing bytes after REMOVE');
      return { type, seq, file };
    }
    case T_META:
      return { type, seq: seqAt(buf, start, end), json: json(buf, start + 8, end) };
    case T_COMMIT:
    case T_CONFIRM:
    case T_TAKEN_OK:
      if (end - start !== 8) bad(`${frameTypeName(type)} payload is ${end - start} bytes, not 8`);
      return { type, seq: seqAt(buf, start, end) };
    case T_PING:
      if (end !== start) bad('PING carries no payload');
      return { type };
    case T_ERROR:
      return { type, text: buf.toString('utf8', start, Math.min(end, start + 1024)) };
    default:
      throw new ReplicationProtocolError(E_REPL_FRAME, `unknown frame type ${frameTypeName(type)}`);
  }
}

/**
 * Checks that `bytes` are whole segment-log batches ([4-byte length][4-byte CRC-32][payload]) with
 * good checksums; returns what is wrong, or null. The mirror only ever holds what passed this.
 */
export function checkBatches(bytes: Buffer): string | null {
  let pos = 0;
  if (bytes.length === 0) return 'no data';
  while (pos < bytes.length) {
    if (bytes.length - pos < 8) return `torn batch header at ${pos}`;
    const len = bytes.readUInt32BE(pos);
    if (len === 0) return `empty batch at ${pos}`;
    if (bytes.length - pos - 8 < len) return `batch at ${pos} runs past the frame`;
    const body = bytes.subarray(pos + 8, pos + 8 + len);
    if (zlib().crc32(body) !== bytes.readUInt32BE(pos + 4)) return `batch at ${pos} fails its checksum`;
    pos += 8 + len;
  }
  return null;
}

/**
 * Incremental decoder of replication frames. However the bytes are split, the same frames come out;
 * the first bad one stops it (no frame after it is decoded).
 */
export class ReplFrameDecoder {
  #sink: ReplFrameSink;
  #max: number;
  #pending: Buffer | null = null;
  #stopped = false;

  constructor(sink: ReplFrameSink, maxFrame = MAX_REPL_FRAME) {
    this.#sink = sink;
    this.#max = maxFrame;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  stop(): void {
    this.#stopped = true;
    this.#pending = null;
  }

  #fail(err: ReplicationProtocolError): void {
    this.stop();
    this.#sink.onReplError(err);
  }

  push(chunk: Buffer): void {
    if (this.#stopped) return;
    let buf = chunk;
    if (this.#pending !== null) {
      buf = Buffer.concat([this.#pending, chunk]);
      this.#pending = null;
    }
    let pos = 0;
    while (buf.length - pos >= HEADER && !this.#stopped) {
      const len = buf.readUInt32BE(pos);
      if (len < 1 || len > this.#max) return this.#fail(new ReplicationProtocolError(E_REPL_FRAME, `invalid frame length ${len}`));
      if (buf.length - pos - HEADER < len) break;
      const start = pos + HEADER;
      const end = start + len;
      if (zlib().crc32(buf.subarray(start, end)) !== buf.readUInt32BE(pos + 4)) {
        return this.#fail(new ReplicationProtocolError(E_REPL_CHECKSUM, `frame at stream offset fails its CRC-32 (type ${frameTypeName(buf[start]!)})`));
      }
      let frame: ReplFrame;
      try {
        frame = parseFrame(buf[start]!, buf, start + 1, end);
      } catch (err) {
        if (err instanceof ReplicationProtocolError) return this.#fail(err);
        throw err;
      }
      pos = end;
      this.#sink.onReplFrame(frame);
    }
    if (pos < buf.length && !this.#stopped) this.#pending = buf.subarray(pos);
  }
}

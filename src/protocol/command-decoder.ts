// Incremental decoder for the client→server direction of protocol V2:
// newline-terminated command lines, some followed by a 4-byte size and a body.
// It hands out ranges of the received chunks (no copies) whenever a piece arrives whole,
// and copies only what straddles chunk boundaries.

import { MAX_LINE_LENGTH } from './constants.js';
import { fatal, E_INVALID, ProtocolError } from './errors.js';
import { MPUB_INCOMPLETE, MpubScan, mpubProtocolError, scanMpub, type MpubFault } from './mpub.js';

/**
 * onLine's answer for an MPUB: its body is framed by its own count and sizes, as nsqd reads it; the
 * size before it is only checked (onBodySize), since clients differ in what they count in it.
 */
export const MPUB_BODY = 2;

/** What an MPUB may hold (nsqd's --max-body-size and --max-msg-size). */
export interface MpubLimits {
  readonly maxBodySize: number;
  readonly maxMsgSize: number;
}

export interface CommandSink {
  /**
   * A complete command line, without its '\n' and an optional trailing '\r'.
   * The range is only valid during the call. Return true when a size-prefixed body follows,
   * MPUB_BODY when an MPUB body does.
   */
  onLine(buf: Buffer, start: number, end: number): boolean | typeof MPUB_BODY;
  /** The body size announced after a line; return false to refuse it (the sink reports why). */
  onBodySize(size: number): boolean;
  /**
   * The body. `owned` is true when `buf` was assembled for this body alone (the sink may keep it);
   * otherwise it is a range of a received chunk, valid only during the call.
   */
  onBody(buf: Buffer, start: number, end: number, owned: boolean): void;
  /** A framing error: the stream cannot be decoded past this point. */
  onDecodeError(err: ProtocolError): void;
}

const S_LINE = 0;
const S_SIZE = 1;
const S_BODY = 2;
const S_MPUB = 3;

export class CommandDecoder {
  #sink: CommandSink;
  #state = S_LINE;
  #stopped = false;
  #divert: ((rest: Buffer) => void) | null = null;
  /** Partial line or size bytes carried over from an earlier chunk. */
  #stash: Buffer = Buffer.allocUnsafe(256);
  #stashLen = 0;
  /** Body being assembled across chunks. */
  #body: Buffer | null = null;
  #bodySize = 0;
  #bodyFill = 0;
  readonly #limits: MpubLimits | null;
  #mpubNext = false;
  readonly #scan = new MpubScan();

  /** `limits` is needed when the sink answers MPUB_BODY. */
  constructor(sink: CommandSink, limits: MpubLimits | null = null) {
    this.#sink = sink;
    this.#limits = limits;
  }

  /** Stop decoding: everything after this is ignored (the connection is closing). */
  stop(): void {
    this.#stopped = true;
    this.#body = null;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * After the current command, hand every following byte to `sink` instead of decoding it (the
   * stream is about to be compressed or encrypted; the new layer decodes and pushes back).
   */
  divert(sink: (rest: Buffer) => void): void {
    this.#divert = sink;
  }

  push(chunk: Buffer): void {
    const len = chunk.length;
    let pos = 0;
    while (pos < len && !this.#stopped) {
      if (this.#divert !== null) {
        const sink = this.#divert;
        this.#divert = null;
        sink(chunk.subarray(pos));
        return;
      }
      if (this.#state === S_LINE) {
        pos = this.#readLine(chunk, pos, len);
      } else if (this.#state === S_SIZE) {
        pos = this.#readSize(chunk, pos, len);
      } else if (this.#state === S_BODY) {
        pos = this.#readBody(chunk, pos, len);
      } else {
        pos = this.#readMpub(chunk, pos, len);
      }
    }
    if (this.#divert !== null && pos >= len) {
      // the switch came with the chunk's last byte: later chunks go to the new layer anyway
      const sink = this.#divert;
      this.#divert = null;
      sink(Buffer.alloc(0));
    }
  }

  #readLine(chunk: Buffer, pos: number, len: number): number {
    const nl = chunk.indexOf(10, pos);
    if (nl === -1) {
      this.#stashBytes(chunk, pos, len);
      if (this.#stashLen >= MAX_LINE_LENGTH) this.#lineTooLong();
      return len;
    }
    let buf = chunk;
    let start = pos;
    let end = nl;
    if (this.#stashLen > 0) {
      this.#stashBytes(chunk, pos, nl);
      buf = this.#stash;
      start = 0;
      end = this.#stashLen;
      this.#stashLen = 0;
    }
    // nsqd reads through a 16 KiB buffer: the line and its newline must fit
    if (end - start >= MAX_LINE_LENGTH) {
      this.#lineTooLong();
      return len;
    }
    if (end > start && buf[end - 1] === 13) end--;
    const body = this.#sink.onLine(buf, start, end);
    if (body !== false && !this.#stopped) {
      if (body === MPUB_BODY && this.#limits === null) throw new Error('CommandDecoder: MPUB_BODY needs limits');
      this.#mpubNext = body === MPUB_BODY;
      this.#state = S_SIZE;
    }
    return nl + 1;
  }

  #readSize(chunk: Buffer, pos: number, len: number): number {
    const need = 4 - this.#stashLen;
    if (this.#stashLen === 0 && len - pos >= 4) {
      this.#startBody(chunk.readInt32BE(pos));
      return pos + 4;
    }
    const take = Math.min(need, len - pos);
    this.#stashBytes(chunk, pos, pos + take);
    if (this.#stashLen === 4) {
      this.#stashLen = 0;
      this.#startBody(this.#stash.readInt32BE(0));
    }
    return pos + take;
  }

  #startBody(size: number): void {
    if (!this.#sink.onBodySize(size)) {
      this.stop();
      return;
    }
    this.#bodySize = size;
    this.#bodyFill = 0;
    this.#body = null;
    if (this.#mpubNext) {
      this.#scan.reset();
      this.#state = S_MPUB;
      return;
    }
    this.#state = S_BODY;
    if (size === 0) this.#finishBody(Buffer.alloc(0), 0, 0, true);
  }

  #readBody(chunk: Buffer, pos: number, len: number): number {
    const size = this.#bodySize;
    if (this.#body === null && len - pos >= size) {
      // The whole body is in this chunk: hand out the range in place.
      this.#finishBody(chunk, pos, pos + size, false);
      return pos + size;
    }
    if (this.#body === null) this.#body = Buffer.allocUnsafe(size);
    const take = Math.min(size - this.#bodyFill, len - pos);
    chunk.copy(this.#body, this.#bodyFill, pos, pos + take);
    this.#bodyFill += take;
    if (this.#bodyFill === size) {
      const body = this.#body;
      this.#body = null;
      this.#finishBody(body, 0, size, true);
    }
    return pos + take;
  }

  /**
   * An MPUB body ends where its last message does, whatever size was declared before it. Whole in
   * this chunk: handed out in place. Otherwise assembled, copying only bytes the headers read so far
   * prove to be part of it, so nothing after it is swallowed.
   */
  #readMpub(chunk: Buffer, pos: number, len: number): number {
    const { maxBodySize, maxMsgSize } = this.#limits!;
    const s = this.#scan;
    let body = this.#body;
    if (body === null) {
      const r = scanMpub(chunk, pos, len, s, maxBodySize, maxMsgSize);
      if (r === MPUB_INCOMPLETE) {
        // the declared size is the best guess of what is coming (it is within max-body-size)
        body = this.#body = Buffer.allocUnsafe(Math.max(this.#bodySize, s.known));
        chunk.copy(body, 0, pos, len);
        this.#bodyFill = len - pos;
        return len;
      }
      if (typeof r !== 'number') return this.#mpubFault(r, len);
      this.#finishBody(chunk, pos, pos + r, false);
      return pos + r;
    }
    while (pos < len) {
      const want = s.known;
      if (want > body.length) {
        const bigger = Buffer.allocUnsafe(Math.min(maxBodySize, Math.max(want, body.length * 2)));
        body.copy(bigger, 0, 0, this.#bodyFill);
        body = this.#body = bigger;
      }
      const take = Math.min(want - this.#bodyFill, len - pos);
      chunk.copy(body, this.#bodyFill, pos, pos + take);
      this.#bodyFill += take;
      pos += take;
      if (this.#bodyFill < want) break;
      const r = scanMpub(body, 0, this.#bodyFill, s, maxBodySize, maxMsgSize);
      if (r === MPUB_INCOMPLETE) continue;
      if (typeof r !== 'number') return this.#mpubFault(r, len);
      this.#body = null;
      // a buffer much bigger than the batch (a generous declared size) is not kept alive by its messages
      this.#finishBody(body, 0, r, r * 2 >= body.length);
      return pos;
    }
    return pos;
  }

  #mpubFault(f: MpubFault, len: number): number {
    const { maxBodySize, maxMsgSize } = this.#limits!;
    this.stop();
    this.#sink.onDecodeError(mpubProtocolError(f, maxBodySize, maxMsgSize));
    return len;
  }

  #finishBody(buf: Buffer, start: number, end: number, owned: boolean): void {
    this.#state = S_LINE;
    this.#sink.onBody(buf, start, end, owned);
  }

  #stashBytes(chunk: Buffer, from: number, to: number): void {
    const n = to - from;
    if (n <= 0) return;
    const needed = this.#stashLen + n;
    if (needed > this.#stash.length) {
      if (needed > MAX_LINE_LENGTH + 1) {
        // Keep counting but stop storing: the line is going to be refused anyway.
        this.#stashLen = needed;
        return;
      }
      const bigger = Buffer.allocUnsafe(Math.max(needed, this.#stash.length * 2));
      this.#stash.copy(bigger, 0, 0, this.#stashLen);
      this.#stash = bigger;
    }
    chunk.copy(this.#stash, this.#stashLen, from, to);
    this.#stashLen = needed;
  }

  #lineTooLong(): void {
    this.stop();
    this.#sink.onDecodeError(fatal(E_INVALID, `command line longer than ${MAX_LINE_LENGTH - 1} bytes`));
  }
}

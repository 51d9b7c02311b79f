// The MPUB body, [4-byte count]([4-byte size][bytes])*, written and checked once for TCP MPUB,
// binary HTTP /mpub and every client.

import { badMessageSize, E_BAD_BODY, E_BAD_MESSAGE, fatal, messageTooBig, type ProtocolError } from './errors.js';

/** What is wrong with an MPUB body; each caller words it in its own protocol's terms. */
export type MpubFault =
  | { kind: 'no-count' }
  | { kind: 'count'; count: number }
  | { kind: 'no-size'; index: number }
  | { kind: 'size'; index: number; size: number }
  | { kind: 'too-big'; index: number; size: number }
  | { kind: 'truncated'; index: number }
  | { kind: 'body-too-big'; index: number };

/** The largest count a body of `maxBodySize` bytes can hold (nsqd's bound: 5 bytes a message at least). */
export const maxMpubCount = (maxBodySize: number): number => Math.floor((maxBodySize - 4) / 5);

/** scanMpub's answer while the bytes seen so far end inside the body. */
export const MPUB_INCOMPLETE = -1;

/**
 * How far a scan of one MPUB body has got; reused across the chunks of a body, so each header is
 * read once however the body arrives.
 */
export class MpubScan {
  /** -1 until the count has been read. */
  count = -1;
  /** Messages whose size header has been read. */
  index = 0;
  /** Offset, from the body's start, of the next header (or of the body's end once index === count). */
  next = 0;

  reset(): void {
    this.count = -1;
    this.index = 0;
    this.next = 0;
  }

  /** How many bytes of the body are certainly part of it: up to the next header's end, or the whole body. */
  get known(): number {
    return this.count >= 0 && this.index === this.count ? this.next : this.next + 4;
  }

  /** The fault for a body that ends after `have` bytes, short of what the scan needs (nsqd's read error there). */
  shortFault(have: number): MpubFault {
    if (this.count < 0) return { kind: 'no-count' };
    if (have < this.next) return { kind: 'truncated', index: this.index - 1 };
    return { kind: 'no-size', index: this.index };
  }
}

/**
 * Reads the headers of the body starting at `buf[start]` from where `s` stopped, up to `end`, as
 * nsqd reads an MPUB message by message: the first fault wins. Returns the body's length once every
 * message is inside [start, end) (bytes after it are not part of it), or MPUB_INCOMPLETE.
 * Beyond nsqd, the whole body must fit in `maxBodySize`: nsqd reads `count` messages of up to
 * max-msg-size each whatever the body size, gigabytes for one command.
 */
export function scanMpub(buf: Buffer, start: number, end: number, s: MpubScan, maxBodySize: number, maxMsgSize: number): MpubFault | number {
  const have = end - start;
  if (s.count < 0) {
    if (have < 4) return MPUB_INCOMPLETE;
    const count = buf.readInt32BE(start);
    if (count <= 0 || count > maxMpubCount(maxBodySize)) return { kind: 'count', count };
    s.count = count;
    s.next = 4;
  }
  const count = s.count;
  let index = s.index;
  let next = s.next;
  while (index < count) {
    if (have - next < 4) break;
    const size = buf.readInt32BE(start + next);
    if (size <= 0) return { kind: 'size', index, size };
    if (size > maxMsgSize) return { kind: 'too-big', index, size };
    next += 4 + size;
    index++;
    // the messages still to come need 5 bytes each at least
    if (next + 5 * (count - index) > maxBodySize) return { kind: 'body-too-big', index: index - 1 };
  }
  s.index = index;
  s.next = next;
  return index === count && have >= next ? next : MPUB_INCOMPLETE;
}

const scratch = new MpubScan();

/**
 * Checks a complete body at buf[start, end) (binary HTTP /mpub). Returns where the last message
 * ends (bytes after it are ignored, as nsqd ignores them).
 */
export function checkMpubBody(buf: Buffer, start: number, end: number, maxBodySize: number, maxMsgSize: number): MpubFault | number {
  scratch.reset();
  const r = scanMpub(buf, start, end, scratch, maxBodySize, maxMsgSize);
  return r === MPUB_INCOMPLETE ? scratch.shortFault(end - start) : r;
}

/** nsqd's words for each fault of a TCP MPUB. */
export function mpubProtocolError(f: MpubFault, maxBodySize: number, maxMsgSize: number): ProtocolError {
  switch (f.kind) {
    case 'no-count':
      return fatal(E_BAD_BODY, 'MPUB failed to read message count');
    case 'count':
      return fatal(E_BAD_BODY, `MPUB invalid message count ${f.count}`);
    case 'no-size':
      return fatal(E_BAD_MESSAGE, `MPUB failed to read message(${f.index}) body size`);
    case 'size':
      return badMessageSize('MPUB', f.size, f.index);
    case 'too-big':
      return messageTooBig('MPUB', f.size, maxMsgSize);
    case 'truncated':
      return fatal(E_BAD_MESSAGE, 'MPUB failed to read message body');
    case 'body-too-big':
      return fatal(E_BAD_BODY, `MPUB body too big: message(${f.index}) ends past ${maxBodySize}`);
  }
}

/** The body of an MPUB (binary /mpub takes it as is). */
export function encodeMpubBody(bodies: readonly Buffer[]): Buffer {
  let size = 4;
  for (const b of bodies) size += 4 + b.length;
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32BE(bodies.length, 0);
  let pos = 4;
  for (const b of bodies) {
    out.writeUInt32BE(b.length, pos);
    pos += 4;
    pos += b.copy(out, pos);
  }
  return out;
}

// The MPUB body, [4-byte count]([4-byte size][bytes])*, written and checked once for TCP MPUB,
// binary HTTP /mpub and every client.

/** What is wrong with an MPUB body; each caller words it in its own protocol's terms. */
export type MpubFault =
  | { kind: 'no-count' }
  | { kind: 'count'; count: number }
  | { kind: 'no-size'; index: number }
  | { kind: 'size'; index: number; size: number }
  | { kind: 'too-big'; index: number; size: number }
  | { kind: 'truncated'; index: number };

/** The largest count a body of `maxBodySize` bytes can hold (nsqd's bound: 5 bytes a message at least). */
export const maxMpubCount = (maxBodySize: number): number => Math.floor((maxBodySize - 4) / 5);

/**
 * Checks the body at buf[start, end) message by message, as nsqd reads it: the first fault wins.
 * Returns where the last message ends (bytes after it are ignored, as nsqd ignores them).
 */
export function checkMpubBody(buf: Buffer, start: number, end: number, maxBodySize: number, maxMsgSize: number): MpubFault | number {
  if (end - start < 4) return { kind: 'no-count' };
  const count = buf.readInt32BE(start);
  if (count <= 0 || count > maxMpubCount(maxBodySize)) return { kind: 'count', count };
  let pos = start + 4;
  for (let index = 0; index < count; index++) {
    if (end - pos < 4) return { kind: 'no-size', index };
    const size = buf.readInt32BE(pos);
    if (size <= 0) return { kind: 'size', index, size };
    if (size > maxMsgSize) return { kind: 'too-big', index, size };
    pos += 4;
    if (end - pos < size) return { kind: 'truncated', index };
    pos += size;
  }
  return pos;
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

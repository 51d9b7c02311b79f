// The snappy framing format (github.com/google/snappy framing_format.txt), as NSQ's `snappy`
// feature uses it in both directions: a stream identifier, then chunks of at most 64 KiB of data,
// each compressed (or stored) with a masked CRC-32C of the uncompressed bytes. Block compression
// is the `snappy` package's; the framing and the checksum are here.

import { createRequire } from 'node:module';

/** Most uncompressed bytes one chunk may carry. */
export const MAX_CHUNK_DATA = 65536;
/** Snappy's worst case for a 64 KiB block, plus the 4 checksum bytes. */
const MAX_COMPRESSED_CHUNK = 4 + 32 + MAX_CHUNK_DATA + Math.floor(MAX_CHUNK_DATA / 6);

const CHUNK_COMPRESSED = 0x00;
const CHUNK_UNCOMPRESSED = 0x01;
const CHUNK_STREAM_ID = 0xff;
/** ff 06 00 00 "sNaPpY" */
export const STREAM_IDENTIFIER = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);
const STREAM_ID_BODY = STREAM_IDENTIFIER.subarray(4);

interface SnappyBlock {
  compressSync(input: Uint8Array): Buffer;
  uncompressSync(input: Uint8Array, opts: { asBuffer: true }): Buffer;
}

let block: SnappyBlock | null = null;
/** The native block codec, loaded on first use so plain connections never pay for it. */
function snappyBlock(): SnappyBlock {
  if (block === null) block = createRequire(import.meta.url)('snappy') as SnappyBlock;
  return block;
}

// ---- CRC-32C (Castagnoli), table-driven, slicing by 4 ----------------------------------------

const CRC_TABLE = ((): Uint32Array => {
  const t = new Uint32Array(4 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let s = 1; s < 4; s++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[s * 256 + n] = c >>> 0;
    }
  }
  return t;
})();

export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  const t = CRC_TABLE;
  let crc = 0xffffffff;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    crc ^= buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    crc = t[768 + (crc & 0xff)]! ^ t[512 + ((crc >>> 8) & 0xff)]! ^ t[256 + ((crc >>> 16) & 0xff)]! ^ t[crc >>> 24]!;
  }
  for (; i < end; i++) crc = t[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** The framing format's checksum: CRC-32C rotated and offset, so CRCs of CRCs stay strong. */
export function maskedCrc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  const c = crc32c(buf, start, end);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

// ---- encoder --------------------------------------------------------------------------------

/**
 * Turns each write into complete chunks (so whatever is written can be decoded at once by the
 * peer: no buffering across writes). The first output starts with the stream identifier.
 */
export class SnappyFrameEncoder {
  #started = false;

  encode(data: Buffer): Buffer {
    const snappy = snappyBlock();
    const parts: Buffer[] = [];
    if (!this.#started) {
      this.#started = true;
      parts.push(STREAM_IDENTIFIER);
    }
    for (let pos = 0; pos < data.length; pos += MAX_CHUNK_DATA) {
      const piece = data.subarray(pos, Math.min(pos + MAX_CHUNK_DATA, data.length));
      const compressed = snappy.compressSync(piece);
      // store data that does not shrink by at least 1/8, as the reference encoder does
      const stored = compressed.length >= piece.length - (piece.length >>> 3);
      const payload = stored ? piece : compressed;
      const header = Buffer.allocUnsafe(8);
      header[0] = stored ? CHUNK_UNCOMPRESSED : CHUNK_COMPRESSED;
      header.writeUIntLE(payload.length + 4, 1, 3);
      header.writeUInt32LE(maskedCrc32c(piece), 4);
      parts.push(header, payload);
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}

// ---- decoder --------------------------------------------------------------------------------

export class SnappyFrameError extends Error {
  readonly code = 'E_BAD_SNAPPY';
  override name = 'SnappyFrameError';
}

/**
 * Streaming decoder: accepts the framed stream split anywhere and hands each chunk's data to
 * `sink` in order. Any fault stops it for good and throws a SnappyFrameError from `push`.
 */
export class SnappyFrameDecoder {
  readonly #sink: (data: Buffer) => void;
  #sawStreamId = false;
  /** bytes of an incomplete chunk (header included) carried over from earlier pushes */
  #partial: Buffer | null = null;
  #failed: SnappyFrameError | null = null;

  constructor(sink: (data: Buffer) => void) {
    this.#sink = sink;
  }

  push(chunk: Buffer): void {
    if (this.#failed !== null) throw this.#failed;
    let buf = chunk;
    if (this.#partial !== null) {
      buf = Buffer.concat([this.#partial, chunk]);
      this.#partial = null;
    }
    let pos = 0;
    const len = buf.length;
    while (len - pos >= 4) {
      const type = buf[pos]!;
      const size = buf[pos + 1]! | (buf[pos + 2]! << 8) | (buf[pos + 3]! << 16);
      this.#checkHeader(type, size);
      if (len - pos - 4 < size) break;
      const start = pos + 4;
      pos = start + size;
      this.#chunk(type, buf, start, pos);
    }
    if (pos < len) this.#partial = Buffer.from(buf.subarray(pos));
  }

  #fail(message: string): never {
    this.#failed = new SnappyFrameError(message);
    this.#partial = null;
    throw this.#failed;
  }

  #checkHeader(type: number, size: number): void {
    if (!this.#sawStreamId && type !== CHUNK_STREAM_ID) this.#fail('snappy: stream does not start with the stream identifier');
    switch (type) {
      case CHUNK_STREAM_ID:
        if (size !== STREAM_ID_BODY.length) this.#fail(`snappy: bad stream identifier length ${size}`);
        return;
      case CHUNK_COMPRESSED:
        if (size < 4 || size > MAX_COMPRESSED_CHUNK) this.#fail(`snappy: bad compressed chunk length ${size}`);
        return;
      case CHUNK_UNCOMPRESSED:
        if (size < 4 || size > 4 + MAX_CHUNK_DATA) this.#fail(`snappy: bad uncompressed chunk length ${size}`);
        return;
    }
    if (type < 0x80) this.#fail(`snappy: reserved unskippable chunk type 0x${type.toString(16).padStart(2, '0')}`);
    // 0x80-0xfe: skippable (0xfe is padding)
  }

  #chunk(type: number, buf: Buffer, start: number, end: number): void {
    if (type === CHUNK_STREAM_ID) {
      if (!buf.subarray(start, end).equals(STREAM_ID_BODY)) this.#fail('snappy: bad stream identifier');
      this.#sawStreamId = true;
      return;
    }
    if (type !== CHUNK_COMPRESSED && type !== CHUNK_UNCOMPRESSED) return;
    const want = buf.readUInt32LE(start);
    let data: Buffer;
    if (type === CHUNK_UNCOMPRESSED) {
      data = buf.subarray(start + 4, end);
    } else {
      const compressed = buf.subarray(start + 4, end);
      if (uncompressedLength(compressed) > MAX_CHUNK_DATA) this.#fail('snappy: compressed chunk decodes to more than 65536 bytes');
      try {
        data = snappyBlock().uncompressSync(compressed, { asBuffer: true });
      } catch {
        this.#fail('snappy: corrupt compressed chunk');
      }
    }
    if (maskedCrc32c(data) !== want) this.#fail('snappy: checksum mismatch');
    if (data.length > 0) this.#sink(data);
  }
}

/** The varint at the start of a snappy block; Infinity when it is malformed. */
function uncompressedLength(b: Buffer): number {
  let n = 0;
  for (let i = 0, shift = 1; i < 5 && i < b.length; i++, shift *= 128) {
    const byte = b[i]!;
    n += (byte & 0x7f) * shift;
    if (byte < 0x80) return n;
  }
  return Infinity;
}

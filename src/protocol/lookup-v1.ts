// nsqlookupd's TCP protocol V1 on the wire, for both sides: the magic, and answers framed as
// [4-byte big-endian size][data]. Commands are lines (with IDENTIFY's size-prefixed body), encoded
// and decoded by the same encoders.ts / command-decoder.ts as protocol V2.

export const MAGIC_V1 = Buffer.from('  V1', 'latin1');

/** [4-byte big-endian size][data], as nsqlookupd's SendResponse writes. */
export function encodeV1Response(data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

/** Splits the answers of a lookupd out of the received chunks, however they are cut. */
export class V1ResponseDecoder {
  #pending = Buffer.alloc(0);
  #onResponse: (data: Buffer) => void;

  constructor(onResponse: (data: Buffer) => void) {
    this.#onResponse = onResponse;
  }

  push(chunk: Buffer): void {
    let buf = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (buf.length >= 4) {
      const size = buf.readUInt32BE(0);
      if (buf.length < 4 + size) break;
      this.#onResponse(buf.subarray(4, 4 + size));
      buf = buf.subarray(4 + size);
    }
    this.#pending = Buffer.from(buf);
  }
}

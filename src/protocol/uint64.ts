// 64-bit big-endian integers held in a JS number (exact below 2^53): message timestamps in
// nanoseconds on the wire and on disk, durable-mode IDs. Two 32-bit halves, no BigInt.

const TWO_32 = 4294967296;

export function writeUint64BE(buf: Buffer, at: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  buf.writeUInt32BE(hi, at);
  buf.writeUInt32BE(v - hi * TWO_32, at + 4);
}

export function readUint64BE(buf: Buffer, at: number): number {
  return buf.readUInt32BE(at) * TWO_32 + buf.readUInt32BE(at + 4);
}

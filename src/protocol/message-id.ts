// Message IDs: the server's IDs are integers below 2^53, sent as 16 lowercase hex characters.
// Writing and parsing work on bytes directly so FIN/REQ/TOUCH never build strings.

const HEX = Buffer.from('0123456789abcdef', 'latin1');
const TWO_32 = 4294967296;
/** Largest high word a server ID can have (IDs stay below 2^53). */
const MAX_HI = 0x1fffff;

/** hex byte → value, 255 for anything that is not [0-9a-f] */
const UNHEX = new Uint8Array(256).fill(255);
for (let i = 0; i < 16; i++) UNHEX[HEX[i]!] = i;

function writeWord(buf: Buffer, pos: number, word: number): void {
  for (let shift = 28, p = pos; shift >= 0; shift -= 4, p++) {
    buf[p] = HEX[(word >>> shift) & 15]!;
  }
}

/** Writes `id` as 16 hex characters at `pos`. */
export function writeMessageId(buf: Buffer, pos: number, id: number): void {
  writeWord(buf, pos, Math.floor(id / TWO_32));
  writeWord(buf, pos + 8, id >>> 0);
}

export function messageIdToString(id: number): string {
  const b = Buffer.allocUnsafe(16);
  writeMessageId(b, 0, id);
  return b.toString('latin1');
}

/**
 * Parses 16 hex characters at `pos` back to the numeric ID.
 * Returns -1 when they are not hex or cannot be an ID this server issued.
 */
export function parseMessageId(buf: Buffer, pos: number): number {
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < 8; i++) {
    const v = UNHEX[buf[pos + i]!]!;
    if (v === 255) return -1;
    hi = hi * 16 + v;
  }
  for (let i = 8; i < 16; i++) {
    const v = UNHEX[buf[pos + i]!]!;
    if (v === 255) return -1;
    lo = lo * 16 + v;
  }
  if (hi > MAX_HI) return -1;
  return hi * TWO_32 + lo;
}

// The ceilings for request/response publishing (issue #15): TCP servers that speak just enough of
// protocol V2 to answer every command with an OK frame. `nsq serve`'s figure is read as a ratio to
// them, measured in the same run on the same machine. Run as its own process:
// `node dist/bench/ceiling.js [--store]`; it prints `listening on <port>` and serves until killed.
//
// - bare (the default): answers and does nothing else. It is what one Node thread can do per round
//   trip at best.
// - --store: also does the least any queue must do with a PUB: know the topic (the line compared
//   with the last one, decoded only when it differs), read the clock once per chunk, give the
//   message an ID, copy its body into a 256 KiB slab it keeps, and record where it is in columns
//   that grow; after its OK is written, in the same turn (the best order: nsq serve answers a PUB
//   that stays in memory first too). No channels, no stats, no delivery: the gap between the two
//   ceilings is the price of keeping a message at all, which no server that stores one avoids.

import { createServer, type Socket } from 'node:net';

/** [size 6][frame type 0: response]["OK"] */
const OK = Buffer.from([0, 0, 0, 6, 0, 0, 0, 0, 0x4f, 0x4b]);
const NL = 0x0a;
const SLAB = 256 * 1024;

/** Where the kept messages are: one row per message (or per MPUB batch), as a queue would hold them. */
class Store {
  #slabs: Buffer[] = [Buffer.allocUnsafeSlow(SLAB)];
  #pos = 0;
  #rows = 0;
  #ids = new Float64Array(1024);
  #stamps = new Float64Array(1024);
  #where = new Int32Array(3 * 1024);
  #nextId = 1;
  #line: Buffer = Buffer.alloc(0);
  topics = new Map<string, number>();
  #topic = '';

  /** The command line buf[from...nl]: the topic, decoded only when the line differs from the last. */
  line(buf: Buffer, from: number, nl: number): void {
    if (nl - from === this.#line.length && buf.compare(this.#line, 0, this.#line.length, from, nl) === 0) return;
    this.#line = Buffer.from(buf.subarray(from, nl));
    const text = this.#line.toString('latin1');
    this.#topic = text.slice(text.indexOf(' ') + 1);
  }

  /** Keeps the body buf[from...to] (an MPUB's whole body is one row), stamped `now`. */
  keep(buf: Buffer, from: number, to: number, now: number): void {
    const length = to - from;
    let slab = this.#slabs[this.#slabs.length - 1]!;
    if (this.#pos + length > SLAB) {
      slab = Buffer.allocUnsafeSlow(Math.max(SLAB, length));
      this.#slabs.push(slab);
      this.#pos = 0;
    }
    buf.copy(slab, this.#pos, from, to);
    if (this.#rows === this.#ids.length) this.#grow();
    const r = this.#rows++;
    this.#ids[r] = this.#nextId++;
    this.#stamps[r] = now;
    this.#where[3 * r] = this.#slabs.length - 1;
    this.#where[3 * r + 1] = this.#pos;
    this.#where[3 * r + 2] = length;
    this.#pos += length;
    this.topics.set(this.#topic, (this.topics.get(this.#topic) ?? 0) + 1);
  }

  #grow(): void {
    const ids = new Float64Array(this.#ids.length * 2);
    ids.set(this.#ids);
    this.#ids = ids;
    const stamps = new Float64Array(this.#stamps.length * 2);
    stamps.set(this.#stamps);
    this.#stamps = stamps;
    const where = new Int32Array(this.#where.length * 2);
    where.set(this.#where);
    this.#where = where;
  }
}

/** Where the command at buf[pos] ends, or -1 if it is not all there yet. */
function commandEnd(buf: Buffer, pos: number): number {
  const nl = buf.indexOf(NL, pos);
  if (nl < 0) return -1;
  // PUB, MPUB, DPUB, IDENTIFY and AUTH carry a 4-byte size and a body after the line
  const c = buf[pos];
  const bodied = c === 0x50 /* P */ || c === 0x4d /* M */ || c === 0x44 /* D */ || c === 0x49 /* I */ || c === 0x41; /* A */
  if (!bodied) return nl + 1;
  if (buf.length < nl + 5) return -1;
  const end = nl + 5 + buf.readUInt32BE(nl + 1);
  return buf.length < end ? -1 : end;
}

function serve(socket: Socket, store: Store | null): void {
  socket.setNoDelay(true);
  let pending: Buffer | null = null;
  let magic = 4;
  socket.on('data', (chunk: Buffer) => {
    const buf = pending === null ? chunk : Buffer.concat([pending, chunk]);
    pending = null;
    let pos = 0;
    if (magic > 0) {
      const n = Math.min(magic, buf.length);
      magic -= n;
      pos = n;
    }
    const from = pos;
    let answers = 0;
    for (;;) {
      const end = commandEnd(buf, pos);
      if (end < 0) break;
      pos = end;
      answers++;
    }
    if (pos < buf.length) pending = buf.subarray(pos);
    if (answers === 1) socket.write(OK);
    else if (answers > 1) socket.write(Buffer.concat(Array.from({ length: answers }, () => OK)));
    // answered first, then stored, in the same turn (as nsq serve does with a PUB that stays in memory)
    if (store !== null && answers > 0) {
      const now = performance.now();
      for (let at = from; at < pos; ) {
        const end = commandEnd(buf, at);
        const c = buf[at];
        if (c === 0x50 /* P */ || c === 0x4d /* M */) {
          const nl = buf.indexOf(NL, at);
          store.line(buf, at, nl);
          store.keep(buf, nl + 5, end, now);
        }
        at = end;
      }
    }
  });
  socket.on('error', () => socket.destroy());
}

const store = process.argv.includes('--store') ? new Store() : null;
const server = createServer((socket) => serve(socket, store));
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on ${(server.address() as { port: number }).port}\n`);
});

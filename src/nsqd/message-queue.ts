// The queued messages of a topic or channel, kept in typed arrays and no JS object per message, so
// a deep backlog neither bloats the heap nor slows the garbage collector. A Message object is made
// only when a message is delivered.
//
// Messages published together are alike: consecutive IDs, one buffer (a body-store slab), the same
// attempts and, for an MPUB, one timestamp. So the queue is two rings:
// - runs: a stretch of messages with IDs first, first+1, ...; one buffer; one attempts count; and a
//   base timestamp (30 bytes a run);
// - messages: each one's body start and length in its run's buffer (8 bytes a message), and only
//   once a run has needed one, a timestamp offset from its run's base (4 more bytes a message).
// A queue of 1M 200-byte messages published by MPUB costs ~8 bytes a message here (34 before runs).
// A requeued message (its own ID, attempts above 0) is a run of its own.

import { Message } from './message.js';

const EMPTY = Buffer.alloc(0);
/** columns of an empty queue: shared, so an idle topic or channel holds no arrays of its own */
const NO_F64 = new Float64Array(0);
const NO_U16 = new Uint16Array(0);
const NO_I32 = new Int32Array(0);
/** made as the real buffer column is (new Array(n).fill), so the field keeps one elements kind */
const NO_BUFS: Buffer[] = new Array<Buffer>(1).fill(EMPTY);
NO_BUFS.length = 0;
/** an emptied queue this large gives its columns back (a drained backlog keeps no memory) */
const RELEASE_ABOVE = 4096;
/**
 * A message whose timestamp differs from its run's joins it with an offset only when the run is
 * this short (messages published one at a time); a longer run (an MPUB) ends there instead, so a
 * backlog published in batches never needs the offset column.
 */
const JOIN_WITH_OFFSET_BELOW = 8;
const INT32_MAX = 2 ** 31 - 1;

type Fields = (id: number, timestamp: number, attempts: number, buf: Buffer, start: number, length: number) => void;

export class MessageQueue {
  // messages ring
  #starts!: Int32Array;
  #lengths!: Int32Array;
  /** nanoseconds after the run's base timestamp; NO_I32 until a run needed it */
  #tsOffsets!: Int32Array;
  #head = 0;
  #size = 0;
  #mask!: number;
  // runs ring
  #runIds!: Float64Array;
  #runTimestamps!: Float64Array;
  #runAttempts!: Uint16Array;
  /** messages ever added to the run (the head run has given out #taken of them) */
  #runCounts!: Int32Array;
  /** the buffer a run's bodies live in; holding it here keeps it alive exactly as long as needed */
  #runBufs!: Buffer[];
  #runHead = 0;
  #runSize = 0;
  #runMask!: number;
  #taken = 0;
  /** the first capacity, allocated at the first push */
  readonly #initial: number;

  constructor(capacity = 64) {
    let cap = 16;
    while (cap < capacity) cap *= 2;
    this.#initial = cap;
    this.#release();
  }

  get length(): number {
    return this.#size;
  }

  push(id: number, timestamp: number, attempts: number, buf: Buffer, start: number, length: number): void {
    if (this.#size === this.#starts.length) this.#grow();
    const i = (this.#head + this.#size) & this.#mask;
    if (attempts > 65535) attempts = 65535;
    let offset = 0;
    let joined = false;
    if (this.#runSize > 0) {
      const r = (this.#runHead + this.#runSize - 1) & this.#runMask;
      const count = this.#runCounts[r]!;
      if (this.#runBufs[r] === buf && this.#runAttempts[r] === attempts && this.#runIds[r]! + count === id) {
        const base = this.#runTimestamps[r]!;
        if (base === timestamp) {
          joined = true;
        } else if (count < JOIN_WITH_OFFSET_BELOW || this.#tsOffsets.length > 0) {
          offset = timestamp - base;
          joined = Number.isInteger(offset) && offset >= -INT32_MAX && offset <= INT32_MAX && base + offset === timestamp;
        }
        if (joined) this.#runCounts[r] = count + 1;
      }
    }
    if (!joined) {
      this.#addRun(id, timestamp, attempts, buf);
      offset = 0;
    }
    this.#starts[i] = start;
    this.#lengths[i] = length;
    if (offset !== 0) {
      if (this.#tsOffsets.length === 0) this.#tsOffsets = new Int32Array(this.#starts.length);
      this.#tsOffsets[i] = offset;
    } else if (this.#tsOffsets.length > 0) {
      this.#tsOffsets[i] = 0;
    }
    this.#size++;
  }

  pushMessage(msg: Message): void {
    this.push(msg.id, msg.timestamp, msg.attempts, msg.body, msg.bodyStart, msg.bodyLength);
  }

  #addRun(id: number, timestamp: number, attempts: number, buf: Buffer): void {
    if (this.#runSize === this.#runIds.length) this.#growRuns();
    const r = (this.#runHead + this.#runSize) & this.#runMask;
    this.#runIds[r] = id;
    this.#runTimestamps[r] = timestamp;
    this.#runAttempts[r] = attempts;
    this.#runCounts[r] = 1;
    this.#runBufs[r] = buf;
    this.#runSize++;
  }

  /** Removes the oldest message and returns it as a Message object. */
  shift(): Message | undefined {
    if (this.#size === 0) return undefined;
    const i = this.#head;
    const r = this.#runHead;
    const ts = this.#tsOffsets.length > 0 ? this.#runTimestamps[r]! + this.#tsOffsets[i]! : this.#runTimestamps[r]!;
    const msg = new Message(this.#runIds[r]! + this.#taken, ts, this.#runBufs[r]!, this.#starts[i]!, this.#lengths[i]!);
    msg.attempts = this.#runAttempts[r]!;
    this.#drop();
    return msg;
  }

  /** Drops the oldest message. */
  #drop(): void {
    this.#head = (this.#head + 1) & this.#mask;
    this.#size--;
    if (++this.#taken === this.#runCounts[this.#runHead]) {
      this.#runBufs[this.#runHead] = EMPTY;
      this.#runHead = (this.#runHead + 1) & this.#runMask;
      this.#runSize--;
      this.#taken = 0;
    }
    if (this.#size === 0) this.#emptied();
  }

  #emptied(): void {
    this.#head = 0;
    this.#runHead = 0;
    this.#taken = 0;
    if (this.#starts.length > RELEASE_ABOVE || this.#runIds.length > RELEASE_ABOVE) this.#release();
  }

  clear(): void {
    this.#release();
  }

  /** Back to no columns at all (the next push allocates them). */
  #release(): void {
    this.#starts = NO_I32;
    this.#lengths = NO_I32;
    this.#tsOffsets = NO_I32;
    this.#head = 0;
    this.#size = 0;
    this.#mask = 0;
    this.#runIds = NO_F64;
    this.#runTimestamps = NO_F64;
    this.#runAttempts = NO_U16;
    this.#runCounts = NO_I32;
    this.#runBufs = NO_BUFS;
    this.#runHead = 0;
    this.#runSize = 0;
    this.#runMask = 0;
    this.#taken = 0;
  }

  /** Empties the queue oldest first, handing each message's fields to `fn` (no object per message). */
  drain(fn: Fields): void {
    while (this.#size > 0) {
      const i = this.#head;
      const r = this.#runHead;
      const buf = this.#runBufs[r]!;
      const id = this.#runIds[r]! + this.#taken;
      const timestamp = this.#tsOffsets.length > 0 ? this.#runTimestamps[r]! + this.#tsOffsets[i]! : this.#runTimestamps[r]!;
      const attempts = this.#runAttempts[r]!;
      const start = this.#starts[i]!;
      const length = this.#lengths[i]!;
      this.#drop();
      fn(id, timestamp, attempts, buf, start, length);
    }
  }

  /** Drops the newest messages, keeping the oldest `length` (a failed publish takes its own back). */
  truncate(length: number): void {
    while (this.#size > length) {
      this.#size--;
      const r = (this.#runHead + this.#runSize - 1) & this.#runMask;
      const left = --this.#runCounts[r]! - (this.#runSize === 1 ? this.#taken : 0);
      if (left === 0) {
        this.#runBufs[r] = EMPTY;
        this.#runSize--;
      }
    }
    if (this.#size === 0) this.#emptied();
  }

  /** The lowest ID queued (requeued messages sit behind newer ones, so every run is looked at). */
  minId(): number {
    let min = Infinity;
    const ids = this.#runIds;
    for (let k = 0, r = this.#runHead; k < this.#runSize; k++, r = (r + 1) & this.#runMask) {
      const first = k === 0 ? ids[r]! + this.#taken : ids[r]!;
      if (first < min) min = first;
    }
    return min;
  }

  /** The oldest `n` messages' fields, oldest first, left where they are (a peek). */
  peek(n: number, fn: Fields): void {
    let r = this.#runHead;
    let k = this.#taken;
    for (let m = 0, i = this.#head; m < this.#size && m < n; m++, i = (i + 1) & this.#mask) {
      if (k === this.#runCounts[r]) {
        r = (r + 1) & this.#runMask;
        k = 0;
      }
      const timestamp = this.#tsOffsets.length > 0 ? this.#runTimestamps[r]! + this.#tsOffsets[i]! : this.#runTimestamps[r]!;
      fn(this.#runIds[r]! + k, timestamp, this.#runAttempts[r]!, this.#runBufs[r]!, this.#starts[i]!, this.#lengths[i]!);
      k++;
    }
  }

  forEachId(fn: (id: number) => void): void {
    for (let j = 0, r = this.#runHead; j < this.#runSize; j++, r = (r + 1) & this.#runMask) {
      const first = this.#runIds[r]!;
      const end = this.#runCounts[r]!;
      for (let k = j === 0 ? this.#taken : 0; k < end; k++) fn(first + k);
    }
  }

  /** New message columns of twice the slots (at least the first capacity), oldest first. */
  #grow(): void {
    const cap = Math.max(this.#initial, this.#starts.length * 2);
    const starts = new Int32Array(cap);
    const lengths = new Int32Array(cap);
    const offsets = this.#tsOffsets.length > 0 ? new Int32Array(cap) : NO_I32;
    for (let k = 0; k < this.#size; k++) {
      const i = (this.#head + k) & this.#mask;
      starts[k] = this.#starts[i]!;
      lengths[k] = this.#lengths[i]!;
      if (offsets.length > 0) offsets[k] = this.#tsOffsets[i]!;
    }
    this.#starts = starts;
    this.#lengths = lengths;
    this.#tsOffsets = offsets;
    this.#head = 0;
    this.#mask = cap - 1;
  }

  /** New run columns of twice the slots, oldest first. */
  #growRuns(): void {
    const cap = Math.max(16, this.#runIds.length * 2);
    const ids = new Float64Array(cap);
    const timestamps = new Float64Array(cap);
    const attempts = new Uint16Array(cap);
    const counts = new Int32Array(cap);
    const bufs = new Array<Buffer>(cap).fill(EMPTY);
    for (let k = 0; k < this.#runSize; k++) {
      const r = (this.#runHead + k) & this.#runMask;
      ids[k] = this.#runIds[r]!;
      timestamps[k] = this.#runTimestamps[r]!;
      attempts[k] = this.#runAttempts[r]!;
      counts[k] = this.#runCounts[r]!;
      bufs[k] = this.#runBufs[r]!;
    }
    this.#runIds = ids;
    this.#runTimestamps = timestamps;
    this.#runAttempts = attempts;
    this.#runCounts = counts;
    this.#runBufs = bufs;
    this.#runHead = 0;
    this.#runMask = cap - 1;
  }
}

// The queued messages of a topic or channel, kept in typed arrays and no JS object per message, so
// a deep backlog neither bloats the heap nor slows the garbage collector. A Message object is made
// only when a message is delivered.
//
// Messages published together are alike: consecutive IDs, one buffer (a body-store slab), the same
// attempts and, for an MPUB, one timestamp. So the queue is a ring of runs, each a stretch of
// messages with IDs first, first+1, ..., one buffer, one attempts count and one base timestamp
// (42 bytes a run). A run is one of two kinds:
// - packed: its bodies lie back to back in the buffer, each after its 4-byte big-endian size, as
//   an MPUB's do (the body store copies a batch as it came). The run holds where its next body
//   starts and that body's length; the ones after it are found by reading the sizes. Nothing is
//   kept per message.
// - listed: each message's body start and length are in the message ring (8 bytes a message),
//   and, once some run has needed one, its timestamp's offset from its run's base (4 more bytes):
//   messages published one at a time.
// A message joins the newest run when it is alike and, for a packed run, its body follows the
// run's last with its size before it (checked at the push). A packed run of one message becomes
// listed when the next alike message is not laid out so.
// 1M 200-byte messages published by MPUB cost under a byte a message here (34 before runs); published
// one PUB at a time, 12. A requeued message (its own ID, attempts above 0) is a run of its own.

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
 * this short (messages published one at a time); a longer run ends there instead, so a backlog
 * published in batches never needs the offset column.
 */
const JOIN_WITH_OFFSET_BELOW = 8;
const INT32_MAX = 2 ** 31 - 1;
/** #runEnds of a listed run */
const LISTED = -1;
/** #runEnds of a packed run that takes no more messages (its newest were truncated away) */
const CLOSED = -2;

type Fields = (id: number, timestamp: number, attempts: number, buf: Buffer, start: number, length: number) => void;

export class MessageQueue {
  /** messages queued, in all runs */
  #size = 0;
  // the runs ring
  #runIds!: Float64Array;
  #runTimestamps!: Float64Array;
  #runAttempts!: Uint16Array;
  /** messages ever added to the run (the head run has given out #taken of them) */
  #runCounts!: Int32Array;
  /** the buffer a run's bodies live in; holding it here keeps it alive exactly as long as needed */
  #runBufs!: Buffer[];
  /** packed: where the newest body ends (CLOSED: takes no more); LISTED: the message ring has them */
  #runEnds!: Int32Array;
  /** packed: where the oldest body still queued starts, and its length */
  #runStarts!: Int32Array;
  #runLengths!: Int32Array;
  #runHead = 0;
  #runCount = 0;
  #runMask = 0;
  #taken = 0;
  // the message ring: listed runs' messages, oldest first
  #starts!: Int32Array;
  #lengths!: Int32Array;
  /** nanoseconds after the run's base timestamp; NO_I32 until a run needed one */
  #tsOffsets!: Int32Array;
  #head = 0;
  #listed = 0;
  #mask = 0;
  /** the first capacity of the message ring, allocated when first needed */
  readonly #initial: number;
  // what #take() took
  #id = 0;
  #timestamp = 0;
  #attempts = 0;
  #buf: Buffer = EMPTY;
  #start = 0;
  #length = 0;

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
    if (attempts > 65535) attempts = 65535;
    this.#size++;
    if (this.#runCount > 0) {
      const r = (this.#runHead + this.#runCount - 1) & this.#runMask;
      const count = this.#runCounts[r]!;
      if (this.#runBufs[r] === buf && this.#runAttempts[r] === attempts && this.#runIds[r]! + count === id) {
        const base = this.#runTimestamps[r]!;
        const end = this.#runEnds[r]!;
        if (end >= 0 && base === timestamp && start === end + 4 && buf.readInt32BE(end) === length) {
          this.#runEnds[r] = start + length;
          this.#runCounts[r] = count + 1;
          return;
        }
        if (end === CLOSED || (end >= 0 && count > 1)) return this.#addRun(id, timestamp, attempts, buf, start, length);
        let offset = 0;
        if (base !== timestamp) {
          if (count >= JOIN_WITH_OFFSET_BELOW && this.#tsOffsets.length === 0) return this.#addRun(id, timestamp, attempts, buf, start, length);
          offset = timestamp - base;
          if (!Number.isInteger(offset) || offset < -INT32_MAX || offset > INT32_MAX || base + offset !== timestamp) return this.#addRun(id, timestamp, attempts, buf, start, length);
        }
        if (end >= 0) {
          // a packed run of one becomes listed
          this.#list(this.#runStarts[r]!, this.#runLengths[r]!, 0);
          this.#runEnds[r] = LISTED;
        }
        this.#list(start, length, offset);
        this.#runCounts[r] = count + 1;
        return;
      }
    }
    this.#addRun(id, timestamp, attempts, buf, start, length);
  }

  pushMessage(msg: Message): void {
    this.push(msg.id, msg.timestamp, msg.attempts, msg.body, msg.bodyStart, msg.bodyLength);
  }

  /** A new packed run of one message. */
  #addRun(id: number, timestamp: number, attempts: number, buf: Buffer, start: number, length: number): void {
    if (this.#runCount === this.#runIds.length) this.#growRuns();
    const r = (this.#runHead + this.#runCount) & this.#runMask;
    this.#runIds[r] = id;
    this.#runTimestamps[r] = timestamp;
    this.#runAttempts[r] = attempts;
    this.#runCounts[r] = 1;
    this.#runBufs[r] = buf;
    this.#runEnds[r] = start + length;
    this.#runStarts[r] = start;
    this.#runLengths[r] = length;
    this.#runCount++;
  }

  /** Adds a listed message's body and timestamp offset to the message ring. */
  #list(start: number, length: number, offset: number): void {
    if (this.#listed === this.#starts.length) this.#grow();
    const i = (this.#head + this.#listed) & this.#mask;
    this.#starts[i] = start;
    this.#lengths[i] = length;
    if (offset !== 0) {
      if (this.#tsOffsets.length === 0) this.#tsOffsets = new Int32Array(this.#starts.length);
      this.#tsOffsets[i] = offset;
    } else if (this.#tsOffsets.length > 0) {
      this.#tsOffsets[i] = 0;
    }
    this.#listed++;
  }

  /** Removes the oldest message (the queue is not empty) into #id, #timestamp, ... */
  #take(): void {
    const r = this.#runHead;
    const buf = this.#runBufs[r]!;
    this.#id = this.#runIds[r]! + this.#taken;
    this.#attempts = this.#runAttempts[r]!;
    this.#buf = buf;
    const last = ++this.#taken === this.#runCounts[r];
    if (this.#runEnds[r] === LISTED) {
      const i = this.#head;
      this.#start = this.#starts[i]!;
      this.#length = this.#lengths[i]!;
      this.#timestamp = this.#tsOffsets.length > 0 ? this.#runTimestamps[r]! + this.#tsOffsets[i]! : this.#runTimestamps[r]!;
      this.#head = (this.#head + 1) & this.#mask;
      this.#listed--;
    } else {
      const start = this.#runStarts[r]!;
      const length = this.#runLengths[r]!;
      this.#start = start;
      this.#length = length;
      this.#timestamp = this.#runTimestamps[r]!;
      if (!last) {
        const next = start + length + 4;
        this.#runStarts[r] = next;
        this.#runLengths[r] = buf.readInt32BE(next - 4);
      }
    }
    if (last) {
      this.#runBufs[r] = EMPTY;
      this.#runHead = (r + 1) & this.#runMask;
      this.#runCount--;
      this.#taken = 0;
    }
    this.#size--;
    if (this.#size === 0) this.#emptied();
  }

  /** Removes the oldest message and returns it as a Message object. */
  shift(): Message | undefined {
    if (this.#size === 0) return undefined;
    this.#take();
    const msg = new Message(this.#id, this.#timestamp, this.#buf, this.#start, this.#length);
    msg.attempts = this.#attempts;
    this.#buf = EMPTY;
    return msg;
  }

  /** Empties the queue oldest first, handing each message's fields to `fn` (no object per message). */
  drain(fn: Fields): void {
    while (this.#size > 0) {
      this.#take();
      const buf = this.#buf;
      this.#buf = EMPTY;
      fn(this.#id, this.#timestamp, this.#attempts, buf, this.#start, this.#length);
    }
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
    this.#size = 0;
    this.#runIds = NO_F64;
    this.#runTimestamps = NO_F64;
    this.#runAttempts = NO_U16;
    this.#runCounts = NO_I32;
    this.#runBufs = NO_BUFS;
    this.#runEnds = NO_I32;
    this.#runStarts = NO_I32;
    this.#runLengths = NO_I32;
    this.#runHead = 0;
    this.#runCount = 0;
    this.#runMask = 0;
    this.#taken = 0;
    this.#starts = NO_I32;
    this.#lengths = NO_I32;
    this.#tsOffsets = NO_I32;
    this.#head = 0;
    this.#listed = 0;
    this.#mask = 0;
  }

  /** Drops the newest messages, keeping the oldest `length` (a failed publish takes its own back). */
  truncate(length: number): void {
    while (this.#size > length) {
      this.#size--;
      const r = (this.#runHead + this.#runCount - 1) & this.#runMask;
      if (this.#runEnds[r] === LISTED) this.#listed--;
      else this.#runEnds[r] = CLOSED;
      const left = --this.#runCounts[r]! - (this.#runCount === 1 ? this.#taken : 0);
      if (left === 0) {
        this.#runBufs[r] = EMPTY;
        this.#runCount--;
      }
    }
    if (this.#size === 0) this.#emptied();
  }

  /** The lowest ID queued (requeued messages sit behind newer ones, so every run is looked at). */
  minId(): number {
    let min = Infinity;
    const ids = this.#runIds;
    for (let k = 0, r = this.#runHead; k < this.#runCount; k++, r = (r + 1) & this.#runMask) {
      const first = k === 0 ? ids[r]! + this.#taken : ids[r]!;
      if (first < min) min = first;
    }
    return min;
  }

  /** The oldest `n` messages' fields, oldest first, left where they are (a peek). */
  peek(n: number, fn: Fields): void {
    let i = this.#head;
    for (let j = 0, r = this.#runHead, given = 0; j < this.#runCount && given < n; j++, r = (r + 1) & this.#runMask) {
      const id = this.#runIds[r]!;
      const base = this.#runTimestamps[r]!;
      const attempts = this.#runAttempts[r]!;
      const buf = this.#runBufs[r]!;
      const listed = this.#runEnds[r] === LISTED;
      let start = this.#runStarts[r]!;
      let length = this.#runLengths[r]!;
      for (let k = j === 0 ? this.#taken : 0, end = this.#runCounts[r]!; k < end && given < n; k++, given++) {
        if (listed) {
          fn(id + k, this.#tsOffsets.length > 0 ? base + this.#tsOffsets[i]! : base, attempts, buf, this.#starts[i]!, this.#lengths[i]!);
          i = (i + 1) & this.#mask;
        } else {
          fn(id + k, base, attempts, buf, start, length);
          if (k + 1 < end) {
            start += length + 4;
            length = buf.readInt32BE(start - 4);
          }
        }
      }
    }
  }

  forEachId(fn: (id: number) => void): void {
    for (let j = 0, r = this.#runHead; j < this.#runCount; j++, r = (r + 1) & this.#runMask) {
      const first = this.#runIds[r]!;
      const end = this.#runCounts[r]!;
      for (let k = j === 0 ? this.#taken : 0; k < end; k++) fn(first + k);
    }
  }

  /** A message ring of twice the slots (at least the first capacity), oldest first. */
  #grow(): void {
    const cap = Math.max(this.#initial, this.#starts.length * 2);
    const starts = new Int32Array(cap);
    const lengths = new Int32Array(cap);
    const offsets = this.#tsOffsets.length > 0 ? new Int32Array(cap) : NO_I32;
    for (let k = 0; k < this.#listed; k++) {
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

  /** A runs ring of twice the slots, oldest first. */
  #growRuns(): void {
    const cap = Math.max(16, this.#runIds.length * 2);
    const ids = new Float64Array(cap);
    const timestamps = new Float64Array(cap);
    const attempts = new Uint16Array(cap);
    const counts = new Int32Array(cap);
    const bufs = new Array<Buffer>(cap).fill(EMPTY);
    const ends = new Int32Array(cap);
    const starts = new Int32Array(cap);
    const lengths = new Int32Array(cap);
    for (let k = 0; k < this.#runCount; k++) {
      const r = (this.#runHead + k) & this.#runMask;
      ids[k] = this.#runIds[r]!;
      timestamps[k] = this.#runTimestamps[r]!;
      attempts[k] = this.#runAttempts[r]!;
      counts[k] = this.#runCounts[r]!;
      bufs[k] = this.#runBufs[r]!;
      ends[k] = this.#runEnds[r]!;
      starts[k] = this.#runStarts[r]!;
      lengths[k] = this.#runLengths[r]!;
    }
    this.#runIds = ids;
    this.#runTimestamps = timestamps;
    this.#runAttempts = attempts;
    this.#runCounts = counts;
    this.#runBufs = bufs;
    this.#runEnds = ends;
    this.#runStarts = starts;
    this.#runLengths = lengths;
    this.#runHead = 0;
    this.#runMask = cap - 1;
  }
}

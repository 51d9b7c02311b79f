// The queued messages of a topic or channel, stored column-wise in typed arrays: a queued message
// costs about 34 bytes plus its body and no JS object, so a deep backlog neither bloats the heap
// nor slows the garbage collector. A Message object is made only when a message is delivered.

import { Message } from './message.js';

const EMPTY = Buffer.alloc(0);
/** columns of an empty queue: shared, so an idle topic or channel holds no arrays of its own */
const NO_F64 = new Float64Array(0);
const NO_U16 = new Uint16Array(0);
const NO_I32 = new Int32Array(0);
/** made as the real body columns are (new Array(n).fill), so the field keeps one elements kind */
const NO_BUFS: Buffer[] = new Array<Buffer>(1).fill(EMPTY);
NO_BUFS.length = 0;
/** an emptied queue this large gives its columns back (a drained backlog keeps no memory) */
const RELEASE_ABOVE = 4096;

export class MessageQueue {
  #ids!: Float64Array;
  #timestamps!: Float64Array;
  #attempts!: Uint16Array;
  #starts!: Int32Array;
  #lengths!: Int32Array;
  /** the buffer each body lives in; holding it here keeps it alive exactly as long as needed */
  #bufs!: Buffer[];
  #head = 0;
  #size = 0;
  #mask!: number;
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
    if (this.#size === this.#bufs.length) this.#grow();
    const i = (this.#head + this.#size) & this.#mask;
    this.#ids[i] = id;
    this.#timestamps[i] = timestamp;
    this.#attempts[i] = attempts > 65535 ? 65535 : attempts;
    this.#starts[i] = start;
    this.#lengths[i] = length;
    this.#bufs[i] = buf;
    this.#size++;
  }

  pushMessage(msg: Message): void {
    this.push(msg.id, msg.timestamp, msg.attempts, msg.body, msg.bodyStart, msg.bodyLength);
  }

  /** Removes the oldest message and returns it as a Message object. */
  shift(): Message | undefined {
    if (this.#size === 0) return undefined;
    const i = this.#head;
    const msg = new Message(this.#ids[i]!, this.#timestamps[i]!, this.#bufs[i]!, this.#starts[i]!, this.#lengths[i]!);
    msg.attempts = this.#attempts[i]!;
    this.#drop();
    return msg;
  }

  #drop(): void {
    this.#bufs[this.#head] = EMPTY;
    this.#head = (this.#head + 1) & this.#mask;
    this.#size--;
    if (this.#size === 0) {
      this.#head = 0;
      if (this.#bufs.length > RELEASE_ABOVE) this.#release();
    }
  }

  clear(): void {
    this.#release();
  }

  /** Back to no columns at all (the next push allocates them). */
  #release(): void {
    this.#ids = NO_F64;
    this.#timestamps = NO_F64;
    this.#attempts = NO_U16;
    this.#starts = NO_I32;
    this.#lengths = NO_I32;
    this.#bufs = NO_BUFS;
    this.#head = 0;
    this.#size = 0;
    this.#mask = 0;
  }

  /** Empties the queue oldest first, handing each message's fields to `fn` (no object per message). */
  drain(fn: (id: number, timestamp: number, attempts: number, buf: Buffer, start: number, length: number) => void): void {
    while (this.#size > 0) {
      const i = this.#head;
      const buf = this.#bufs[i]!;
      const id = this.#ids[i]!;
      const timestamp = this.#timestamps[i]!;
      const attempts = this.#attempts[i]!;
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
      this.#bufs[(this.#head + this.#size) & this.#mask] = EMPTY;
    }
    if (this.#size === 0) {
      this.#head = 0;
      if (this.#bufs.length > RELEASE_ABOVE) this.#release();
    }
  }

  /** The lowest ID queued (requeued messages sit behind newer ones, so every slot is looked at). */
  minId(): number {
    let min = Infinity;
    const ids = this.#ids;
    for (let k = 0, i = this.#head; k < this.#size; k++, i = (i + 1) & this.#mask) if (ids[i]! < min) min = ids[i]!;
    return min;
  }

  /** The oldest `n` messages' fields, oldest first, left where they are (a peek). */
  peek(n: number, fn: (id: number, timestamp: number, attempts: number, buf: Buffer, start: number, length: number) => void): void {
    for (let k = 0, i = this.#head; k < this.#size && k < n; k++, i = (i + 1) & this.#mask) {
      fn(this.#ids[i]!, this.#timestamps[i]!, this.#attempts[i]!, this.#bufs[i]!, this.#starts[i]!, this.#lengths[i]!);
    }
  }

  forEachId(fn: (id: number) => void): void {
    for (let k = 0, i = this.#head; k < this.#size; k++, i = (i + 1) & this.#mask) fn(this.#ids[i]!);
  }

  #grow(): void {
    this.#resize(Math.max(this.#initial, this.#bufs.length * 2), this.#size);
  }

  /** New columns of `cap` slots, keeping the oldest `keep` messages in order. */
  #resize(cap: number, keep: number): void {
    const ids = new Float64Array(cap);
    const timestamps = new Float64Array(cap);
    const attempts = new Uint16Array(cap);
    const starts = new Int32Array(cap);
    const lengths = new Int32Array(cap);
    const bufs = new Array<Buffer>(cap).fill(EMPTY);
    for (let k = 0; k < keep; k++) {
      const i = (this.#head + k) & this.#mask;
      ids[k] = this.#ids[i]!;
      timestamps[k] = this.#timestamps[i]!;
      attempts[k] = this.#attempts[i]!;
      starts[k] = this.#starts[i]!;
      lengths[k] = this.#lengths[i]!;
      bufs[k] = this.#bufs[i]!;
    }
    this.#ids = ids;
    this.#timestamps = timestamps;
    this.#attempts = attempts;
    this.#starts = starts;
    this.#lengths = lengths;
    this.#bufs = bufs;
    this.#head = 0;
    this.#size = keep;
    this.#mask = cap - 1;
  }
}

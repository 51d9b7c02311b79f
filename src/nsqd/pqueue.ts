// Timeout structures scanned by the one queue-scan loop: no timer per message.
// DeferredHeap orders a channel's deferred messages by due time. TimeoutFifo holds one
// client's in-flight messages in delivery order, which is deadline order because a client
// has one msg_timeout; TOUCH appends a new entry and the old one goes stale.

import { MSG_IN_FLIGHT, type Message } from './message.js';
import type { Client } from './client.js';

export class DeferredHeap {
  #heap: Message[] = [];

  get length(): number {
    return this.#heap.length;
  }

  push(msg: Message): void {
    const h = this.#heap;
    h.push(msg);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]!.deadline <= msg.deadline) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = msg;
  }

  /** The earliest due message if it is due at `now`, removed from the heap. */
  popDue(now: number): Message | undefined {
    const h = this.#heap;
    if (h.length === 0 || h[0]!.deadline > now) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      const n = h.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && h[r]!.deadline < h[l]!.deadline ? r : l;
        if (h[c]!.deadline >= last.deadline) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }

  minId(): number {
    let min = Infinity;
    for (const m of this.#heap) if (m.id < min) min = m.id;
    return min;
  }

  forEach(fn: (msg: Message) => void): void {
    for (const m of this.#heap) fn(m);
  }

  drain(): Message[] {
    const out = this.#heap;
    this.#heap = [];
    return out;
  }
}

export class TimeoutFifo {
  #msgs: (Message | undefined)[] = new Array(64);
  #deadlines = new Float64Array(64);
  #head = 0;
  #size = 0;
  #mask = 63;

  get length(): number {
    return this.#size;
  }

  /** Adds an entry; `live` is how many messages the client really has in flight. */
  push(msg: Message, deadline: number, live: number): void {
    if (this.#size === this.#msgs.length) {
      if (this.#size > 2 * live + 64) this.#compact();
      if (this.#size === this.#msgs.length) this.#grow();
    }
    const i = (this.#head + this.#size) & this.#mask;
    this.#msgs[i] = msg;
    this.#deadlines[i] = deadline;
    this.#size++;
  }

  /** Drops stale entries at the head (finished, requeued or touched messages). */
  trim(owner: Client): void {
    while (this.#size > 0) {
      const i = this.#head;
      if (isLive(this.#msgs[i]!, this.#deadlines[i]!, owner)) return;
      this.#shift();
    }
  }

  /** Removes and returns the next live entry whose deadline has passed, if any. */
  popExpired(now: number, owner: Client): Message | undefined {
    while (this.#size > 0) {
      const i = this.#head;
      const msg = this.#msgs[i]!;
      const deadline = this.#deadlines[i]!;
      if (!isLive(msg, deadline, owner)) {
        this.#shift();
        continue;
      }
      if (deadline > now) return undefined;
      this.#shift();
      return msg;
    }
    return undefined;
  }

  clear(): void {
    this.#msgs = new Array(64);
    this.#deadlines = new Float64Array(64);
    this.#head = 0;
    this.#size = 0;
    this.#mask = 63;
  }

  #shift(): void {
    this.#msgs[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#size--;
  }

  #compact(): void {
    const msgs = this.#msgs;
    const deadlines = this.#deadlines;
    let w = 0;
    for (let k = 0; k < this.#size; k++) {
      const i = (this.#head + k) & this.#mask;
      const msg = msgs[i]!;
      if (msg.state === MSG_IN_FLIGHT && msg.deadline === deadlines[i]) {
        const j = (this.#head + w) & this.#mask;
        msgs[j] = msg;
        deadlines[j] = deadlines[i]!;
        w++;
      }
    }
    for (let k = w; k < this.#size; k++) msgs[(this.#head + k) & this.#mask] = undefined;
    this.#size = w;
  }

  #grow(): void {
    const cap = this.#msgs.length * 2;
    const msgs = new Array<Message | undefined>(cap);
    const deadlines = new Float64Array(cap);
    for (let k = 0; k < this.#size; k++) {
      const i = (this.#head + k) & this.#mask;
      msgs[k] = this.#msgs[i];
      deadlines[k] = this.#deadlines[i]!;
    }
    this.#msgs = msgs;
    this.#deadlines = deadlines;
    this.#head = 0;
    this.#mask = cap - 1;
  }
}

function isLive(msg: Message, deadline: number, owner: Client): boolean {
  return msg.state === MSG_IN_FLIGHT && msg.owner === owner && msg.deadline === deadline;
}

// One client's in-flight messages by ID. IDs are sequential integers, so a power-of-two slot
// array indexed by the low bits finds almost every message in one probe; the rare collision
// (an old message still in flight) goes to a Map.

import type { Message } from './message.js';

export class InFlightTable {
  #slots: (Message | undefined)[];
  #mask: number;
  #overflow = new Map<number, Message>();
  #count = 0;

  constructor(capacity = 64) {
    this.#slots = new Array(capacity);
    this.#mask = capacity - 1;
  }

  get size(): number {
    return this.#count;
  }

  add(msg: Message): void {
    if (this.#count * 2 >= this.#slots.length) this.#resize(this.#slots.length * 2);
    const i = msg.id & this.#mask;
    if (this.#slots[i] === undefined) this.#slots[i] = msg;
    else this.#overflow.set(msg.id, msg);
    this.#count++;
  }

  get(id: number): Message | undefined {
    const m = this.#slots[id & this.#mask];
    if (m !== undefined && m.id === id) return m;
    return this.#overflow.size > 0 ? this.#overflow.get(id) : undefined;
  }

  /** Removes and returns the message with this ID, if present. */
  take(id: number): Message | undefined {
    const i = id & this.#mask;
    const m = this.#slots[i];
    if (m !== undefined && m.id === id) {
      this.#slots[i] = undefined;
      this.#count--;
      return m;
    }
    if (this.#overflow.size === 0) return undefined;
    const o = this.#overflow.get(id);
    if (o !== undefined) {
      this.#overflow.delete(id);
      this.#count--;
    }
    return o;
  }

  minId(): number {
    let min = Infinity;
    for (const m of this.#slots) if (m !== undefined && m.id < min) min = m.id;
    for (const id of this.#overflow.keys()) if (id < min) min = id;
    return min;
  }

  forEach(fn: (msg: Message) => void): void {
    for (const m of this.#slots) if (m !== undefined) fn(m);
    for (const m of this.#overflow.values()) fn(m);
  }

  /** Removes everything, returning the messages. */
  drain(): Message[] {
    const out: Message[] = [];
    for (const m of this.#slots) if (m !== undefined) out.push(m);
    for (const m of this.#overflow.values()) out.push(m);
    this.#slots = new Array(64);
    this.#mask = 63;
    this.#overflow.clear();
    this.#count = 0;
    return out;
  }

  #resize(capacity: number): void {
    const all = this.drain();
    this.#slots = new Array(capacity);
    this.#mask = capacity - 1;
    for (const m of all) this.add(m);
  }
}

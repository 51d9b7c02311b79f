// Message IDs unique on this node: a counter started from the wall clock, so IDs keep
// increasing across restarts (4096 IDs per millisecond of uptime before that could fail).
// The numbers stay below 2^53 and go on the wire as 16 hex characters.

const EPOCH_MS = Date.UTC(2024, 0, 1);
const IDS_PER_MS = 4096;

export class GuidFactory {
  #next: number;

  constructor(nowMs = Date.now()) {
    this.#next = Math.max(1, Math.floor(nowMs - EPOCH_MS)) * IDS_PER_MS;
  }

  next(): number {
    return this.#next++;
  }

  /** The ID the next message will get. */
  peek(): number {
    return this.#next;
  }

  /** After a restart: never issue an ID at or below one that is still on disk. */
  atLeast(n: number): void {
    if (n > this.#next) this.#next = n;
  }
}

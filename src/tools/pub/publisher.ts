// The publisher: each record to each destination (or, through lookupd, to one of them), the
// re-sends after a lost connection, the rejections, and the count of every publish until it settles.

import { NsqError } from '../../client/connection.js';
import type { Destination } from './destinations.js';
import type { Progress } from './progress.js';

const DEFAULTS = {
  /**
   * Stop reading stdin while this many publishes are unacknowledged, and go on once they are down
   * to lowWater. Enough to keep a node 10 ms away busy at 500k msg/s; 4x more measured 2x the
   * memory (200 MB for 1M lines) and no more speed.
   */
  highWater: 5_000,
  highWaterBytes: 16 * 1024 * 1024,
  lowWater: 2_500,
  /** a publish lost with its connection is re-sent this many times */
  maxTries: 5,
  /** rejection lines printed before the rest are only counted */
  maxReported: 50,
};

export interface PublisherOptions {
  /** the prefix of every line printed */
  name: string;
}

/**
 * Sends each record to each destination (or, spreading, to one of them in turn, and to another
 * when that one fails) and keeps count until every publish is settled.
 */
export class Publisher {
  /** empty records left out (without --allow-empty) */
  skipped = 0;
  acked = 0;
  ackedBytes = 0;
  /** (record, destination) pairs the server will never take: too big, or empty */
  rejected = 0;
  /** publishes that failed for good (the connection was lost) */
  failed = 0;
  fatal: Error | null = null;
  /** called once, when publishing cannot go on */
  onFatal: (err: Error) => void = () => {};

  readonly #dests: Destination[];
  /** each record to one live destination, round robin (through lookupd) */
  readonly #spread: boolean;
  #next = 0;
  readonly #cfg: PublisherOptions;
  readonly #progress: Progress;
  #pending = 0;
  #pendingBytes = 0;
  #reported = 0;
  #lowWaiters: (() => void)[] = [];
  #idleWaiters: (() => void)[] = [];

  constructor(dests: Destination[], cfg: PublisherOptions, progress: Progress, spread: boolean) {
    this.#dests = dests;
    this.#spread = spread;
    this.#cfg = cfg;
    this.#progress = progress;
  }

  /** True while so much is unacknowledged that reading should wait for roomFor(). */
  get full(): boolean {
    return this.#pending >= DEFAULTS.highWater || this.#pendingBytes >= DEFAULTS.highWaterBytes;
  }

  get pending(): number {
    return this.#pending;
  }

  roomFor(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve) => this.#lowWaiters.push(resolve));
  }

  /** Resolves once every publish so far is settled. */
  idle(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  submit(n: number, body: Buffer): void {
    if (!this.#spread) {
      for (const d of this.#dests) this.#send(d, n, body, 1);
      return;
    }
    const d = this.#pick();
    if (d === null) this.failed++;
    else this.#send(d, n, body, 1);
  }

  /** The next live destination in turn; null when none is left. */
  #pick(): Destination | null {
    for (let i = 0; i < this.#dests.length; i++) {
      const d = this.#dests[this.#next++ % this.#dests.length]!;
      if (d.dead === null) return d;
    }
    return null;
  }

  #send(d: Destination, n: number, body: Buffer, attempt: number): void {
    if (d.dead !== null) {
      const other = this.#spread ? this.#pick() : null;
      if (other === null) {
        this.failed++;
        return;
      }
      d = other;
    }
    if (body.length > d.maxMsgSize) return this.#reject(d, n, body, d.maxMsgSize);
    if (body.length === 0 && d.rejectsEmpty) return this.#reject(d, n, body, null);
    this.#pending++;
    this.#pendingBytes += body.length;
    d.send(body).then(
      () => {
        this.acked++;
        this.ackedBytes += body.length;
        this.#settle(body);
      },
      (err: unknown) => {
        // handled before the settle, so a re-send keeps the count from touching zero
        this.#onError(d, n, body, attempt, err);
        this.#settle(body);
      },
    );
  }

  #onError(d: Destination, n: number, body: Buffer, attempt: number, err: unknown): void {
    const f = d.classify(err);
    switch (f.kind) {
      case 'too-big':
        if (f.limit === null) return this.#reject(d, n, body, null);
        d.maxMsgSize = f.limit;
        // an MPUB is all or nothing: the rest of a refused batch goes again
        if (body.length > f.limit) return this.#reject(d, n, body, f.limit);
        break;
      case 'empty':
        d.rejectsEmpty = true;
        if (body.length === 0) return this.#reject(d, n, body, null);
        break;
      case 'retry':
        if (this.#spread) return this.#failOver(d, n, body, attempt, err);
        break;
      case 'fatal':
        if (this.#spread) return this.#failOver(d, n, body, attempt, err);
        return this.#die(d, err);
    }
    if (attempt >= DEFAULTS.maxTries) return this.#die(d, err);
    this.#send(d, n, body, attempt + 1);
  }

  /**
   * Spreading: a node that failed a publish gets no more records, and this one goes to another
   * node. A publish whose OK was lost may have been taken: that costs a duplicate, never a loss.
   */
  #failOver(d: Destination, n: number, body: Buffer, attempt: number, err: unknown): void {
    if (d.dead === null) {
      d.dead = err instanceof Error ? err : new Error(String(err));
      const left = this.#dests.filter((x) => x.dead === null).length;
      const what = d.dead.message.includes(d.address) ? d.dead.message : `${d.address}: ${d.dead.message}`;
      if (left > 0) this.#progress.print(`${this.#cfg.name}: ${what}; publishing to the other ${left} nsqd`);
    }
    const other = this.#pick();
    if (other === null) {
      const e = new NsqError('E_NO_NODES', `no nsqd left to publish to (last error: ${d.dead.message})`);
      this.failed++;
      if (this.fatal === null) {
        this.fatal = e;
        this.onFatal(e);
      }
      return;
    }
    this.#send(other, n, body, attempt + 1);
  }

  #reject(d: Destination, n: number, body: Buffer, limit: number | null): void {
    this.rejected++;
    if (this.#reported++ >= DEFAULTS.maxReported) {
      if (this.#reported === DEFAULTS.maxReported + 1) this.#progress.print(`${this.#cfg.name}: more records rejected; only counting from here`);
      return;
    }
    const where = this.#dests.length > 1 ? ` (${d.address})` : '';
    const why =
      body.length === 0
        ? `record ${n} is empty and the server does not accept empty messages${where}`
        : `record ${n} (${body.length} bytes) exceeds the server's max message size${limit === null ? '' : ` ${limit}`}${where}`;
    this.#progress.print(`${this.#cfg.name}: ${why}`);
  }

  #die(d: Destination, err: unknown): void {
    this.failed++;
    if (d.dead !== null) return;
    const e = err instanceof Error ? err : new Error(String(err));
    d.dead = e;
    if (this.fatal === null) {
      this.fatal = e;
      this.onFatal(e);
    }
  }

  #settle(body: Buffer): void {
    this.#pending--;
    this.#pendingBytes -= body.length;
    if (this.#lowWaiters.length > 0 && this.#pending <= DEFAULTS.lowWater && this.#pendingBytes < DEFAULTS.highWaterBytes / 2) {
      for (const f of this.#lowWaiters.splice(0)) f();
    }
    if (this.#pending === 0) for (const f of this.#idleWaiters.splice(0)) f();
  }
}

// The publisher: each record to each destination (or, through lookupd, to one of them), the
// re-sends after a lost connection, the rejections, and the count of every publish until it settles.

import { NsqError } from '../../client/connection.js';
import { formatDuration } from '../../util/duration.js';
import { lossReason, type Destination } from './destinations.js';
import type { Progress } from './progress.js';
import { E_NO_NODES } from '../../protocol/errors.js';

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
  /** --retry: the first reconnect attempt after a loss, doubling up to the longest wait */
  retryFirstDelayMs: 100,
  retryMaxDelayMs: 5_000,
};

export interface PublisherOptions {
  /** the prefix of every line printed */
  name: string;
  /**
   * A lost or refused connection is waited out: reconnect with backoff, and re-send every record
   * not acknowledged. False: a few quick re-sends, then the run fails.
   */
  retry: boolean;
  /** --retry: how long to go on trying once the input has ended (ms) */
  retryTimeoutMs: number;
  /** --defer (ms), for the message when the server refuses it */
  deferMs: number;
}

/** The error code of a --defer longer than the server takes: a usage error (exit 2), not a lost connection. */
export const E_DEFER_TOO_LONG = 'E_DEFER_TOO_LONG';

/** `nsq: --defer 2h0m0s exceeds the server's --max-req-timeout (1h0m0s)`, without the prefix. */
export function deferTooLong(deferMs: number, limitMs: number | null, where: string): NsqError {
  const limit = limitMs === null ? '' : ` (${formatDuration(limitMs)})`;
  return new NsqError(E_DEFER_TOO_LONG, `--defer ${formatDuration(deferMs)} exceeds the server's --max-req-timeout${limit}${where}`);
}

interface Held {
  n: number;
  body: Buffer;
}

/** --retry: a destination whose connection is lost, the records waiting for it, and the reconnecting. */
interface Outage {
  held: Held[];
  /** performance.now() of the loss */
  since: number;
  delayMs: number;
  timer: NodeJS.Timeout | null;
  lastError: unknown;
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
  readonly #outages = new Map<Destination, Outage>();
  /** performance.now() when the input ended (no more submits); null while reading */
  #inputEndedAt: number | null = null;

  constructor(dests: Destination[], cfg: PublisherOptions, progress: Progress, spread: boolean) {
    this.#dests = dests;
    this.#spread = spread;
    this.#cfg = cfg;
    this.#progress = progress;
  }

  /**
   * True while so much is unacknowledged that reading should wait for roomFor(). Records held for
   * a lost connection (--retry) count: reading goes on during an outage until this limit, so the
   * end of a short input is seen (and the wait bounded), and memory stays bounded for a long one.
   * So does a node's connection that holds so much unsent (it is slow or stopped: WRITE_HIGH_WATER).
   */
  get full(): boolean {
    return this.#pending >= DEFAULTS.highWater || this.#pendingBytes >= DEFAULTS.highWaterBytes || this.#blocked() !== undefined;
  }

  #blocked(): Destination | undefined {
    return this.#dests.find((d) => d.dead === null && !d.writable);
  }

  /**
   * No more records will come: from now on an outage is given up after retryTimeoutMs (while
   * reading, it is waited out however long it takes: `tail -F log | nsq pub --retry`).
   */
  inputEnded(): void {
    this.#inputEndedAt = performance.now();
  }

  /** Stop waiting for lost connections (an interrupt): their records count as not acknowledged. */
  abandon(): void {
    for (const [d, o] of [...this.#outages]) this.#giveUp(d, o, null);
    for (const f of this.#lowWaiters.splice(0)) f();
  }

  get pending(): number {
    return this.#pending;
  }

  async roomFor(): Promise<void> {
    while (this.full) {
      const blocked = this.#blocked();
      if (blocked !== undefined) {
        await blocked.whenWritable();
        // resolved with the connection lost: its publishes fail or wait for --retry, not here
        if (this.#blocked() === blocked) await new Promise<void>((resolve) => setTimeout(resolve, 10));
      } else await new Promise<void>((resolve) => this.#lowWaiters.push(resolve));
    }
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

  /** The next live destination in turn (not one whose connection is down); null when none is left. */
  #pick(): Destination | null {
    for (let i = 0; i < this.#dests.length; i++) {
      const d = this.#dests[this.#next++ % this.#dests.length]!;
      if (d.dead === null && !this.#outages.has(d)) return d;
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
    if (this.#outages.has(d)) {
      const other = this.#spread ? this.#pick() : null;
      if (other === null) return this.#hold(d, n, body);
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
      case 'defer-too-long': {
        // every record has the same defer: none will be taken here, nor (through lookupd) elsewhere
        this.failed++;
        if (d.dead === null) d.dead = deferTooLong(this.#cfg.deferMs, f.limit, this.#dests.length > 1 ? ` at ${d.address}` : '');
        return this.#fail(d.dead);
      }
      case 'lost':
        if (this.#cfg.retry) return this.#lost(d, n, body, err);
        if (this.#spread) return this.#failOver(d, n, body, attempt, err);
        if (!f.resend) return this.#die(d, err);
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
      const e = new NsqError(E_NO_NODES, `no nsqd left to publish to (last error: ${d.dead.message})`);
      this.failed++;
      return this.#fail(e);
    }
    this.#send(other, n, body, attempt + 1);
  }

  /** --retry: the connection to `d` is lost; this record goes to another node (spreading) or waits for `d`. */
  #lost(d: Destination, n: number, body: Buffer, err: unknown): void {
    // the run is failing anyway (commands behind a fatal error are cut off with the connection)
    if (this.fatal !== null) {
      this.failed++;
      return;
    }
    if (!this.#outages.has(d)) this.#startOutage(d, err);
    const other = this.#spread ? this.#pick() : null;
    if (other !== null) return this.#send(other, n, body, 1);
    this.#hold(d, n, body);
  }

  #startOutage(d: Destination, err: unknown): void {
    const o: Outage = { held: [], since: performance.now(), delayMs: DEFAULTS.retryFirstDelayMs, timer: null, lastError: err };
    this.#outages.set(d, o);
    this.#progress.print(`${this.#cfg.name}: lost ${d.address} (${lossReason(err)}); retrying…`);
    this.#probeLater(d, o);
  }

  /** Keeps a record for `d` until it is back; it stays pending (so idle() waits, and reading pauses). */
  #hold(d: Destination, n: number, body: Buffer): void {
    const o = this.#outages.get(d);
    // the run is failing anyway (the connection was lost after a fatal error): do not wait
    if (o === undefined || this.fatal !== null || d.dead !== null) {
      this.failed++;
      return;
    }
    this.#pending++;
    this.#pendingBytes += body.length;
    o.held.push({ n, body });
  }

  /** The time (performance.now()) at which an outage is given up; Infinity while input may come. */
  #deadline(o: Outage): number {
    return this.#inputEndedAt === null ? Infinity : Math.max(o.since, this.#inputEndedAt) + this.#cfg.retryTimeoutMs;
  }

  #probeLater(d: Destination, o: Outage): void {
    // the last try comes at the deadline, not up to one backoff step after it
    const wait = Math.max(0, Math.min(o.delayMs, this.#deadline(o) - performance.now()));
    o.timer = setTimeout(() => {
      o.timer = null;
      if (performance.now() >= this.#deadline(o)) return this.#giveUp(d, o, o.lastError);
      d.connect().then(
        () => this.#resume(d, o),
        (err: unknown) => {
          if (this.#outages.get(d) !== o) return;
          o.lastError = err;
          // a server that answers but refuses us (AUTH, TLS) will not change its mind
          if (d.classify(err).kind !== 'lost') return this.#giveUp(d, o, err);
          o.delayMs = Math.min(o.delayMs * 2, DEFAULTS.retryMaxDelayMs);
          this.#probeLater(d, o);
        },
      );
    }, wait);
  }

  /** Connected again: re-send what waited, in order, and let reading go on. */
  #resume(d: Destination, o: Outage): void {
    if (this.#outages.get(d) !== o) return;
    this.#outages.delete(d);
    const secs = (performance.now() - o.since) / 1000;
    this.#progress.print(`${this.#cfg.name}: reconnected to ${d.address} after ${secs.toFixed(1)}s; re-sending ${o.held.length} message${o.held.length === 1 ? '' : 's'}`);
    for (const h of o.held) this.#send(d, h.n, h.body, 1);
    // the held count is handed over to the sends above, which settle for themselves
    for (const h of o.held) this.#settle(h.body);
    this.#wakeReaders();
  }

  /** The outage is over without a connection: its records are not acknowledged. */
  #giveUp(d: Destination, o: Outage, err: unknown): void {
    if (this.#outages.get(d) !== o) return;
    this.#outages.delete(d);
    if (o.timer !== null) clearTimeout(o.timer);
    const e = err instanceof Error ? err : err === null ? null : new Error(String(err));
    if (e !== null) {
      const secs = (performance.now() - o.since) / 1000;
      const what = e.message.includes(d.address) ? e.message : `${d.address}: ${e.message}`;
      const gaveUp = new NsqError(e instanceof NsqError ? e.code : 'E_RETRY', `gave up retrying after ${secs.toFixed(1)}s (${what})`);
      d.dead = gaveUp;
      this.failed += o.held.length;
      for (const h of o.held) this.#settle(h.body);
      return this.#fail(gaveUp);
    }
    this.failed += o.held.length;
    for (const h of o.held) this.#settle(h.body);
  }

  /** Publishing cannot go on: said once, reading stops, and no lost connection is waited for any more. */
  #fail(e: Error): void {
    if (this.fatal !== null) return;
    this.fatal = e;
    this.onFatal(e);
    this.abandon();
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
    this.#fail(e);
  }

  #settle(body: Buffer): void {
    this.#pending--;
    this.#pendingBytes -= body.length;
    this.#wakeReaders();
    if (this.#pending === 0) for (const f of this.#idleWaiters.splice(0)) f();
  }

  #wakeReaders(): void {
    if (this.#lowWaiters.length > 0 && this.#pending <= DEFAULTS.lowWater && this.#pendingBytes < DEFAULTS.highWaterBytes / 2) {
      for (const f of this.#lowWaiters.splice(0)) f();
    }
  }
}

// `nsq bench pub`: publishes as fast as nsqd acknowledges (or at --rate) through the client's
// pipelined path, bodies stamped with their send time (see shared.ts), and reports ack latency.

import type { Pipeline, PublishBatch, PublishSource } from '../../client/connection.js';
import { aborted, anyFailure, createHistogram, figures, MIB, openAll, record, STAMP_LENGTH, STAMP_MAGIC, summary, wallClock, type BenchResult, type CommonOptions, type RecordableHistogram } from './shared.js';

/** aim for writes of about this many bytes */
const WRITE_TARGET = 64 * 1024;
/** publishing window: enough to keep the server busy, not to bury it (the smaller of the two) */
const WINDOW_MESSAGES = 6400;
const WINDOW_BYTES = 4 * MIB;
/** the rate timer's period */
const TICK_MS = 1;

export interface PubOptions extends CommonOptions {
  /** body bytes */
  size: number;
  /** messages per MPUB; 1 publishes with PUB */
  batch: number;
  /** messages per second over all connections; 0: as fast as acknowledgements allow */
  rate: number;
}


/** Hands out messages to the connections, within --count and --rate. */
class Budget {
  handedOut = 0;
  readonly #count: number;
  readonly #rate: number;
  readonly #t0 = performance.now();
  readonly exhausted: Promise<void>;
  #onExhausted!: () => void;

  constructor(count: number, rate: number) {
    this.#count = count;
    this.#rate = rate;
    this.exhausted = new Promise((resolve) => (this.#onExhausted = resolve));
  }

  get limitedByRate(): boolean {
    return this.#rate > 0;
  }

  take(max: number): number {
    let n = max;
    if (this.#count > 0) n = Math.min(n, this.#count - this.handedOut);
    if (this.#rate > 0) n = Math.min(n, Math.floor(((performance.now() - this.#t0) * this.#rate) / 1000) - this.handedOut);
    if (n <= 0) return 0;
    this.handedOut += n;
    if (this.handedOut === this.#count) this.#onExhausted();
    return n;
  }
}

/** A reusable write buffer; laid out once per message count, then only its send times change. */
class Slot implements PublishBatch {
  data: Buffer;
  commands = 0;
  messages = 0;
  readonly buf: Buffer;
  /** where each body starts */
  readonly bodyAt: Int32Array;

  constructor(capacity: number, maxMessages: number) {
    this.buf = Buffer.allocUnsafe(capacity);
    this.data = this.buf.subarray(0, 0);
    this.bodyAt = new Int32Array(maxMessages);
  }
}

/** One connection's publishing: builds PUB/MPUB batches with fresh send times, recycles them on ack. */
class Publisher implements PublishSource {
  readonly window: number;
  ackedMessages = 0;
  lastAckAt = 0;
  readonly #budget: Budget;
  readonly #batch: number;
  readonly #perWrite: number;
  readonly #pubHead: Buffer;
  readonly #mpubHead: Buffer;
  readonly #body: Buffer;
  readonly #stamped: boolean;
  readonly #capacity: number;
  readonly #latency: RecordableHistogram;
  #free: Slot[] = [];

  constructor(o: PubOptions, budget: Budget, latency: RecordableHistogram) {
    this.#budget = budget;
    this.#batch = o.batch;
    this.#latency = latency;
    this.#pubHead = Buffer.from(`PUB ${o.topic}\n`, 'latin1');
    this.#mpubHead = Buffer.from(`MPUB ${o.topic}\n`, 'latin1');
    this.#body = Buffer.allocUnsafe(o.size);
    for (let i = 0; i < o.size; i++) this.#body[i] = 97 + (i % 26);
    this.#stamped = o.size >= STAMP_LENGTH;
    if (this.#stamped) STAMP_MAGIC.copy(this.#body, 0);
    const commandBytes = this.#commandBytes(o.batch);
    this.#perWrite = Math.max(1, Math.round(WRITE_TARGET / commandBytes));
    this.#capacity = this.#perWrite * commandBytes;
    this.window = Math.max(2 * this.#perWrite, Math.min(Math.ceil(WINDOW_MESSAGES / o.batch), Math.ceil(WINDOW_BYTES / commandBytes)));
  }

  #commandBytes(messages: number): number {
    const size = this.#body.length;
    return messages === 1 ? this.#pubHead.length + 4 + size : this.#mpubHead.length + 8 + messages * (4 + size);
  }

  next(room: number): PublishBatch | null {
    const full = this.#perWrite * this.#batch;
    const max = Math.min(full, room * this.#batch);
    // at full speed, wait for room for a whole write rather than sending scraps
    if (max < full && !this.#budget.limitedByRate) return null;
    const n = this.#budget.take(max);
    if (n === 0) return null;
    const slot = this.#free.pop() ?? new Slot(this.#capacity, full);
    if (slot.messages !== n) this.#layOut(slot, n);
    if (this.#stamped) {
      const now = wallClock();
      for (let i = 0; i < n; i++) slot.buf.writeDoubleBE(now, slot.bodyAt[i]! + 8);
    }
    return slot;
  }

  /** `n` messages as commands of --batch messages (the last may be smaller; one message: PUB). */
  #layOut(slot: Slot, n: number): void {
    const { buf, bodyAt } = slot;
    const size = this.#body.length;
    let p = 0;
    let commands = 0;
    for (let done = 0; done < n; commands++) {
      const k = Math.min(this.#batch, n - done);
      if (k === 1) {
        p += this.#pubHead.copy(buf, p);
        buf.writeUInt32BE(size, p);
        p += 4;
      } else {
        p += this.#mpubHead.copy(buf, p);
        buf.writeUInt32BE(this.#commandBytes(k) - this.#mpubHead.length - 4, p);
        buf.writeUInt32BE(k, p + 4);
        p += 8;
      }
      for (let i = 0; i < k; i++, done++) {
        if (k > 1) {
          buf.writeUInt32BE(size, p);
          p += 4;
        }
        bodyAt[done] = p;
        p += this.#body.copy(buf, p);
      }
    }
    slot.data = buf.subarray(0, p);
    slot.commands = commands;
    slot.messages = n;
  }

  acked(batch: PublishBatch, sentAt: number, ackedAt: number): void {
    const slot = batch as Slot;
    this.ackedMessages += slot.messages;
    this.lastAckAt = ackedAt;
    record(this.#latency, ackedAt - sentAt);
    this.#free.push(slot);
  }
}

/** Publishes for --duration (or --count messages) and reports throughput and ack latency. */
export async function benchPub(o: PubOptions): Promise<BenchResult> {
  const conns = await openAll(o);
  const failed = anyFailure(conns);
  const latency = createHistogram();
  let timer: NodeJS.Timeout | undefined;
  let ticker: NodeJS.Timeout | undefined;
  try {
    const t0 = performance.now();
    const budget = new Budget(o.count ?? 0, o.rate);
    const publishers = conns.map(() => new Publisher(o, budget, latency));
    const pipes: Pipeline[] = conns.map((c, i) => c.pipeline(publishers[i]!));
    // at full speed acknowledgements pull the next batches; at a rate, so does the clock
    if (o.rate > 0) ticker = setInterval(() => pipes.forEach((p) => p.pump()), TICK_MS);
    const elapsed = new Promise<void>((resolve) => (timer = setTimeout(resolve, o.durationMs)));
    await Promise.race([elapsed, budget.exhausted, aborted(o.signal), failed]);
    clearInterval(ticker);
    await Promise.race([Promise.all(pipes.map((p) => p.end())), failed]);

    const messages = publishers.reduce((n, p) => n + p.ackedMessages, 0);
    const lastAck = Math.max(t0, ...publishers.map((p) => p.lastAckAt));
    return {
      mode: 'pub',
      addresses: o.addresses,
      topic: o.topic,
      connections: conns.length,
      size: o.size,
      batch: o.batch,
      rate: o.rate,
      ...figures(messages, messages * o.size, lastAck - t0),
      latency: summary(latency, 'ack'),
    };
  } finally {
    clearTimeout(timer);
    clearInterval(ticker);
    for (const c of conns) c.close();
  }
}

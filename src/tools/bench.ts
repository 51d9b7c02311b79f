// `nsq bench pub|sub`: drives any nsqd as hard as it goes (or at --rate) through the client's fast
// paths — pipelined publishing, in-place messages with batched FINs — and reports the figures.
//
// Bodies written by `nsq bench pub` (when --size is at least 16):
//   bytes 0-7    "nsqbench" (ASCII)
//   bytes 8-15   send time: float64, big-endian, ms since the Unix epoch (µs resolution)
//   bytes 16-    filler, "abc…z" repeated
// `nsq bench sub` reports end-to-end latency (its receive time − send time) for bodies that start
// this way; across hosts that needs synchronised clocks. Shorter bodies are filler only.

import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { Connection, NsqError, type Pipeline, type PublishBatch, type PublishSource, type TransportOptions } from '../client/connection.js';
import { parseAddress } from '../client/producer.js';
import { useTlsForHttps } from '../client/http.js';
import { formatDuration } from '../util/duration.js';
import { UserError } from '../util/errors.js';
import { packageVersion } from '../version.js';
import { E_CLOSED } from '../protocol/errors.js';

export const STAMP_MAGIC = Buffer.from('nsqbench', 'latin1');
/** magic + send time */
export const STAMP_LENGTH = 16;
const MIB = 1024 * 1024;
/** aim for writes of about this many bytes */
const WRITE_TARGET = 64 * 1024;
/** publishing window: enough to keep the server busy, not to bury it (the smaller of the two) */
const WINDOW_MESSAGES = 6400;
const WINDOW_BYTES = 4 * MIB;
/** the rate timer's period */
const TICK_MS = 1;
/** message frame data: timestamp (8) + attempts (2) + id (16), then the body */
const ID_OFFSET = 10;
const BODY_OFFSET = 26;
const MAGIC_HI = STAMP_MAGIC.readUInt32BE(0);
const MAGIC_LO = STAMP_MAGIC.readUInt32BE(4);

export const BENCH_DEFAULTS = {
  topic: 'bench',
  channel: 'bench',
  duration: '10s',
  size: 200,
  batch: 200,
  connections: 1,
  rate: 0,
  maxInFlight: 2500,
};

export interface CommonOptions {
  /** nsqd TCP addresses (host:port); `connections` connections to each */
  addresses: string[];
  topic: string;
  connections: number;
  durationMs: number;
  /** stop after this many messages (0: when durationMs has passed) */
  count?: number;
  userAgent?: string;
  /** TLS and compression for every connection */
  transport?: TransportOptions;
  /** AUTH secret for nodes that require it */
  authSecret?: string;
  /** stops the run early; the figures so far are reported */
  signal?: AbortSignal;
}

export interface PubOptions extends CommonOptions {
  /** body bytes */
  size: number;
  /** messages per MPUB; 1 publishes with PUB */
  batch: number;
  /** messages per second over all connections; 0: as fast as acknowledgements allow */
  rate: number;
}

export interface SubOptions extends CommonOptions {
  channel: string;
  /** RDY over all connections */
  maxInFlight: number;
  /** latency samples start this long after the first message (JIT and connection warm-up) */
  warmupMs?: number;
}

export interface LatencySummary {
  /** ack: from writing a batch of publish commands to the OK of its last; end-to-end: publish to receipt */
  kind: 'ack' | 'end-to-end';
  samples: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface BenchResult {
  mode: 'pub' | 'sub';
  addresses: string[];
  topic: string;
  channel?: string;
  connections: number;
  size?: number;
  batch?: number;
  rate?: number;
  /** RDY per connection, after the server's max_rdy_count */
  rdy?: number;
  messages: number;
  /** body bytes */
  bytes: number;
  seconds: number;
  msgsPerSec: number;
  /** body MiB (2^20 bytes) per second, as nsq's bench tools count */
  mibPerSec: number;
  latency: LatencySummary | null;
  /** deliveries with attempts > 1 (sub) */
  redelivered?: number;
}

/** Wall-clock ms since the epoch with µs resolution, comparable between processes. */
const wallClock = (): number => performance.timeOrigin + performance.now();

async function openAll(o: CommonOptions): Promise<Connection[]> {
  const targets = o.addresses.flatMap((a) => Array.from({ length: o.connections }, () => parseAddress(a)));
  const opened = await Promise.allSettled(
    targets.map((t) => Connection.open({ host: t.host, port: t.port, clientId: 'bench', userAgent: o.userAgent ?? `nsq-bench/${packageVersion()}`, authSecret: o.authSecret, ...o.transport })),
  );
  const conns = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failure = opened.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure !== undefined) {
    for (const c of conns) c.close();
    throw failure.reason;
  }
  return conns;
}

/** Rejects when any of `conns` closes; settle the run before closing them yourself. */
function anyFailure(conns: Connection[]): Promise<never> {
  const p = new Promise<never>((_, reject) => {
    for (const c of conns) void c.closed.then((err) => reject(err ?? new NsqError(E_CLOSED, `connection to ${c.address} closed`)));
  });
  p.catch(() => {});
  return p;
}

function aborted(signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return new Promise(() => {});
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

function summary(h: RecordableHistogram, kind: LatencySummary['kind']): LatencySummary | null {
  if (h.count === 0) return null;
  const ms = (ns: number): number => Math.round(ns / 1e3) / 1e3;
  return { kind, samples: h.count, p50Ms: ms(h.percentile(50)), p90Ms: ms(h.percentile(90)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max) };
}

/** Records milliseconds as nanoseconds (the histogram wants integers >= 1). */
const record = (h: RecordableHistogram, ms: number): void => h.record(Math.max(1, Math.round(ms * 1e6)));

function figures(messages: number, bytes: number, ms: number): Pick<BenchResult, 'messages' | 'bytes' | 'seconds' | 'msgsPerSec' | 'mibPerSec'> {
  const seconds = ms / 1000;
  const perSec = (x: number): number => (seconds > 0 ? x / seconds : 0);
  return { messages, bytes, seconds: Math.round(seconds * 1000) / 1000, msgsPerSec: Math.round(perSec(messages)), mibPerSec: Math.round((100 * perSec(bytes)) / MIB) / 100 };
}

// ---- pub ---------------------------------------------------------------------------------------

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

// ---- sub ---------------------------------------------------------------------------------------

export interface SubRun {
  /** messages received (and finished) so far */
  readonly received: number;
  /** the figures, once --duration or --count is reached or `stop()` was called */
  readonly done: Promise<BenchResult>;
  /** Stops now, or once `atLeast` messages have arrived. */
  stop(atLeast?: number): void;
}

/** Subscribes every connection and starts consuming; resolves once all are subscribed. */
export async function startSub(o: SubOptions): Promise<SubRun> {
  const conns = await openAll(o);
  const failed = anyFailure(conns);
  const latency = createHistogram();
  const warmupMs = o.warmupMs ?? 0;
  let received = 0;
  let bytes = 0;
  let redelivered = 0;
  let firstAt = 0;
  let lastAt = 0;
  let stopAt = o.count !== undefined && o.count > 0 ? o.count : Infinity;
  let requestStop!: () => void;
  const stopRequested = new Promise<void>((resolve) => (requestStop = resolve));

  let rdy = Math.max(1, Math.floor(o.maxInFlight / conns.length));
  try {
    await Promise.all(conns.map((c) => c.subscribe(o.topic, o.channel)));
  } catch (err) {
    for (const c of conns) c.close();
    throw err;
  }
  for (const conn of conns) {
    conn.events.rawMessage = (buf, start, end) => {
      const at = conn.receivedAt;
      if (firstAt === 0) firstAt = at;
      lastAt = at;
      received++;
      const body = start + BODY_OFFSET;
      bytes += end - body;
      if (buf.readUInt16BE(start + 8) > 1) redelivered++;
      if (end - body >= STAMP_LENGTH && buf.readUInt32BE(body) === MAGIC_HI && buf.readUInt32BE(body + 4) === MAGIC_LO && at - firstAt >= warmupMs) {
        record(latency, performance.timeOrigin + at - buf.readDoubleBE(body + 8));
      }
      conn.finishRaw(buf, start + ID_OFFSET);
      if (received === stopAt) requestStop();
    };
    // a larger RDY than the server allows is a fatal error: ask for what it allows
    const max = conn.identify?.max_rdy_count;
    if (max !== undefined && max > 0) rdy = Math.min(rdy, max);
  }
  const startedAt = performance.now();
  for (const conn of conns) conn.ready(rdy);

  let timer: NodeJS.Timeout | undefined;
  const run = async (): Promise<BenchResult> => {
    try {
      const elapsed = new Promise<void>((resolve) => (timer = setTimeout(resolve, o.durationMs)));
      await Promise.race([elapsed, stopRequested, aborted(o.signal), failed]);
      // CLS: nsqd stops delivering and answers CLOSE_WAIT after what it already sent, all FINed
      await Promise.race([Promise.all(conns.map((c) => c.startClose())), failed]);
      // all in one chunk: no spread to measure, so count from RDY
      const from = lastAt > firstAt ? firstAt : startedAt;
      return {
        mode: 'sub',
        addresses: o.addresses,
        topic: o.topic,
        channel: o.channel,
        connections: conns.length,
        rdy,
        ...figures(received, bytes, received === 0 ? 0 : lastAt - from),
        latency: summary(latency, 'end-to-end'),
        redelivered,
      };
    } finally {
      clearTimeout(timer);
      for (const c of conns) c.close();
    }
  };
  const done = run();
  done.catch(() => {});
  return {
    get received() {
      return received;
    },
    done,
    stop(atLeast = 0) {
      stopAt = atLeast;
      if (received >= atLeast) requestStop();
    },
  };
}

/** Consumes for --duration (or --count messages) and reports throughput and end-to-end latency. */
export async function benchSub(o: SubOptions): Promise<BenchResult> {
  return (await startSub(o)).done;
}

// ---- the command -------------------------------------------------------------------------------

const num = (x: number, digits = 0): string => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** The short human report. */
export function formatResult(r: BenchResult): string {
  const conns = `${r.connections} connection${r.connections === 1 ? '' : 's'}`;
  const what =
    r.mode === 'pub'
      ? `topic ${r.topic}, ${conns}, ${r.batch === 1 ? 'PUB' : `MPUB ×${r.batch}`}, ${r.size} B bodies, ${r.rate ? `${num(r.rate)} msgs/s` : 'full speed'}`
      : `${r.topic}/${r.channel}, ${conns}, RDY ${r.rdy} each`;
  const lines = [
    `nsq bench ${r.mode} → ${r.addresses.join(', ')}: ${what}`,
    `  messages   ${num(r.messages)} in ${r.seconds.toFixed(2)} s${r.redelivered ? ` (${num(r.redelivered)} redelivered)` : ''}`,
    `  rate       ${num(r.msgsPerSec)} msgs/s, ${num(r.mibPerSec, 2)} MiB/s`,
  ];
  const l = r.latency;
  if (l !== null) {
    const kind = l.kind === 'ack' ? `ack: write to OK, ${num(l.samples)} writes` : `end-to-end: publish to receipt, ${num(l.samples)} messages`;
    lines.push(`  latency    p50 ${num(l.p50Ms, 3)}  p90 ${num(l.p90Ms, 3)}  p99 ${num(l.p99Ms, 3)}  max ${num(l.maxMs, 3)} ms (${kind})`);
  } else if (r.mode === 'sub' && r.messages > 0) {
    lines.push('  latency    n/a: the bodies carry no `nsq bench pub` send time');
  }
  return `${lines.join('\n')}\n`;
}

export type BenchRun = ({ mode: 'pub' } & PubOptions) | ({ mode: 'sub' } & SubOptions);

export interface BenchReport {
  /** nodes are found through these lookupds when `addresses` is empty */
  lookupdHttpAddresses: string[];
  lookupdPollInterval: number;
  /** one JSON object instead of the human report */
  json: boolean;
}

/** `nsq bench pub|sub`: runs, then prints the report (or one JSON object with --json). Ctrl-C stops early and reports. */
export async function runBench(run: BenchRun, report: BenchReport): Promise<void> {
  const { mode, ...opts } = run;
  if (opts.transport !== undefined) await useTlsForHttps(opts.transport);
  const client = report;
  const lookupds = client.lookupdHttpAddresses;
  const ac = new AbortController();
  const onSignal = (): void => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  if (opts.addresses.length === 0 && lookupds.length > 0) {
    // through lookupd: publish to every node it knows; consume from every node with the topic,
    // waiting (as every consumer does) until one has it
    const { Discovery, lookupAllNodes } = await import('../client/discovery.js');
    if (mode === 'pub') {
      try {
        opts.addresses = await lookupAllNodes(lookupds);
      } catch (err) {
        throw new UserError((err as Error).message, 'E_LOOKUPD', 1);
      }
      if (opts.addresses.length === 0) throw new UserError(`no nsqd registered with lookupd ${lookupds.join(', ')}`, 'E_NO_NODES', 1);
    } else {
      const d = new Discovery(lookupds, opts.topic, client.lookupdPollInterval);
      const found = new Promise<void>((resolve) => {
        d.events.added = () => resolve();
        ac.signal.addEventListener('abort', () => resolve());
      });
      d.events.waiting = (why) => process.stderr.write(`nsq bench: waiting: ${why}; asking lookupd again every ${formatDuration(client.lookupdPollInterval)}\n`);
      await d.start();
      await found;
      d.stop();
      opts.addresses = d.nodes;
      if (opts.addresses.length === 0) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        // nothing was measured: not a success
        throw new UserError(`stopped before any nsqd had topic ${opts.topic}`, 'E_NO_NODES', 1);
      }
    }
  }
  let result: BenchResult;
  try {
    result = mode === 'pub' ? await benchPub({ ...(opts as PubOptions), signal: ac.signal }) : await benchSub({ ...(opts as SubOptions), signal: ac.signal });
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError((err as Error).message, (err as { code?: string }).code ?? 'E_BENCH', 1);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  process.stdout.write(report.json ? `${JSON.stringify(result)}\n` : formatResult(result));
}

// `nsq bench sub`: consumes and FINs as fast as nsqd delivers, reading messages in place, and
// reports end-to-end latency from the send times `bench pub` writes into the bodies.

import { aborted, anyFailure, createHistogram, figures, openAll, record, STAMP_LENGTH, STAMP_MAGIC, summary, type BenchResult, type CommonOptions } from './shared.js';

/** message frame data: timestamp (8) + attempts (2) + id (16), then the body */
const ID_OFFSET = 10;
const BODY_OFFSET = 26;
const MAGIC_HI = STAMP_MAGIC.readUInt32BE(0);
const MAGIC_LO = STAMP_MAGIC.readUInt32BE(4);

export interface SubOptions extends CommonOptions {
  channel: string;
  /** RDY over all connections */
  maxInFlight: number;
  /** latency samples start this long after the first message (JIT and connection warm-up) */
  warmupMs?: number;
  /**
   * count only the messages of a publisher that started at this wall-clock time (ms since the
   * epoch): bodies stamped earlier, or not stamped, are finished and counted as `older`
   */
  since?: number;
}

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
  let older = 0;
  const since = o.since ?? 0;
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
      const body = start + BODY_OFFSET;
      const stamped = end - body >= STAMP_LENGTH && buf.readUInt32BE(body) === MAGIC_HI && buf.readUInt32BE(body + 4) === MAGIC_LO;
      if (since > 0 && (!stamped || buf.readDoubleBE(body + 8) < since)) {
        // not this run's: taken off the channel, not measured
        older++;
        conn.finishRaw(buf, start + ID_OFFSET);
        return;
      }
      if (firstAt === 0) firstAt = at;
      lastAt = at;
      received++;
      bytes += end - body;
      if (buf.readUInt16BE(start + 8) > 1) redelivered++;
      if (stamped && at - firstAt >= warmupMs) {
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
        ...(since > 0 ? { older } : {}),
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

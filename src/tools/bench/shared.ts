// `nsq bench`: what the modes share — the options every mode takes, the result a mode reports,
// opening the connections, and the figures (rates, latency percentiles).
//
// Bodies written by `nsq bench pub` (when --size is at least 16):
//   bytes 0-7    "nsqbench" (ASCII)
//   bytes 8-15   send time: float64, big-endian, ms since the Unix epoch (µs resolution)
//   bytes 16-    filler, "abc…z" repeated
// `nsq bench sub` reports end-to-end latency (its receive time − send time) for bodies that start
// this way; across hosts that needs synchronised clocks. Shorter bodies are filler only.

import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { Connection, NsqError, type TransportOptions } from '../../client/connection.js';
import { parseAddress } from '../../client/producer.js';
import { packageVersion } from '../../version.js';
import { E_CLOSED } from '../../protocol/errors.js';

export { createHistogram, type RecordableHistogram };

export const STAMP_MAGIC = Buffer.from('nsqbench', 'latin1');
/** magic + send time */
export const STAMP_LENGTH = 16;
export const MIB = 1024 * 1024;

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
  /** the combined run's subscriber: messages from before the run, taken off the channel and not counted */
  older?: number;
}

/** Wall-clock ms since the epoch with µs resolution, comparable between processes. */
export const wallClock = (): number => performance.timeOrigin + performance.now();

export async function openAll(o: CommonOptions): Promise<Connection[]> {
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
export function anyFailure(conns: Connection[]): Promise<never> {
  const p = new Promise<never>((_, reject) => {
    for (const c of conns) void c.closed.then((err) => reject(err ?? new NsqError(E_CLOSED, `connection to ${c.address} closed`)));
  });
  p.catch(() => {});
  return p;
}

export function aborted(signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return new Promise(() => {});
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

export function summary(h: RecordableHistogram, kind: LatencySummary['kind']): LatencySummary | null {
  if (h.count === 0) return null;
  const ms = (ns: number): number => Math.round(ns / 1e3) / 1e3;
  return { kind, samples: h.count, p50Ms: ms(h.percentile(50)), p90Ms: ms(h.percentile(90)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max) };
}

/** Records milliseconds as nanoseconds (the histogram wants integers >= 1). */
export const record = (h: RecordableHistogram, ms: number): void => h.record(Math.max(1, Math.round(ms * 1e6)));

export function figures(messages: number, bytes: number, ms: number): Pick<BenchResult, 'messages' | 'bytes' | 'seconds' | 'msgsPerSec' | 'mibPerSec'> {
  const seconds = ms / 1000;
  const perSec = (x: number): number => (seconds > 0 ? x / seconds : 0);
  return { messages, bytes, seconds: Math.round(seconds * 1000) / 1000, msgsPerSec: Math.round(perSec(messages)), mibPerSec: Math.round((100 * perSec(bytes)) / MIB) / 100 };
}

// The bench cases. Each one starts its own `nsq serve` child, drives it with the bench client
// and returns its figures; sizes scale down 10x for --quick.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeMpub } from '../src/protocol/encoders.js';
import { BenchConnection, consume, makeBody, pubBatch, publishPipelined, type Throughput } from './client.js';
import { withServer, type ServerOptions } from './server.js';

export const BODY_SIZE = 200;
const MIB = 1024 * 1024;
/** nsqd's default --mem-queue-size, for the cases that do not queue a backlog on purpose */
const DEFAULT_MEM_QUEUE = 10_000;
const BIG_MEM_QUEUE = 2_000_000;
const MPUB_SIZE = 200;

export interface BenchConfig {
  quick: boolean;
  /** write a server CPU profile per case into <dir>/<case> */
  profDir?: string;
}

export interface CaseResult {
  msgsPerSec?: number;
  /** message body bytes per second, in MiB (as nsq's bench tools count) */
  mibPerSec?: number;
  p50Ms?: number;
  p99Ms?: number;
  maxMs?: number;
  rssMiB?: number;
  /** everything else worth keeping in the JSON */
  details: Record<string, unknown>;
}

export interface BenchCase {
  name: string;
  title: string;
  run(cfg: BenchConfig): Promise<CaseResult>;
}

const scaled = (cfg: BenchConfig, n: number): number => (cfg.quick ? Math.round(n / 10) : n);
const timeout = (cfg: BenchConfig): number => (cfg.quick ? 30_000 : 60_000);
const serverOpts = (cfg: BenchConfig, name: string, memQueueSize: number): ServerOptions => ({
  memQueueSize,
  ...(cfg.profDir !== undefined ? { cpuProfDir: `${cfg.profDir}/${name}` } : {}),
});

function throughput(t: Throughput): Pick<CaseResult, 'msgsPerSec' | 'mibPerSec'> & { messages: number; seconds: number } {
  const msgsPerSec = t.messages / t.seconds;
  return { messages: t.messages, seconds: round(t.seconds, 3), msgsPerSec: Math.round(msgsPerSec), mibPerSec: round((msgsPerSec * BODY_SIZE) / MIB, 2) };
}

const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** One MPUB of 200 bodies, `perWrite` of them concatenated. */
function mpubBatch(topic: string, perWrite: number): Buffer {
  const one = encodeMpub(topic, Array.from({ length: MPUB_SIZE }, () => makeBody(BODY_SIZE)));
  return Buffer.concat(Array.from({ length: perWrite }, () => one));
}

/** Publishes `count` messages with pipelined MPUBs of 200 on a fresh connection. */
async function mpubPipelined(port: number, topic: string, count: number, maxMs: number): Promise<Throughput> {
  const conn = await BenchConnection.open(port);
  try {
    // 2 MPUBs (~82 KB) per write, at most 32 MPUBs (6,400 messages) unanswered
    return await publishPipelined(conn, { batch: mpubBatch(topic, 2), commandsPerBatch: 2, messagesPerCommand: MPUB_SIZE, window: 32, maxMessages: count, maxMs });
  } finally {
    conn.close();
  }
}

// ---- 1. PUB ----------------------------------------------------------------------------------

const pub: BenchCase = {
  name: 'pub',
  title: 'publish, PUB (1 conn, pipelined)',
  run: (cfg) =>
    withServer(serverOpts(cfg, 'pub', DEFAULT_MEM_QUEUE), timeout(cfg), async (server) => {
      const conn = await BenchConnection.open(server.tcpPort);
      try {
        // 100 PUBs (~21 KB) per write, at most 2,000 unanswered
        const t = await publishPipelined(conn, {
          batch: pubBatch('bench_pub', makeBody(BODY_SIZE), 100),
          commandsPerBatch: 100,
          messagesPerCommand: 1,
          window: 2000,
          maxMessages: scaled(cfg, 1_000_000),
          maxMs: cfg.quick ? 500 : 5000,
        });
        const r = throughput(t);
        return { msgsPerSec: r.msgsPerSec, mibPerSec: r.mibPerSec, details: { ...r, pubsPerWrite: 100, window: 2000 } };
      } finally {
        conn.close();
      }
    }),
};

// ---- 2. MPUB ---------------------------------------------------------------------------------

const mpub: BenchCase = {
  name: 'mpub',
  title: 'publish, MPUB x200 (1 conn, pipelined)',
  run: (cfg) =>
    withServer(serverOpts(cfg, 'mpub', DEFAULT_MEM_QUEUE), timeout(cfg), async (server) => {
      const t = await mpubPipelined(server.tcpPort, 'bench_mpub', scaled(cfg, 2_000_000), cfg.quick ? 500 : 5000);
      const r = throughput(t);
      return { msgsPerSec: r.msgsPerSec, mibPerSec: r.mibPerSec, details: { ...r, batch: MPUB_SIZE, mpubsPerWrite: 2, window: 32 } };
    }),
};

// ---- 3. consume ------------------------------------------------------------------------------

const consumeCase: BenchCase = {
  name: 'consume',
  title: 'consume, RDY 2500, FIN each',
  run: (cfg) =>
    withServer(serverOpts(cfg, 'consume', BIG_MEM_QUEUE), timeout(cfg), async (server) => {
      const topic = 'bench_consume';
      const count = scaled(cfg, 1_000_000);
      await server.createChannel(topic, 'ch');
      const pre = await mpubPipelined(server.tcpPort, topic, count, Infinity);
      const depth = (await server.depths(topic)).channels['ch'];
      if (depth !== count) throw new Error(`channel depth ${depth} after publishing ${count}`);

      const conn = await BenchConnection.open(server.tcpPort);
      try {
        await conn.subscribe(topic, 'ch');
        const res = await consume(conn, { rdy: 2500, expected: count }).done;
        const r = throughput(res);
        const prepublish = throughput(pre);
        return {
          msgsPerSec: r.msgsPerSec,
          mibPerSec: r.mibPerSec,
          details: { ...r, redelivered: res.redelivered, rdy: 2500, prepublishMsgsPerSec: prepublish.msgsPerSec, prepublishSeconds: prepublish.seconds },
        };
      } finally {
        conn.close();
      }
    }),
};

// ---- 4. latency ------------------------------------------------------------------------------

const RATE = 10_000;
/** if the timer falls behind, catch up by at most this many messages per tick */
const MAX_BURST = 500;

const latency: BenchCase = {
  name: 'latency',
  title: `end-to-end latency @ ${RATE / 1000}k msg/s`,
  run: (cfg) =>
    withServer(serverOpts(cfg, 'latency', DEFAULT_MEM_QUEUE), timeout(cfg), async (server) => {
      const topic = 'bench_latency';
      const warmupMs = cfg.quick ? 200 : 500;
      const measureMs = cfg.quick ? 1000 : 5000;
      await server.createChannel(topic, 'ch');

      const consumer = await BenchConnection.open(server.tcpPort);
      const producer = await BenchConnection.open(server.tcpPort);
      // the bench's own event-loop delay: tells client-side stalls from server-side ones
      const loopDelay = monitorEventLoopDelay({ resolution: 1 });
      let timer: NodeJS.Timeout | undefined;
      try {
        await consumer.subscribe(topic, 'ch');
        // the receive time is taken once per chunk, as it arrives, before any decoding
        consumer.stampChunks = true;
        const samples = new Float64Array(Math.ceil(((measureMs + 1000) * RATE) / 1000));
        let nSamples = 0;
        let measureFrom = 0n;
        const c = consume(consumer, {
          rdy: 2500,
          expected: Infinity,
          onMessage: (buf, start) => {
            const sentAt = buf.readBigUInt64BE(start + 26);
            if (sentAt >= measureFrom && nSamples < samples.length) samples[nSamples++] = Number(consumer.chunkAt - sentAt) / 1e6;
          },
        });

        const body = makeBody(BODY_SIZE);
        const pubHead = Buffer.from(`PUB ${topic}\n`, 'latin1');
        const mpubHead = Buffer.from(`MPUB ${topic}\n`, 'latin1');
        let acked = 0;
        let commands = 0;
        let sent = 0;
        let measuredSent = 0;
        producer.onOk = () => {
          acked++;
        };
        const t0 = process.hrtime.bigint();
        measureFrom = t0 + BigInt(warmupMs) * 1_000_000n;
        const endAt = measureFrom + BigInt(measureMs) * 1_000_000n;
        let measuring = false;

        const publishing = new Promise<void>((resolve, reject) => {
          timer = setInterval(() => {
            const now = process.hrtime.bigint();
            if (now >= endAt) {
              clearInterval(timer);
              resolve();
              return;
            }
            if (commands - acked > 5000) {
              clearInterval(timer);
              reject(new Error(`server fell behind: ${commands - acked} publishes unanswered`));
              return;
            }
            if (!measuring && now >= measureFrom) {
              measuring = true;
              loopDelay.enable();
            }
            const target = Number(((now - t0) * BigInt(RATE)) / 1_000_000_000n);
            const k = Math.min(target - sent, MAX_BURST);
            if (k <= 0) return;
            producer.socket.write(stampedPublish(k, now, body, pubHead, mpubHead));
            commands++;
            sent += k;
            if (now >= measureFrom) measuredSent += k;
          }, 1);
        });
        await Promise.race([publishing, producer.failed, consumer.failed, c.done]);
        loopDelay.disable();

        // everything sent must arrive
        const waitUntil = performance.now() + 5000;
        while (c.received() < sent || acked < commands) {
          if (performance.now() > waitUntil) throw new Error(`only ${c.received()} of ${sent} messages arrived`);
          await Promise.race([sleep(5), producer.failed, consumer.failed]);
        }

        if (nSamples === 0) throw new Error('no latency samples');
        const sorted = samples.subarray(0, nSamples).sort();
        const pct = (q: number): number => round(sorted[Math.min(nSamples - 1, Math.max(0, Math.ceil(q * nSamples) - 1))]!, 3);
        return {
          p50Ms: pct(0.5),
          p99Ms: pct(0.99),
          maxMs: round(sorted[nSamples - 1]!, 3),
          details: {
            rate: RATE,
            warmupMs,
            measureMs,
            samples: nSamples,
            achievedRate: Math.round(measuredSent / (measureMs / 1000)),
            p90Ms: pct(0.9),
            p999Ms: pct(0.999),
            publishCommands: commands,
            messages: sent,
            benchLoopDelayP99Ms: round(loopDelay.percentile(99) / 1e6, 3),
            benchLoopDelayMaxMs: round(loopDelay.max / 1e6, 3),
          },
        };
      } finally {
        clearInterval(timer);
        loopDelay.disable();
        consumer.close();
        producer.close();
      }
    }),
};

/** One PUB (k = 1) or MPUB of k bodies, each starting with the send time as 8 bytes of hrtime. */
function stampedPublish(k: number, now: bigint, body: Buffer, pubHead: Buffer, mpubHead: Buffer): Buffer {
  if (k === 1) {
    const out = Buffer.allocUnsafe(pubHead.length + 4 + body.length);
    let p = pubHead.copy(out, 0);
    out.writeUInt32BE(body.length, p);
    p += 4;
    body.copy(out, p);
    out.writeBigUInt64BE(now, p);
    return out;
  }
  const size = 4 + k * (4 + body.length);
  const out = Buffer.allocUnsafe(mpubHead.length + 4 + size);
  let p = mpubHead.copy(out, 0);
  out.writeUInt32BE(size, p);
  out.writeUInt32BE(k, p + 4);
  p += 8;
  for (let i = 0; i < k; i++) {
    out.writeUInt32BE(body.length, p);
    body.copy(out, p + 4);
    out.writeBigUInt64BE(now, p + 4);
    p += 4 + body.length;
  }
  return out;
}

// ---- 5. RSS with a backlog -------------------------------------------------------------------

const rss: BenchCase = {
  name: 'rss',
  title: 'server RSS, 200 B msgs queued (1M; 100k --quick)',
  run: (cfg) =>
    withServer(serverOpts(cfg, 'rss', BIG_MEM_QUEUE), timeout(cfg), async (server) => {
      const topic = 'bench_rss';
      const count = scaled(cfg, 1_000_000);
      const settleMs = cfg.quick ? 500 : 2000;
      await server.createChannel(topic, 'ch');
      await sleep(200);
      const idle = server.memory();
      const pre = await mpubPipelined(server.tcpPort, topic, count, Infinity);
      await sleep(settleMs);
      const mem = server.memory();
      // checked after reading RSS, so building the stats does not count
      const depth = (await server.depths(topic)).channels['ch'];
      if (depth !== count) throw new Error(`channel depth ${depth} after publishing ${count}`);
      return {
        rssMiB: round(mem.rss / MIB, 1),
        details: {
          queued: count,
          rssBytes: mem.rss,
          peakRssBytes: mem.hwm,
          idleRssBytes: idle.rss,
          bytesPerMessage: Math.round((mem.rss - idle.rss) / count),
          settleMs,
          publishMsgsPerSec: throughput(pre).msgsPerSec,
        },
      };
    }),
};

export const CASES: readonly BenchCase[] = [pub, mpub, consumeCase, latency, rss];

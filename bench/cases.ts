// The bench cases. Each one starts its own `nsq serve` child and drives it in-process with the
// functions behind `nsq bench pub|sub` (src/tools/bench/); sizes scale down 10x for --quick.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { benchPub, type PubOptions } from '../src/tools/bench/pub.js';
import type { BenchResult } from '../src/tools/bench/shared.js';
import { benchSub, startSub } from '../src/tools/bench/sub.js';
import { runCrashRounds } from './durable-crash.js';
import { requestResponse, type RrOptions, type RrResult } from './request-response.js';
import { describeSummary, runReplicationFaults, summarize, type Round } from './replication-faults.js';
import { COMMAND_NAMES } from '../commands/aliases.js';
import { topCost } from './top-cost.js';
import { BenchServer as Server, withServer as withBenchServer, type BenchServer, type ServerOptions } from './server.js';

export const BODY_SIZE = 200;
const MIB = 1024 * 1024;
/** nsqd's default --mem-queue-size, for the cases that do not queue a backlog on purpose */
const DEFAULT_MEM_QUEUE = 10_000;
const BIG_MEM_QUEUE = 2_000_000;
const MPUB_SIZE = 200;
/** long enough never to be what stops a counted run; the case timeout still applies */
const NO_DEADLINE_MS = 10 * 60_000;

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
  /** a figure that fits none of the columns above, already formatted */
  other?: string;
  /** figures of their own under the case's line (start-up: one per command), each against its floor */
  rows?: SubRow[];
  /** everything else worth keeping in the JSON */
  details: Record<string, unknown>;
}

export interface SubRow {
  title: string;
  other: string;
  rssMiB?: number;
  floor: string;
  pass: boolean;
}

export interface BenchCase {
  name: string;
  title: string;
  run(cfg: BenchConfig): Promise<CaseResult>;
}

const scaled = (cfg: BenchConfig, n: number): number => (cfg.quick ? Math.round(n / 10) : n);
const timeout = (cfg: BenchConfig): number => (cfg.quick ? 30_000 : 60_000);
const serverOpts = (cfg: BenchConfig, name: string, memQueueSize: number, args: string[] = []): ServerOptions => ({
  memQueueSize,
  args,
  ...(cfg.profDir !== undefined ? { cpuProfDir: `${cfg.profDir}/${name}` } : {}),
});

/**
 * Runs a case's server in a fresh, empty folder, removed afterwards: `nsq serve` keeps its data
 * (nsqd.dat, disk queues) in the folder it starts in, and a case must neither inherit another's
 * topics nor leave gigabytes of queue files behind.
 */
async function withServer<T>(opts: ServerOptions, timeoutMs: number, fn: (server: BenchServer) => Promise<T>): Promise<T> {
  const home = process.cwd();
  const dir = mkdtempSync(join(tmpdir(), 'nsq-bench-'));
  process.chdir(dir);
  try {
    return await withBenchServer(opts, timeoutMs, fn);
  } finally {
    process.chdir(home);
    rmSync(dir, { recursive: true, force: true });
  }
}

const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;

const pubOptions = (server: BenchServer, topic: string, o: Partial<PubOptions>): PubOptions => ({
  addresses: [`127.0.0.1:${server.tcpPort}`],
  topic,
  connections: 1,
  durationMs: NO_DEADLINE_MS,
  size: BODY_SIZE,
  batch: MPUB_SIZE,
  rate: 0,
  ...o,
});

/** Publishes exactly `count` messages with pipelined MPUBs of 200. */
async function prepublish(server: BenchServer, topic: string, count: number): Promise<BenchResult> {
  const r = await benchPub(pubOptions(server, topic, { count }));
  if (r.messages !== count) throw new Error(`published ${r.messages} of ${count} messages`);
  return r;
}

function throughputCase(r: BenchResult, extra: Record<string, unknown>): CaseResult {
  return {
    msgsPerSec: r.msgsPerSec,
    mibPerSec: r.mibPerSec,
    details: { messages: r.messages, seconds: r.seconds, ...extra, ackLatencyP50Ms: r.latency?.p50Ms, ackLatencyP99Ms: r.latency?.p99Ms },
  };
}

/** A publish-throughput case: its own server (memQueueSize, extra flags), `count` messages or 5 s. */
function publishCase(name: string, title: string, memQueueSize: number, args: string[], count: number, o: Partial<PubOptions>, extra: Record<string, unknown>): BenchCase {
  return {
    name,
    title,
    run: (cfg) =>
      withServer(serverOpts(cfg, name, memQueueSize, args), timeout(cfg), async (server) => {
        const r = await benchPub(pubOptions(server, `bench_${name.replace(/-/g, '_')}`, { ...o, count: scaled(cfg, count), durationMs: cfg.quick ? 500 : 5000 }));
        return throughputCase(r, { ...extra, memQueueSize });
      }),
  };
}

// ---- 1. PUB, MPUB --------------------------------------------------------------------------

const pub = publishCase('pub', 'publish, PUB, overflowing to disk', DEFAULT_MEM_QUEUE, [], 1_000_000, { batch: 1 }, { command: 'PUB' });
const mpub = publishCase('mpub', 'publish, MPUB x200, in memory', BIG_MEM_QUEUE, [], 2_000_000, {}, { batch: MPUB_SIZE });
/** The same, at nsqd's default --mem-queue-size: past 10,000 the messages go to the disk queue. */
const mpubDisk = publishCase('mpub-disk', 'publish, MPUB x200, overflowing to disk', DEFAULT_MEM_QUEUE, [], 2_000_000, {}, { batch: MPUB_SIZE });

// ---- 2. durable mode (issue 6) -------------------------------------------------------------

/** MPUB x200 against --durable: each answer waits for its batch's fsync. */
const mpubDurable = publishCase('mpub-durable', 'publish, MPUB x200, --durable (fsync before OK)', DEFAULT_MEM_QUEUE, ['--durable'], 2_000_000, {}, { batch: MPUB_SIZE, durable: true });
/** Single PUBs from 8 connections against --durable: they share fsyncs (group commit). */
const pubDurable = publishCase('pub-durable', 'publish, PUB from 8 connections, --durable', DEFAULT_MEM_QUEUE, ['--durable'], 1_000_000, { batch: 1, connections: 8 }, { command: 'PUB', connections: 8, durable: true });

// ---- 2b. replication (issue 13) --------------------------------------------------------------

/**
 * A publish case against a node with --replication-factor=2: a second `nsq serve --durable` is its
 * replica, so every OK waits for the local fsync and the replica's. Both data paths are fresh.
 */
function replicatedCase(name: string, title: string, count: number, o: Partial<PubOptions>, extra: Record<string, unknown>): BenchCase {
  return {
    name,
    title,
    run: async (cfg) => {
      const dirs = [mkdtempSync(join(tmpdir(), 'nsq-bench-replica-')), mkdtempSync(join(tmpdir(), 'nsq-bench-origin-'))];
      try {
        return await withBenchServer(serverOpts(cfg, `${name}-replica`, DEFAULT_MEM_QUEUE, ['--durable', `--data-path=${dirs[0]}`]), timeout(cfg), (replica) =>
          withBenchServer(
            serverOpts(cfg, name, DEFAULT_MEM_QUEUE, ['--durable', `--data-path=${dirs[1]}`, `--replica-address=127.0.0.1:${replica.tcpPort}`, '--replication-factor=2']),
            timeout(cfg),
            async (origin) => {
              const deadline = Date.now() + 10_000;
              for (;;) {
                const r = (JSON.parse(await origin.http('GET', '/stats?format=json')) as { replication?: { in_sync: number } }).replication;
                if ((r?.in_sync ?? 0) >= 1) break;
                if (Date.now() > deadline) throw new Error('the replica did not get in sync within 10 s');
                await sleep(50);
              }
              const r = await benchPub(pubOptions(origin, `bench_${name.replace(/-/g, '_')}`, { ...o, count: scaled(cfg, count), durationMs: cfg.quick ? 500 : 5000 }));
              return throughputCase(r, { ...extra, replicationFactor: 2 });
            },
          ),
        );
      } finally {
        for (const d of dirs) rmSync(d, { recursive: true, force: true });
      }
    },
  };
}

const mpubReplicated = replicatedCase('mpub-replicated', 'publish, MPUB x200, --durable, replicated (R=2)', 2_000_000, { batch: MPUB_SIZE }, { batch: MPUB_SIZE, durable: true });
const pubReplicated = replicatedCase('pub-replicated', 'publish, PUB from 8 connections, --durable, replicated (R=2)', 1_000_000, { batch: 1, connections: 8 }, { command: 'PUB', connections: 8, durable: true });

/** The kill -9 harness of test/integration/durable-crash.test.ts, longer and with more publishers. */
const crash: BenchCase = {
  name: 'crash',
  title: 'durable: kill -9 x10 (x3 --quick) under load',
  run: async (cfg) => {
    const dir = mkdtempSync(join(tmpdir(), 'nsq-bench-crash-'));
    try {
      const rounds = cfg.quick ? 3 : 10;
      const r = await runCrashRounds({ dataPath: dir, rounds, roundMs: cfg.quick ? [300, 800] : [1000, 3000], publishers: 8, pipeline: 4 });
      return {
        msgsPerSec: r.ackedPerSec,
        other: `${r.lost.length} lost of ${r.acked} acked`,
        details: { kills: r.kills, acked: r.acked, finished: r.finished, unfinishedAtCrash: r.unfinishedAtCrash, drained: r.drained, lost: r.lost, neverDelivered: r.neverDelivered },
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

/**
 * The fault-injection run of test/integration/replication-faults.test.ts, longer: 3 nodes in a ring
 * (R=2) + 2 lookupds under load, cycles of kill -9 + rm -rf, kill -9 + restart after the takeover,
 * kill -9 + restart within the timeout, SIGSTOP past the timeout, the replication link cut.
 */
const FAULTS_FAILOVER_MS = 2000;
const replicationFaults: BenchCase = {
  name: 'replication-faults',
  title: 'replication: 3-node ring, kill -9/rm -rf/SIGSTOP/link cut x3 cycles (x1 --quick)',
  run: async (cfg) => {
    const cleanups: (() => unknown)[] = [];
    try {
      const rounds: Round[] = [];
      for (let k = 0; k < (cfg.quick ? 1 : 3); k++) {
        rounds.push({ fault: 'wipe', node: k % 3 }, { fault: 'restart', node: (k + 1) % 3 }, { fault: 'restart-quick', node: (k + 2) % 3 }, { fault: 'stop', node: (k + 2) % 3 }, { fault: 'cut', node: 0 });
      }
      const r = await runReplicationFaults({
        mode: 'replicated',
        rounds,
        proxiedLink: 0,
        // 2 s: long enough for a restart-quick node to be back inside it
        failoverMs: FAULTS_FAILOVER_MS,
        loadMs: cfg.quick ? 1500 : 5000,
        afterMs: cfg.quick ? 500 : 2000,
        teardown: { teardown: (fn) => cleanups.push(fn) },
        log: (line) => process.stderr.write(`\n  ${line}`),
      });
      const summary = summarize(r.rounds);
      for (const s of summary) process.stderr.write(`\n  ${describeSummary(s)}`);
      const takeovers = r.rounds.flatMap((x) => (x.takeoverMs === null ? [] : [x.takeoverMs])).sort((a, b) => a - b);
      const median = takeovers[Math.floor(takeovers.length / 2)];
      return {
        msgsPerSec: r.ackedPerSec,
        other: `${r.lost} lost of ${r.acked} acked, ${r.duplicates} duplicates, takeover ${median ?? '-'} ms (median)`,
        details: { ...r, summary, failoverMs: FAULTS_FAILOVER_MS },
      };
    } finally {
      for (const fn of cleanups.reverse()) await fn();
    }
  },
};

// ---- 3. consume ------------------------------------------------------------------------------

/** Drains a 1M backlog with `connections` consumers, RDY 2500 each, FIN each. */
function consumeCaseOf(name: string, title: string, connections: number): BenchCase {
  return {
    name,
    title,
    run: (cfg) =>
      withServer(serverOpts(cfg, name, BIG_MEM_QUEUE), timeout(cfg), async (server) => {
        const topic = `bench_${name.replace(/-/g, '_')}`;
        const count = scaled(cfg, 1_000_000);
        await server.createChannel(topic, 'ch');
        const pre = await prepublish(server, topic, count);
        const depth = (await server.depths(topic)).channels['ch'];
        if (depth !== count) throw new Error(`channel depth ${depth} after publishing ${count}`);

        // maxInFlight is the RDY over all connections
        const r = await benchSub({ addresses: [`127.0.0.1:${server.tcpPort}`], topic, channel: 'ch', connections, durationMs: NO_DEADLINE_MS, count, maxInFlight: 2500 * connections });
        if (r.messages < count) throw new Error(`consumed ${r.messages} of ${count} messages`);
        return {
          msgsPerSec: r.msgsPerSec,
          mibPerSec: r.mibPerSec,
          details: { connections, messages: r.messages, seconds: r.seconds, redelivered: r.redelivered, rdy: r.rdy, prepublishMsgsPerSec: pre.msgsPerSec, prepublishSeconds: pre.seconds },
        };
      }),
  };
}

const consumeCase = consumeCaseOf('consume', 'consume, RDY 2500, FIN each', 1);
// as Go's bench_reader: one connection per core (issue 15); the backlog's messages are stored the
// same however they were published, so it is made with MPUB
const consume2 = consumeCaseOf('rr-sub', 'consume, 2 connections (as bench_reader), RDY 2500 each, FIN each', 2);

// ---- 3a. ordered channels (issue 18) ---------------------------------------------------------

/**
 * An ordered channel gives out one message at a time across its consumers (docs/ordered-channels.md):
 * its throughput is one round trip (deliver, FIN) per message. Four channels of one topic take the
 * same backlog: ordered and normal, each with one consumer connection and with three; RDY 2500 per
 * connection (an ordered channel still has only its head out).
 */
const ordered: BenchCase = {
  name: 'ordered',
  title: 'ordered channel, 1 and 3 consumers, vs a normal channel',
  run: (cfg) =>
    withServer(serverOpts(cfg, 'ordered', BIG_MEM_QUEUE), timeout(cfg), async (server) => {
      const topic = 'bench_ordered';
      const count = scaled(cfg, 50_000);
      const channels = ['ordered1', 'ordered3', 'normal1', 'normal3'];
      for (const ch of channels) await server.createChannel(topic, ch);
      for (const ch of ['ordered1', 'ordered3']) await server.http('POST', `/channel/config?topic=${topic}&channel=${ch}&ordered=true`);
      await prepublish(server, topic, count);
      const rate: Record<string, number> = {};
      for (const ch of channels) {
        const connections = ch.endsWith('3') ? 3 : 1;
        const r = await benchSub({ addresses: [`127.0.0.1:${server.tcpPort}`], topic, channel: ch, connections, durationMs: NO_DEADLINE_MS, count, maxInFlight: 2500 * connections });
        if (r.messages < count) throw new Error(`${ch}: consumed ${r.messages} of ${count} messages`);
        rate[ch] = Math.round(r.msgsPerSec);
      }
      const x = (a: number, b: number): string => `${round(a / b, 3)}x`;
      return {
        msgsPerSec: rate['ordered1'],
        other: `3 consumers ${rate['ordered3']!.toLocaleString('en-US')} msg/s; normal channel ${rate['normal1']!.toLocaleString('en-US')} / ${rate['normal3']!.toLocaleString('en-US')} (ordered ${x(rate['ordered1']!, rate['normal1']!)} / ${x(rate['ordered3']!, rate['normal3']!)})`,
        details: { messages: count, ...rate },
      };
    }),
};

// ---- 3b. request/response (issue 15) ---------------------------------------------------------

/** Starts bench/ceiling.ts as its own process (`--store` for the storing one); resolves with its port and a stop function. */
async function startCeiling(store: boolean): Promise<{ port: number; pid: number; stop: () => void }> {
  const { spawn } = await import('node:child_process');
  const args = [fileURLToPath(new URL('./ceiling.js', import.meta.url)), ...(store ? ['--store'] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /listening on (\d+)/.exec(out);
      if (m !== null) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`the ceiling server exited (${code})`)));
  });
  return { port, pid: child.pid!, stop: () => child.kill('SIGKILL') };
}

/**
 * CPU time (user + system, ms) a process has used so far, from /proc/<pid>/stat; in clock ticks of
 * 10 ms, so over a 5 s run it is good to ~1 %. Unlike throughput it hardly moves when another
 * process on the machine takes a core for a while, so it is the steadier ratio between servers.
 */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // the command name (field 2) can hold spaces: count fields after its closing parenthesis
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (fields 14, 15)
}

type Measured = RrResult & { cpuUsPerTrip: number };

/** Runs the request/response loop against `pid`'s port and measures that server's CPU per round trip. */
async function rrMeasured(o: RrOptions, pid: number): Promise<Measured> {
  const before = cpuMsOf(pid);
  const r = await requestResponse(o);
  const cpuMs = cpuMsOf(pid) - before;
  return { ...r, cpuUsPerTrip: round((cpuMs * 1000) / r.roundTrips, 2) };
}

/** Slices per server in a request/response case: they alternate, so all see the same machine. */
const RR_SLICES = 9;

/**
 * One command, wait for its OK, repeat, from 2 connections (as Go's bench_writer): against
 * `nsq serve` and against the two ceiling servers (bench/ceiling.ts: the bare one, and the one that
 * also keeps each message), all running, in rounds of 1 s slices (after a warm-up of each; the order
 * rotates from round to round); the figures are medians over the rounds, so a neighbour taking a
 * core for a while moves one round of all three rather than one side of a ratio.
 */
function requestResponseCase(name: string, title: string, batch: number): BenchCase {
  return {
    name,
    title,
    run: async (cfg) => {
      const o = { topic: `bench_${name.replace(/-/g, '_')}`, connections: 2, batch, size: BODY_SIZE, durationMs: cfg.quick ? 200 : 1000 };
      const slices = cfg.quick ? 2 : RR_SLICES;
      const bare = await startCeiling(false);
      const storing = await startCeiling(true);
      try {
        return await withServer(serverOpts(cfg, name, BIG_MEM_QUEUE), timeout(cfg), async (server) => {
          const targets = [
            { o: { ...o, port: server.tcpPort }, pid: server.pid },
            { o: { ...o, port: bare.port }, pid: bare.pid },
            { o: { ...o, port: storing.port }, pid: storing.pid },
          ];
          for (const t of targets) await requestResponse({ ...t.o, durationMs: o.durationMs / 2 });
          const rounds: Measured[][] = [];
          for (let i = 0; i < slices; i++) {
            const round: Measured[] = [];
            for (let k = 0; k < targets.length; k++) {
              const j = (i + k) % targets.length;
              round[j] = await rrMeasured(targets[j]!.o, targets[j]!.pid);
            }
            rounds.push(round);
          }
          const ours = rounds.map((r) => r[0]!);
          const msgsPerSec = Math.round(median(ours.map((r) => r.msgsPerSec)));
          const against = (j: number) => {
            const ratios = rounds.map((r) => r[0]!.msgsPerSec / r[j]!.msgsPerSec);
            return {
              msgsPerSec: Math.round(median(rounds.map((r) => r[j]!.msgsPerSec))),
              ratio: median(ratios),
              ratios: ratios.map((x) => Number(x.toFixed(2))),
              cpuUs: round(median(rounds.map((r) => r[j]!.cpuUsPerTrip)), 2),
              cpuRatio: median(rounds.map((r) => r[0]!.cpuUsPerTrip / r[j]!.cpuUsPerTrip)),
            };
          };
          const b = against(1);
          const st = against(2);
          const storeToBare = median(rounds.map((r) => r[2]!.msgsPerSec / r[1]!.msgsPerSec));
          const cpuUs = round(median(ours.map((r) => r.cpuUsPerTrip)), 2);
          return {
            msgsPerSec,
            mibPerSec: round((msgsPerSec * BODY_SIZE) / MIB, 2),
            other:
              `${b.ratio.toFixed(2)}x of the ceiling (${b.msgsPerSec.toLocaleString('en-US')} msg/s; ${slices} rounds: ${b.ratios.join(' ')}), ` +
              `${st.ratio.toFixed(2)}x of the storing ceiling (${st.msgsPerSec.toLocaleString('en-US')} msg/s, itself ${storeToBare.toFixed(2)}x the ceiling); ` +
              `server CPU ${cpuUs} us/round trip = ${b.cpuRatio.toFixed(2)}x the ceiling's ${b.cpuUs}, ${st.cpuRatio.toFixed(2)}x the storing one's ${st.cpuUs}`,
            details: {
              connections: 2,
              batch,
              slices,
              roundTripsPerSec: Math.round(msgsPerSec / batch),
              ceilingMsgsPerSec: b.msgsPerSec,
              ratioToCeiling: round(b.ratio, 3),
              pairRatios: b.ratios,
              cpuUsPerRoundTrip: cpuUs,
              ceilingCpuUsPerRoundTrip: b.cpuUs,
              cpuRatioToCeiling: round(b.cpuRatio, 3),
              storingCeilingMsgsPerSec: st.msgsPerSec,
              ratioToStoringCeiling: round(st.ratio, 3),
              storingCeilingToCeiling: round(storeToBare, 3),
              storingCeilingCpuUsPerRoundTrip: st.cpuUs,
              cpuRatioToStoringCeiling: round(st.cpuRatio, 3),
            },
          };
        });
      } finally {
        bare.stop();
        storing.stop();
      }
    },
  };
}

const rrPub = requestResponseCase('rr-pub', 'publish, one PUB at a time from 2 connections (wait for each OK), in memory', 1);
const rrMpub = requestResponseCase('rr-mpub', 'publish, one MPUB x200 at a time from 2 connections (wait for each OK), in memory', MPUB_SIZE);

// ---- 4. latency ------------------------------------------------------------------------------

const RATE = 10_000;

const latency: BenchCase = {
  name: 'latency',
  title: `end-to-end latency @ ${RATE / 1000}k msg/s`,
  run: (cfg) =>
    withServer(serverOpts(cfg, 'latency', DEFAULT_MEM_QUEUE), timeout(cfg), async (server) => {
      const topic = 'bench_latency';
      const warmupMs = cfg.quick ? 200 : 500;
      const measureMs = cfg.quick ? 1000 : 5000;
      await server.createChannel(topic, 'ch');
      // the bench's own event-loop delay: tells client-side stalls from server-side ones
      const loopDelay = monitorEventLoopDelay({ resolution: 1 });
      const sub = await startSub({ addresses: [`127.0.0.1:${server.tcpPort}`], topic, channel: 'ch', connections: 1, durationMs: NO_DEADLINE_MS, maxInFlight: 2500, warmupMs });
      try {
        loopDelay.enable();
        // every 1 ms tick publishes what the rate owes: one MPUB of ~10 (a PUB when 1)
        const p = await benchPub(pubOptions(server, topic, { rate: RATE, durationMs: warmupMs + measureMs }));
        loopDelay.disable();
        const achievedRate = Math.round(p.messages / ((warmupMs + measureMs) / 1000));
        // a publisher held back by its window would measure a lighter load than the title says
        if (achievedRate < 0.9 * RATE) throw new Error(`the publisher reached only ${achievedRate} msg/s`);
        // everything sent must arrive
        sub.stop(p.messages);
        const r = await Promise.race([sub.done, sleep(5000).then(() => Promise.reject(new Error(`only ${sub.received} of ${p.messages} messages arrived`)))]);
        const l = r.latency;
        if (l === null) throw new Error('no latency samples');
        return {
          p50Ms: l.p50Ms,
          p99Ms: l.p99Ms,
          maxMs: l.maxMs,
          details: {
            rate: RATE,
            warmupMs,
            measureMs,
            samples: l.samples,
            p90Ms: l.p90Ms,
            achievedRate,
            messages: p.messages,
            received: r.messages,
            ackLatencyP99Ms: p.latency?.p99Ms,
            benchLoopDelayP99Ms: round(loopDelay.percentile(99) / 1e6, 3),
            benchLoopDelayMaxMs: round(loopDelay.max / 1e6, 3),
          },
        };
      } finally {
        loopDelay.disable();
        sub.stop();
      }
    }),
};

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
      const pre = await prepublish(server, topic, count);
      await sleep(settleMs);
      const mem = server.memory();
      // checked after reading RSS, so building the stats does not count
      const depth = (await server.depths(topic)).channels['ch'];
      if (depth !== count) throw new Error(`channel depth ${depth} after publishing ${count}`);
      const perMessage = Math.round((mem.rss - idle.rss) / count);
      return {
        rssMiB: round(mem.rss / MIB, 1),
        other: `${round(mem.rss / 1e6, 0)} MB; idle ${round(idle.rss / 1e6, 1)} MB (goal <= 50 MB, issue 15), ${perMessage} B/msg above idle`,
        details: {
          queued: count,
          rssBytes: mem.rss,
          peakRssBytes: mem.hwm,
          idleRssBytes: idle.rss,
          bytesPerMessage: perMessage,
          settleMs,
          publishMsgsPerSec: pre.msgsPerSec,
        },
      };
    }),
};

// ---- 5b. scale of a node (issue 15) ---------------------------------------------------------

/** How long a scan timing window of the server is (NSQD_SCAN_TIMING): the case reads two per step. */
const SCAN_REPORT_MS = 2000;
const SCALE_TOPICS = 10_000;
const SCALE_CONSUMERS = 10_000;
/** connections opened at once: well inside the listen backlog */
const CONNECT_WINDOW = 200;

interface ScanTiming {
  passes: number;
  channelsP50Ms: number;
  channelsMaxMs: number;
  clientsP50Ms: number;
  clientsMaxMs: number;
}

/** The next full window of scan timings the server logs after now (the one in progress is skipped). */
function nextScanTiming(server: BenchServer): Promise<ScanTiming> {
  return new Promise((resolve) => {
    let skipped = false;
    server.onLog((line) => {
      const m = /scan timing: (\d+) passes, channels p50 ([\d.]+) max ([\d.]+) ms, clients p50 ([\d.]+) max ([\d.]+) ms/.exec(line);
      if (m === null) return;
      if (!skipped) {
        skipped = true;
        return;
      }
      skipped = false;
      resolve({ passes: Number(m[1]), channelsP50Ms: Number(m[2]), channelsMaxMs: Number(m[3]), clientsP50Ms: Number(m[4]), clientsMaxMs: Number(m[5]) });
    });
  });
}

/** The soft RLIMIT_NOFILE of this process (the server inherits it); Infinity when unknown. */
function fdLimit(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'latin1'));
    return m === null ? Infinity : Number(m[1]);
  } catch {
    return Infinity;
  }
}

/** nsqd.dat for `topics` topics with `channels` channels each, in a fresh folder. */
function writeTopics(dir: string, topics: number, channels: string[]): void {
  const meta = [];
  for (let i = 0; i < topics; i++) meta.push({ name: `topic${i}`, paused: false, channels: channels.map((c) => ({ name: c, paused: false })) });
  writeFileSync(join(dir, 'nsqd.dat'), JSON.stringify({ topics: meta, version: '1.3.0' }));
}

/**
 * Opens `n` consumers, each `SUB topic<i % topics> a|b` + `RDY 1` on a raw socket, and answers
 * heartbeats with NOP; resolves once every SUB was answered.
 */
async function openConsumers(port: number, n: number, topics: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  const openOne = (i: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      sockets.push(s);
      let got = 0;
      s.once('error', reject);
      s.once('connect', () => s.write(`  V2SUB topic${i % topics} ${i % 2 === 0 ? 'a' : 'b'}\nRDY 1\n`));
      s.on('data', (b: Buffer) => {
        if (got < 10 && (got += b.length) >= 10) {
          if (b.includes('E_')) reject(new Error(`SUB refused: ${b.toString('latin1')}`));
          else resolve();
        }
        if (b.includes('_heartbeat_')) s.write('NOP\n');
      });
    });
  for (let i = 0; i < n; i += CONNECT_WINDOW) {
    const batch: Promise<void>[] = [];
    for (let k = i; k < Math.min(n, i + CONNECT_WINDOW); k++) batch.push(openOne(k));
    await Promise.all(batch);
  }
  return sockets;
}

/**
 * Three servers: none, 10,000 topics, and 10,000 topics × 2 channels (restored from nsqd.dat), then
 * 10,000 idle consumers on the last. The RSS differences give the cost of a topic, a channel and an
 * idle connection; NSQD_SCAN_TIMING gives the scan loop's time per pass at each step.
 */
const scale: BenchCase = {
  name: 'scale',
  title: 'scale: 10k topics x 2 channels, 10k idle consumers (1k --quick)',
  run: async (cfg) => {
    const topics = scaled(cfg, SCALE_TOPICS);
    // this process and the server each hold one descriptor per connection, plus their files
    const consumers = Math.min(scaled(cfg, SCALE_CONSUMERS), fdLimit() - 256);
    const settleMs = cfg.quick ? 500 : 1500;
    const env = { NSQD_SCAN_TIMING: String(SCAN_REPORT_MS) };
    const startTimeoutMs = 120_000;
    const startMs: number[] = [];
    const measure = async (topicCount: number, channels: string[]): Promise<{ rss: number; scan: ScanTiming }> => {
      const dir = mkdtempSync(join(tmpdir(), 'nsq-bench-scale-'));
      try {
        if (topicCount > 0) writeTopics(dir, topicCount, channels);
        const t0 = performance.now();
        const server = await Server.start({ memQueueSize: DEFAULT_MEM_QUEUE, args: [`--data-path=${dir}`], env, startTimeoutMs });
        startMs.push(round(performance.now() - t0, 0));
        try {
          const scan = await nextScanTiming(server);
          return { rss: server.memory().rss, scan };
        } finally {
          await server.stop();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    const empty = await measure(0, []);
    const bare = await measure(topics, []);
    const dir = mkdtempSync(join(tmpdir(), 'nsq-bench-scale-'));
    try {
      writeTopics(dir, topics, ['a', 'b']);
      const started = performance.now();
      return await withBenchServer({ memQueueSize: DEFAULT_MEM_QUEUE, args: [`--data-path=${dir}`], env, startTimeoutMs }, cfg.quick ? 60_000 : 240_000, async (server) => {
        startMs.push(round(performance.now() - started, 0));
        const scanIdle = await nextScanTiming(server);
        const withChannels = server.memory().rss;
        const t0 = performance.now();
        const sockets = await openConsumers(server.tcpPort, consumers, topics);
        const connectMs = performance.now() - t0;
        try {
          await sleep(settleMs);
          const scanClients = await nextScanTiming(server);
          const withClients = server.memory().rss;
          const perTopic = (bare.rss - empty.rss) / topics;
          const perChannel = (withChannels - bare.rss) / (2 * topics);
          const perConnection = (withClients - withChannels) / consumers;
          const kb = (b: number): string => `${(b / 1024).toFixed(1)} KiB`;
          return {
            rssMiB: round(withClients / MIB, 1),
            other:
              `topic ${kb(perTopic)}, channel ${kb(perChannel)}, idle connection ${kb(perConnection)}${consumers < SCALE_CONSUMERS && !cfg.quick ? ` (${consumers} connections: ulimit -n)` : ''}; ` +
              `scan pass ${scanIdle.channelsP50Ms.toFixed(3)} ms (${2 * topics} channels), clients ${scanClients.clientsP50Ms.toFixed(3)} ms (${consumers})`,
            details: {
              topics,
              channels: 2 * topics,
              consumers,
              fdLimit: fdLimit(),
              connectMs: round(connectMs, 0),
              /** spawn to listening: no topics, the topics, the topics and channels */
              startMs,
              rssEmptyBytes: empty.rss,
              rssTopicsBytes: bare.rss,
              rssChannelsBytes: withChannels,
              rssConsumersBytes: withClients,
              bytesPerTopic: Math.round(perTopic),
              bytesPerChannel: Math.round(perChannel),
              bytesPerIdleConnection: Math.round(perConnection),
              scanEmpty: empty.scan,
              scanTopics: bare.scan,
              scanChannels: scanIdle,
              scanChannelsAndConsumers: scanClients,
            },
          };
        } finally {
          for (const s of sockets) s.destroy();
        }
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

// ---- 5c. past one core: two nodes on one machine (issue 15, docs/scaling.md) ------------------

/** Runs `nsq bench <args> --json` as its own process and returns its result. */
function benchProcess(args: string[]): Promise<BenchResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [NSQ_BIN, 'bench', ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (err += t));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`nsq bench ${args.join(' ')} exited ${code}: ${err.trim().split('\n').pop()}`));
      try {
        resolve(JSON.parse(out) as BenchResult);
      } catch {
        reject(new Error(`nsq bench ${args.join(' ')}: no JSON result (${out.slice(0, 200)})`));
      }
    });
  });
}

/** Waits until lookupd lists `n` producers of `topic`. */
async function awaitProducers(lookupd: BenchServer, topic: string, n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = (await fetch(`http://127.0.0.1:${lookupd.httpPort}/lookup?topic=${topic}`).then((x) => x.json()).catch(() => ({}))) as { producers?: unknown[] };
    if ((r.producers?.length ?? 0) >= n) return;
    if (Date.now() > deadline) throw new Error(`lookupd did not list ${n} producers of ${topic} within 10 s`);
    await sleep(100);
  }
}

interface ScaleOutRound {
  nodes: number;
  /** msg/s acknowledged, both producers together */
  published: number;
  /** msg/s received and finished, both consumers together */
  consumed: number;
}

/**
 * One configuration: `nodes` nodes registered with a lookupd. First 2 producer processes
 * (`nsq bench pub`, MPUB x200; with 2 nodes one local to each node, with 1 both on it) publish for
 * the duration; then 2 consumer processes (`nsq bench sub`, finding the nodes through lookupd) drain
 * the backlog for the duration. The phases are apart so that unthrottled producers do not starve
 * the consumers of CPU (on 2 cores every process competes with the nodes).
 */
async function scaleOutRound(cfg: BenchConfig, nodes: number): Promise<ScaleOutRound> {
  const lookupd = await Server.start({ memQueueSize: 0, lookupd: true });
  const servers: BenchServer[] = [];
  const dirs: string[] = [];
  try {
    for (let i = 0; i < nodes; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'nsq-bench-scaleout-'));
      dirs.push(dir);
      servers.push(await Server.start({ memQueueSize: BIG_MEM_QUEUE, args: [`--data-path=${dir}`, `--lookupd-tcp-address=127.0.0.1:${lookupd.tcpPort}`] }));
    }
    const topic = 'bench_scale_out';
    for (const s of servers) await s.createChannel(topic, 'ch');
    await awaitProducers(lookupd, topic, nodes);
    const duration = cfg.quick ? '1s' : '4s';
    const pubs = await Promise.all([0, 1].map((k) => benchProcess(['pub', `--nsqd-tcp-address=127.0.0.1:${servers[k % nodes]!.tcpPort}`, `--topic=${topic}`, `--duration=${duration}`, '--batch=200', '--size=200'])));
    const subs = await Promise.all([0, 1].map(() => benchProcess(['sub', `--lookupd-http-address=127.0.0.1:${lookupd.httpPort}`, `--topic=${topic}`, '--channel=ch', `--duration=${duration}`])));
    return { nodes, published: Math.round(pubs.reduce((a, r) => a + r.msgsPerSec, 0)), consumed: Math.round(subs.reduce((a, r) => a + r.msgsPerSec, 0)) };
  } finally {
    for (const s of servers) await s.stop();
    await lookupd.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

/** One node vs two on this machine, alternating, the same client processes: the ratios of totals are the figures. */
const scaleOut: BenchCase = {
  name: 'scale-out',
  title: 'past one core: 2 nodes + lookupd vs 1 node, 2 producer then 2 consumer processes (x3 rounds, x1 --quick)',
  run: async (cfg) => {
    const rounds: ScaleOutRound[] = [];
    for (let k = 0; k < (cfg.quick ? 1 : 3); k++) {
      // alternate which goes first, so drift on a shared machine does not favour one
      const order = k % 2 === 0 ? [1, 2] : [2, 1];
      for (const n of order) rounds.push(await scaleOutRound(cfg, n));
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const one = rounds.filter((r) => r.nodes === 1);
    const two = rounds.filter((r) => r.nodes === 2);
    const pubRatios = two.map((r, i) => round(r.published / one[i]!.published, 2));
    const subRatios = two.map((r, i) => round(r.consumed / one[i]!.consumed, 2));
    const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
    return {
      other:
        `2 nodes: publish ${median(pubRatios).toFixed(2)}x (${pubRatios.join(', ')}), consume ${median(subRatios).toFixed(2)}x (${subRatios.join(', ')}) of 1 node; ` +
        `1 node ${fmt(median(one.map((r) => r.published)))} / ${fmt(median(one.map((r) => r.consumed)))} msg/s, 2 nodes ${fmt(median(two.map((r) => r.published)))} / ${fmt(median(two.map((r) => r.consumed)))}`,
      details: { rounds, pubRatios, subRatios, publishRatio: median(pubRatios), consumeRatio: median(subRatios) },
    };
  },
};

// ---- 6. start-up -----------------------------------------------------------------------------

const NSQ_BIN = fileURLToPath(new URL('../../bin/nsq.js', import.meta.url));

/** Wall time of running `node <args>` to completion. */
function runMs(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${r.status}: ${r.stderr.toString().trim()}`);
  return ms;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * `node <args>` against `node -e 0`, run in turn (A B A B ...) so a machine that slows down
 * during the case moves both: the medians and the median of the pairs' ratios.
 */
function pairedRuns(args: string[], runs: number): { ms: number; nodeMs: number; ratio: number } {
  runMs(['-e', '0']);
  runMs(args);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs; i++) {
    b.push(runMs(['-e', '0']));
    a.push(runMs(args));
  }
  return { ms: median(a), nodeMs: median(b), ratio: median(a.map((x, i) => x / b[i]!)) };
}

/** A process that binds a TCP and an HTTP listener on port 0 and says so on stderr as nsq serve does: the bind time's yardstick. */
const BARE_BIND = `const net = require('node:net'), http = require('node:http'); let n = 0;
for (const [s, what] of [[net.createServer(), 'TCP'], [http.createServer(), 'HTTP']]) s.listen(0, '127.0.0.1', () => process.stderr.write(what + ': listening on 127.0.0.1:' + s.address().port + '\\n'));`;

/** Spawn → both ports accepting a connection, and the process's RSS once idle; the process is stopped. */
async function spawnToAccepting(args: string[], idleMs: number): Promise<{ ms: number; rss: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: tmpdir() });
  try {
    const ports = await new Promise<number[]>((resolve, reject) => {
      let log = '';
      child.once('exit', (code) => reject(new Error(`node ${args.join(' ')} exited (code ${code}) before listening:\n${log}`)));
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (text: string) => {
        log += text;
        const tcp = /TCP: listening on .*:(\d+)/.exec(log);
        const http = /HTTP: listening on .*:(\d+)/.exec(log);
        if (tcp !== null && http !== null) resolve([Number(tcp[1]), Number(http[1])]);
      });
    });
    await Promise.all(ports.map((port) => new Promise<void>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve();
      });
      s.once('error', reject);
    })));
    const ms = performance.now() - t0;
    await sleep(idleMs);
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    return { ms, rss: Number(m?.[1] ?? NaN) * 1024 };
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

/** the issue's floors (issue 15) */
const STARTUP_RATIO = 1.5;
const IDLE_RSS_MIB = 50;

const startup: BenchCase = {
  name: 'startup',
  title: 'start-up: nsq serve to accepting, --version, --help, idle RSS',
  run: async (cfg) => {
    const runs = cfg.quick ? 3 : 7;
    const rows: SubRow[] = [];
    // serve: spawn -> TCP and HTTP accepting, against node -e 0 plus what binding two ports costs a bare node
    const dir = mkdtempSync(join(tmpdir(), 'nsq-bench-startup-'));
    const serveArgs = [NSQ_BIN, 'serve', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--data-path=${dir}`];
    const serve: number[] = [];
    const bare: number[] = [];
    const node: number[] = [];
    const rss: number[] = [];
    try {
      await spawnToAccepting(serveArgs, 0);
      for (let i = 0; i < runs; i++) {
        node.push(runMs(['-e', '0']));
        bare.push((await spawnToAccepting(['-e', BARE_BIND], 0)).ms);
        const s = await spawnToAccepting(serveArgs, 1000);
        serve.push(s.ms);
        rss.push(s.rss / MIB);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const nodeMs = median(node);
    const bindMs = Math.max(0, median(bare) - nodeMs);
    const serveMs = median(serve);
    // how many node -e 0 the serve start-up takes once the bind is taken out
    const serveRatio = round(median(serve.map((x, i) => (x - Math.max(0, bare[i]! - node[i]!)) / node[i]!)), 2);
    rows.push({
      title: 'nsq serve, spawn -> TCP and HTTP accepting',
      other: `${serveRatio.toFixed(2)}x (${serveMs.toFixed(0)} ms; node -e 0 ${nodeMs.toFixed(0)} + bind ${bindMs.toFixed(0)} ms)`,
      floor: `< ${STARTUP_RATIO}x node -e 0 + bind`,
      pass: serveRatio < STARTUP_RATIO,
    });
    const idleRss = round(median(rss), 1);
    rows.push({ title: 'nsq serve, idle RSS 1 s after start', rssMiB: idleRss, other: '', floor: `<= ${IDLE_RSS_MIB} MiB`, pass: idleRss <= IDLE_RSS_MIB });
    // every command's --version and --help, and the program's own
    const lines: [string, string[]][] = [
      ['nsq --version', ['--version']],
      ['nsq --help', ['--help']],
      ...COMMAND_NAMES.flatMap((c): [string, string[]][] => [
        [`nsq ${c} --version`, [c, '--version']],
        [`nsq ${c} --help`, [c, '--help']],
      ]),
    ];
    const figures: Record<string, { ms: number; nodeMs: number; ratio: number }> = {};
    for (const [title, args] of lines) {
      const r = pairedRuns([NSQ_BIN, ...args], cfg.quick ? 3 : 7);
      figures[title] = { ms: round(r.ms, 1), nodeMs: round(r.nodeMs, 1), ratio: round(r.ratio, 2) };
      rows.push({ title, other: `${r.ratio.toFixed(2)}x (${r.ms.toFixed(0)} vs ${r.nodeMs.toFixed(0)} ms)`, floor: `< ${STARTUP_RATIO}x node -e 0`, pass: r.ratio < STARTUP_RATIO });
    }
    const worst = Math.max(serveRatio, ...Object.values(figures).map((f) => f.ratio));
    return {
      rssMiB: idleRss,
      other: `worst ${worst.toFixed(2)}x node -e 0 (${rows.filter((r) => !r.pass).length} of ${rows.length} above the floor)`,
      rows,
      details: {
        runs,
        nodeMs: round(nodeMs, 1),
        serveAcceptingMs: round(serveMs, 1),
        bindMs: round(bindMs, 1),
        serveRatio,
        idleRssMiB: idleRss,
        commands: figures,
        ratio: worst,
        allWithinFloors: rows.every((r) => r.pass),
      },
    };
  },
};

/** Start-up of a durable data path with many topics: every topic and channel looks for its files. */
const startupMany: BenchCase = {
  name: 'startup-topics',
  title: 'start-up, --durable with 2,000 topics x 2 channels',
  run: async (cfg) => {
    const topics = cfg.quick ? 200 : 2000;
    const dir = mkdtempSync(join(tmpdir(), 'nsq-bench-topics-'));
    try {
      const meta = [];
      for (let i = 0; i < topics; i++) {
        const name = `topic${i}`;
        meta.push({ name, paused: false, channels: ['a', 'b'].map((c) => ({ name: c, paused: false, start_id: 0 })) });
        for (const f of [`${name}.journal.000000.dat`, `${name}:a.acks.000000.dat`, `${name}:b.acks.000000.dat`]) writeFileSync(join(dir, f), '');
      }
      writeFileSync(join(dir, 'nsqd.dat'), JSON.stringify({ topics: meta, version: '1.3.0' }));
      const t0 = performance.now();
      const server = await Server.start({ memQueueSize: DEFAULT_MEM_QUEUE, args: ['--durable', `--data-path=${dir}`] });
      const ms = performance.now() - t0;
      await server.stop();
      return { other: `${Math.round(ms)} ms to listening`, details: { topics, channels: 2 * topics, files: 3 * topics, startMs: round(ms, 1) } };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

// ---- 7. peek and replay (issue 16) ---------------------------------------------------------


/** GET /channel/peek?n=1000 on a channel with 1M messages queued in memory: time per peek and what it costs in RSS. */
const peek1000: BenchCase = {
  name: 'peek-1000-of-1M',
  title: 'peek 1000 of a 1M backlog (100k --quick), in memory',
  run: (cfg) =>
    withServer(serverOpts(cfg, 'peek-1000-of-1M', BIG_MEM_QUEUE), timeout(cfg), async (server) => {
      const topic = 'bench_peek';
      const count = scaled(cfg, 1_000_000);
      await server.createChannel(topic, 'ch');
      await prepublish(server, topic, count);
      await sleep(cfg.quick ? 200 : 1000);
      const before = server.memory();
      const times: number[] = [];
      let entries = 0;
      for (let i = 0; i < 7; i++) {
        const started = performance.now();
        const answer = JSON.parse(await server.http('GET', `/channel/peek?topic=${topic}&channel=ch&n=1000`)) as { messages?: unknown[] };
        times.push(performance.now() - started);
        entries = answer.messages?.length ?? 0;
      }
      const after = server.memory();
      if (entries !== 1000) throw new Error(`a peek answered ${entries} messages, not 1000`);
      const depth = (await server.depths(topic)).channels['ch'];
      if (depth !== count) throw new Error(`channel depth ${depth} after the peeks: a peek must leave every message where it is`);
      const p50 = median(times);
      return {
        p50Ms: round(p50, 2),
        maxMs: round(Math.max(...times), 2),
        rssMiB: round(after.rss / MIB, 1),
        other: `median ${round(p50, 1)} ms per peek of 1000 (7 peeks, first ${round(times[0]!, 1)} ms); RSS ${round(before.rss / MIB, 0)} → ${round(after.rss / MIB, 0)} MiB with ${count} queued`,
        details: { queued: count, peekMs: times.map((t) => round(t, 2)), rssBeforeBytes: before.rss, rssAfterBytes: after.rss, peakRssBytes: after.hwm },
      };
    }),
};

/**
 * A channel created with from=earliest on a durable topic whose 1M messages were all consumed and
 * kept by --retention: how fast it catches up (the journal read in slices while the channel's queue
 * has room, consumed with RDY 2500), and the server's RSS meanwhile.
 */
const replay1M: BenchCase = {
  name: 'replay-1M',
  title: 'replay: from=earliest over 1M retained messages (100k --quick), --durable --retention',
  run: (cfg) =>
    withServer(serverOpts(cfg, 'replay-1M', DEFAULT_MEM_QUEUE, ['--durable', '--retention=1h']), cfg.quick ? 60_000 : 180_000, async (server) => {
      const topic = 'bench_replay';
      const count = scaled(cfg, 1_000_000);
      await server.createChannel(topic, 'first');
      const pre = await prepublish(server, topic, count);
      const first = await benchSub({ addresses: [`127.0.0.1:${server.tcpPort}`], topic, channel: 'first', connections: 1, durationMs: NO_DEADLINE_MS, count, maxInFlight: 2500 });
      if (first.messages < count) throw new Error(`the first channel consumed ${first.messages} of ${count}`);
      await sleep(2500); // past a compaction: what is left of the journal is what retention keeps
      const stats = JSON.parse(await server.http('GET', `/stats?format=json&topic=${topic}`)) as { topics: { retained_bytes?: number }[] };
      const retainedBytes = stats.topics[0]?.retained_bytes ?? 0;
      const idle = server.memory();
      let peak = idle.rss;
      const sampler = setInterval(() => {
        const m = server.memory();
        if (m.rss > peak) peak = m.rss;
      }, 50);
      try {
        const created = performance.now();
        await server.http('POST', `/channel/create?topic=${topic}&channel=replay&from=earliest`);
        const createMs = performance.now() - created;
        const r = await benchSub({ addresses: [`127.0.0.1:${server.tcpPort}`], topic, channel: 'replay', connections: 1, durationMs: NO_DEADLINE_MS, count, maxInFlight: 2500 });
        if (r.messages < count) throw new Error(`the replaying channel got ${r.messages} of ${count}`);
        return {
          msgsPerSec: r.msgsPerSec,
          mibPerSec: r.mibPerSec,
          rssMiB: round(peak / MIB, 1),
          other: `catch-up ${Math.round(r.msgsPerSec).toLocaleString('en-US')} msg/s over ${round(retainedBytes / MIB, 0)} MiB of journal; RSS ${round(idle.rss / MIB, 0)} MiB before, peak ${round(peak / MIB, 0)} MiB while catching up; create answered in ${round(createMs, 1)} ms (first channel: ${Math.round(first.msgsPerSec).toLocaleString('en-US')} msg/s)`,
          details: { messages: r.messages, seconds: r.seconds, retainedBytes, createMs: round(createMs, 2), rssBeforeBytes: idle.rss, peakRssBytes: peak, firstChannelMsgsPerSec: first.msgsPerSec, publishMsgsPerSec: pre.msgsPerSec, redelivered: r.redelivered },
        };
      } finally {
        clearInterval(sampler);
      }
    }),
};

export const CASES: readonly BenchCase[] = [pub, mpub, mpubDisk, mpubDurable, pubDurable, mpubReplicated, pubReplicated, rrPub, rrMpub, consumeCase, consume2, ordered, latency, rss, scale, scaleOut, startup, startupMany, crash, replicationFaults, peek1000, replay1M, topCost];

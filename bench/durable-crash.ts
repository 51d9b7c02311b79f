// The durable-mode crash harness (issue 6): `nsq serve --durable` on one data path, publishers on
// several connections (PUB, MPUB, DPUB) recording every body answered OK, a consumer FINing most
// messages and requeueing the rest, and a SIGKILL at a random moment; then again, several times; then
// a last run that drains everything. Used by test/integration/durable-crash.test.ts (small) and by
// `npm run bench -- --only crash` (bigger).

import { Connection } from '../src/client/connection.js';
import { Consumer } from '../src/client/consumer.js';
import { BenchServer } from './server.js';
import type { TopicStats } from '../src/protocol/stats-json.js';

const TOPIC = 'crash';
const CHANNEL = 'c';
const MPUB_BATCH = 20;
const DPUB_DELAY_MS = 30;
/** the drain ends once the channel is empty and nothing has arrived for this long */
const QUIET_MS = 300;
const DRAIN_TIMEOUT_MS = 30_000;
/** small, so that durable backlogs spill to disk during the run too */
const MEM_QUEUE_SIZE = 100;

export interface CrashOptions {
  dataPath: string;
  /** how many times the server is killed */
  rounds: number;
  /** each round runs for a random time in this range (ms) before the SIGKILL */
  roundMs: [number, number];
  /** publishing connections: PUB, PUB, MPUB, DPUB, PUB, ... */
  publishers: number;
  /** messages each publisher keeps outstanding */
  pipeline?: number;
  /** false: the same run against plain mode (the control: it loses messages) */
  durable?: boolean;
  /** registers cleanup (a test's teardown) */
  teardown?: (fn: () => unknown) => void;
}

export interface CrashResult {
  kills: number;
  /** bodies whose publish was answered OK */
  acked: number;
  /** bodies a consumer sent FIN for */
  finished: number;
  /** acknowledged, not FINed when a kill came (summed over the kills) */
  unfinishedAtCrash: number;
  /** deliveries in the last, draining run */
  drained: number;
  /** acknowledged bodies never delivered to anyone (must be empty) */
  neverDelivered: string[];
  /** acknowledged, never FINed, and not delivered after the last restart (must be empty) */
  lost: string[];
  /** acknowledged publishes per second of publishing, across the rounds */
  ackedPerSec: number;
}

/** Most messages are finished; one in four is requeued, so it stays unfinished until the drain. */
const finishes = (body: string): boolean => !body.endsWith('3') && !body.endsWith('7') && !body.endsWith('0');

export async function runCrashRounds(o: CrashOptions): Promise<CrashResult> {
  const acked = new Set<string>();
  const finSent = new Set<string>();
  const delivered = new Set<string>();
  const serverArgs = [...(o.durable === false ? [] : ['--durable']), `--data-path=${o.dataPath}`];
  const pipeline = o.pipeline ?? 1;
  let unfinishedAtCrash = 0;
  let publishMs = 0;
  let seq = 0;

  for (let round = 0; round < o.rounds; round++) {
    const server = await BenchServer.start({ memQueueSize: MEM_QUEUE_SIZE, args: serverArgs });
    o.teardown?.(() => server.kill());
    if (round === 0) await server.createChannel(TOPIC, CHANNEL);
    const address = `127.0.0.1:${server.tcpPort}`;
    const consumer = new Consumer({ topic: TOPIC, channel: CHANNEL, nsqdTcpAddresses: [address], maxInFlight: 200, autoFinish: false, maxBackoff: 0, reconnectDelay: 60_000 }, (m) => {
      const body = m.body.toString();
      delivered.add(body);
      if (finishes(body)) {
        finSent.add(body);
        m.finish();
      } else {
        m.requeue(1000);
      }
    });
    consumer.events.error = () => {};
    await consumer.start();

    let stop = false;
    const publishers: Promise<void>[] = [];
    for (let p = 0; p < o.publishers; p++) {
      const conn = await Connection.open({ host: '127.0.0.1', port: server.tcpPort });
      const kind = p % 4;
      const one = async (): Promise<void> => {
        while (!stop) {
          if (kind === 2) {
            const bodies = Array.from({ length: MPUB_BATCH }, () => `r${round}-p${p}-${seq++}`);
            await conn.mpublish(TOPIC, bodies);
            for (const b of bodies) acked.add(b);
          } else {
            const body = `r${round}-p${p}-${seq++}`;
            if (kind === 3) await conn.dpublish(TOPIC, body, DPUB_DELAY_MS);
            else await conn.publish(TOPIC, body);
            acked.add(body);
          }
        }
      };
      for (let k = 0; k < pipeline; k++) publishers.push(one().catch(() => {}));
    }
    const started = performance.now();
    const [lo, hi] = o.roundMs;
    await new Promise((r) => setTimeout(r, lo + Math.random() * (hi - lo)));
    await server.kill();
    publishMs += performance.now() - started;
    stop = true;
    for (const b of acked) if (!finSent.has(b)) unfinishedAtCrash++;
    await Promise.all(publishers);
    await consumer.stop(100);
  }

  // the last run: everything still unfinished comes back, and is finished now
  const server = await BenchServer.start({ memQueueSize: MEM_QUEUE_SIZE, args: serverArgs });
  o.teardown?.(() => server.kill());
  const drained = new Set<string>();
  let drainedCount = 0;
  let lastArrival = performance.now();
  const consumer = new Consumer({ topic: TOPIC, channel: CHANNEL, nsqdTcpAddresses: [`127.0.0.1:${server.tcpPort}`], maxInFlight: 500 }, (m) => {
    drained.add(m.body.toString());
    drainedCount++;
    lastArrival = performance.now();
  });
  await consumer.start();
  const deadline = performance.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    await new Promise((r) => setTimeout(r, 50));
    const held = await channelHeld(server);
    if (held === 0 && performance.now() - lastArrival > QUIET_MS) break;
    if (performance.now() > deadline) throw new Error(`the drain did not finish: ${held} message(s) still held`);
  }
  await consumer.stop();
  await server.stop();

  const lost: string[] = [];
  const neverDelivered: string[] = [];
  for (const b of acked) {
    if (!finSent.has(b) && !drained.has(b)) lost.push(b);
    if (!delivered.has(b) && !drained.has(b)) neverDelivered.push(b);
  }
  return {
    kills: o.rounds,
    acked: acked.size,
    finished: finSent.size,
    unfinishedAtCrash,
    drained: drainedCount,
    neverDelivered: neverDelivered.slice(0, 20),
    lost: lost.slice(0, 20),
    ackedPerSec: Math.round(acked.size / (publishMs / 1000)),
  };
}

/** Messages the channel still holds: queued, in flight and deferred. */
async function channelHeld(server: BenchServer): Promise<number> {
  const stats = JSON.parse(await server.http('GET', `/stats?format=json&topic=${TOPIC}`)) as { topics: TopicStats[] };
  const t = stats.topics[0];
  if (t === undefined) return 0;
  const c = t.channels.find((x) => x.channel_name === CHANNEL);
  return t.depth + (c === undefined ? 0 : c.depth + c.in_flight_count + c.deferred_count);
}

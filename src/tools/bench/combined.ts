// `nsq bench` with no mode: a subscriber and a publisher in one process on one topic, one report
// (as `nats bench` with both publishers and subscribers). The subscriber counts only this run's
// messages, told by the send time in their bodies, so a channel's older backlog cannot pass for
// throughput; what was published and never arrived is counted as missing.

import { benchPub, type PubOptions } from './pub.js';
import { wallClock, type BenchResult } from './shared.js';
import { startSub } from './sub.js';

export interface CombinedOptions extends PubOptions {
  channel: string;
  /** RDY over all consumer connections */
  maxInFlight: number;
  /** consumer connections to each nsqd (`connections` are the producers') */
  consumers: number;
}

export interface CombinedResult {
  mode: 'pubsub';
  addresses: string[];
  topic: string;
  channel: string;
  /** acknowledged by nsqd */
  published: number;
  /** this run's messages received, each once */
  consumed: number;
  /** published, never received */
  missing: number;
  pub: BenchResult;
  sub: BenchResult;
}

/** Once publishing is over, how long the subscriber may go without a message before the rest counts as missing. */
export const DRAIN_IDLE_MS = 5000;
/** the subscriber runs until told: the longest timer Node takes */
const NO_DEADLINE_MS = 2 ** 31 - 1;

/** Subscribes, publishes for --duration (or --count), then waits for the published messages to arrive. */
export async function benchCombined(o: CombinedOptions): Promise<CombinedResult> {
  const since = wallClock();
  const { signal: _signal, ...subOptions } = o;
  // the subscriber is not stopped by Ctrl-C: it goes on until what was published has arrived
  const sub = await startSub({ ...subOptions, connections: o.consumers, count: 0, durationMs: NO_DEADLINE_MS, since });
  let pub: BenchResult;
  try {
    pub = await benchPub(o);
  } catch (err) {
    sub.stop();
    await sub.done.catch(() => {});
    throw err;
  }
  sub.stop(pub.messages);
  let seen = sub.received;
  let idle: NodeJS.Timeout | undefined;
  const stalled = new Promise<void>((resolve) => {
    idle = setInterval(() => {
      if (sub.received === seen) resolve();
      seen = sub.received;
    }, DRAIN_IDLE_MS);
  });
  try {
    await Promise.race([sub.done, stalled]);
  } finally {
    clearInterval(idle);
  }
  sub.stop();
  const s = await sub.done;
  const consumed = s.messages - (s.redelivered ?? 0);
  return { mode: 'pubsub', addresses: o.addresses, topic: o.topic, channel: o.channel, published: pub.messages, consumed, missing: Math.max(0, pub.messages - consumed), pub, sub: s };
}

// `nsq redrive T.dead`: moves a dead-letter topic's messages back to their topic (docs/dead-letters.md,
// "Re-drive"). Consumes channel nsq_redrive of the dead-letter topic and publishes each body to the
// destination, FINing only after the publish was answered OK (at least once: a crash in between
// publishes a message twice, never loses one).

import { Consumer } from '../client/consumer.js';
import { httpBase } from '../client/discovery.js';
import { fetchWithin } from '../client/http.js';
import { Producer } from '../client/producer.js';
import type { TopicStats } from '../protocol/stats-json.js';
import { UserError } from '../util/errors.js';

export const REDRIVE_CHANNEL = 'nsq_redrive';

export interface RedriveOptions {
  /** the dead-letter topic, say orders.dead */
  topic: string;
  /** where the messages go (orders for orders.dead) */
  destination: string;
  /** host:port of the nsqd's TCP port (consume and publish) */
  nsqdTcpAddress: string;
  /** host:port or URL of the same nsqd's HTTP API (the depth at start) */
  nsqdHttpAddress: string;
  /** how long without a message before giving up on the rest (ms) */
  idleTimeoutMs: number;
  timeoutMs: number;
  authSecret: string;
  /** one line at the end (default: stderr) */
  log?: (line: string) => void;
}

export interface RedriveResult {
  moved: number;
  /** the messages to move when it started */
  total: number;
}

/** How many messages channel nsq_redrive will get: its own, or (not created yet) what the topic holds itself. */
async function depthAtStart(o: RedriveOptions): Promise<number> {
  const headers: Record<string, string> = o.authSecret ? { Authorization: `Bearer ${o.authSecret}` } : {};
  const url = `${httpBase(o.nsqdHttpAddress)}/stats?format=json&topic=${encodeURIComponent(o.topic)}`;
  const { status, text } = await fetchWithin(url, { headers }, o.timeoutMs, o.nsqdHttpAddress);
  if (status !== 200) throw new UserError(`${o.nsqdHttpAddress}: /stats answered ${status}`, 'E_REDRIVE', 1);
  const topic = ((JSON.parse(text) as { topics: TopicStats[] | null }).topics ?? []).find((t) => t.topic_name === o.topic);
  if (topic === undefined) throw new UserError(`topic ${o.topic} does not exist on ${o.nsqdHttpAddress}`, 'E_TOPIC_NOT_FOUND', 1);
  const ch = topic.channels.find((c) => c.channel_name === REDRIVE_CHANNEL);
  if (ch !== undefined) return ch.depth + ch.in_flight_count + ch.deferred_count;
  return topic.depth;
}

/** Moves the messages; throws E_REDRIVE_INCOMPLETE (exit 1) when fewer than the depth at start moved. */
export async function runRedrive(o: RedriveOptions): Promise<RedriveResult> {
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const total = await depthAtStart(o);
  let moved = 0;
  if (total > 0) {
    const conn = o.authSecret ? { authSecret: o.authSecret } : {};
    const producer = new Producer(o.nsqdTcpAddress, conn);
    await producer.connect();
    let failure: Error | null = null;
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    let idle: NodeJS.Timeout = setTimeout(finish, o.idleTimeoutMs);
    const consumer = new Consumer({ topic: o.topic, channel: REDRIVE_CHANNEL, nsqdTcpAddresses: [o.nsqdTcpAddress], maxInFlight: 32, autoFinish: false, maxBackoff: 0, ...conn }, (m) => {
      clearTimeout(idle);
      idle = setTimeout(finish, o.idleTimeoutMs);
      producer.publish(o.destination, m.body).then(
        () => {
          // FIN only once the destination has it
          m.finish();
          moved++;
          if (moved >= total) finish();
        },
        (err: Error) => {
          failure = err;
          m.requeue(0);
          finish();
        },
      );
    });
    consumer.events.error = (err) => {
      failure = err;
    };
    await consumer.start();
    await done;
    clearTimeout(idle);
    await consumer.stop();
    await producer.close();
    if (failure !== null && moved < total) log(`redrive: ${(failure as Error).message}`);
  }
  log(`moved ${moved} of ${total} from ${o.topic} to ${o.destination}`);
  if (moved < total) throw new UserError(`E_REDRIVE_INCOMPLETE moved ${moved} of ${total}`, 'E_REDRIVE_INCOMPLETE', 1);
  return { moved, total };
}

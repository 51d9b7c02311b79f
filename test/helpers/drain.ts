// Consuming a channel to the end with nsqjs, an independent client: every message FINed, then a
// quiet wait for any that should not come.

import { once } from 'node:events';
import nsq from 'nsqjs';
import type { Message as NsqjsMessage } from 'nsqjs';
import type { Teardown } from './nsqd.js';
import { delay, waitFor } from './stats.js';

/**
 * Reads `topic`/`channel` from the nsqd at 127.0.0.1:`tcpPort` until `n` messages arrived and
 * `quietMs` passed with no more; every body, in arrival order.
 */
export async function drainNsqjs(t: Teardown, tcpPort: number, topic: string, channel: string, n: number, o: { maxInFlight?: number; quietMs?: number } = {}): Promise<string[]> {
  const reader = new nsq.Reader(topic, channel, { nsqdTCPAddresses: [`127.0.0.1:${tcpPort}`], maxInFlight: o.maxInFlight ?? 100 });
  const got: string[] = [];
  reader.on('error', () => {});
  reader.on('message', (m: NsqjsMessage) => {
    got.push(m.body.toString());
    m.finish();
  });
  const ready = once(reader, 'ready');
  reader.connect();
  t.teardown(() => reader.close());
  await ready;
  await waitFor(`${n} messages on ${topic}/${channel} via nsqjs (have ${got.length})`, () => got.length >= n);
  await delay(o.quietMs ?? 150);
  reader.close();
  return got;
}

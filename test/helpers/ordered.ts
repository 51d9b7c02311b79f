// Ordered-channel tests' consumers (docs/ordered-channels.md): three of them (two of our client, one
// nsqjs) that FIN most messages and, at random, REQ, REQ with a delay, or let one time out; the FINs
// are recorded in the order they were sent, which on an ordered channel is the order the server
// accepted them (one message is out at a time).

import type { Test } from 'tap';
import nsq from 'nsqjs';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { delay } from './stats.js';

/** a deterministic generator, so a failure can be replayed */
export function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

type Fate = 'fin' | 'req' | 'req-delay' | 'timeout';

/** What a consumer does with a message it sees: mostly FIN; sometimes REQ, REQ with a delay, or nothing (it times out). */
function fates(seed: number, timeouts: number): (attempts: number) => Fate {
  const rand = rng(seed);
  let left = timeouts;
  return (attempts) => {
    if (attempts > 3) return 'fin';
    const r = rand(1000);
    if (r < 30) return 'req';
    if (r < 40) return 'req-delay';
    if (r < 42 && left > 0) {
      left--;
      return 'timeout';
    }
    return 'fin';
  };
}

/** Three consumers on topic/channel, FINs recorded in the order the server accepted them (FIN is sent at once). */
export async function consumers(t: Test, port: number, topic: string, channel: string, seed: number, timeouts: number): Promise<{ fins: string[]; stop: () => Promise<void> }> {
  const fins: string[] = [];
  const fate = fates(seed, timeouts);
  const ours = [0, 1].map(
    () =>
      new Consumer({ topic, channel, nsqdTcpAddresses: [`127.0.0.1:${port}`], maxInFlight: 5, autoFinish: false, msgTimeout: 1000 }, (m) => {
        const f = fate(m.attempts);
        if (f === 'fin') {
          fins.push(m.body.toString());
          m.finish();
        } else if (f === 'req') m.requeue(0);
        else if (f === 'req-delay') m.requeue(20);
      }),
  );
  for (const c of ours) {
    c.events.error = () => {};
    await c.start();
  }
  const reader = new nsq.Reader(topic, channel, { nsqdTCPAddresses: [`127.0.0.1:${port}`], maxInFlight: 5, messageTimeout: 1000, maxAttempts: 0, requeueDelay: 0 });
  reader.on('error', () => {});
  reader.on('message', (m) => {
    const f = fate(m.attempts);
    if (f === 'fin') {
      fins.push(m.body.toString());
      m.finish();
    } else if (f === 'req') m.requeue(0, false);
    else if (f === 'req-delay') m.requeue(20, false);
  });
  reader.connect();
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    reader.close();
    await Promise.all(ours.map((c) => c.stop(200)));
  };
  t.teardown(stop);
  return { fins, stop };
}

export async function publish(port: number, topic: string, bodies: string[]): Promise<void> {
  const p = new Producer(`127.0.0.1:${port}`);
  await p.connect();
  for (let i = 0; i < bodies.length; i += 200) await p.mpublish(topic, bodies.slice(i, i + 200));
  await p.close();
}

export async function until(what: string, ms: number, ok: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

/** index of the first place two sequences differ (-1: equal) */
export function firstDifference(a: string[], b: string[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return -1;
}


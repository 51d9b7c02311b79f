// A durable `nsq serve` process for the retention and durable dead-letter tests: start it, kill -9 it,
// call its HTTP API, publish one PUB at a time (so records spread over small segments), consume to the end.

import { Connection } from '../../src/client/connection.js';
import { Consumer } from '../../src/client/consumer.js';
import { serverPorts, spawnNsq, type Spawned, type Teardown } from './nsqd.js';
import { delay, waitFor } from './stats.js';

export interface Server {
  proc: Spawned;
  tcp: number;
  http: number;
}

/** small segments, so compaction has sealed ones to delete within the test's time */
export const SMALL_SEGMENTS = '--max-bytes-per-file=2048';
/** compaction runs every 2 s: wait past two passes */
export const COMPACTED_MS = 4500;
export const QUIET_MS = 200;

export async function serve(t: Teardown, dir: string, args: string[]): Promise<Server> {
  const proc = spawnNsq(t, ['serve', `--data-path=${dir}`, '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', ...args]);
  const { tcp, http } = await serverPorts(proc);
  return { proc, tcp, http };
}

/** SIGKILL, and the proof that the signal is what ended it. */
export async function kill9(s: Server): Promise<void> {
  s.proc.child.kill('SIGKILL');
  const { signal } = await s.proc.exit;
  if (signal !== 'SIGKILL') throw new Error(`the server was not killed by SIGKILL (${signal})`);
}

export async function api(s: Server, method: string, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${s.http}${path}`, { method, signal: AbortSignal.timeout(5000) });
  return { status: res.status, text: await res.text() };
}

export async function post(s: Server, path: string): Promise<string> {
  const r = await api(s, 'POST', path);
  if (r.status !== 200) throw new Error(`POST ${path}: ${r.status} ${r.text}`);
  return r.text;
}

/** Publishes `bodies` one PUB at a time (each its own commit, so records spread over segments). */
export async function publish(t: Teardown, s: Server, topic: string, bodies: string[]): Promise<void> {
  const conn = await Connection.open({ host: '127.0.0.1', port: s.tcp });
  t.teardown(() => conn.close());
  for (const b of bodies) await conn.publish(topic, b);
  await conn.close();
}

/** Consumes and FINs until `n` arrived and QUIET_MS passed with no more; every body, in arrival order. */
export async function drain(t: Teardown, s: Server, topic: string, channel: string, n: number, timeoutMs = 10_000): Promise<string[]> {
  const got: string[] = [];
  const c = new Consumer({ topic, channel, nsqdTcpAddresses: [`127.0.0.1:${s.tcp}`], maxInFlight: 1 }, (m) => {
    got.push(m.body.toString());
  });
  c.events.error = () => {};
  t.teardown(() => c.stop(100));
  await c.start();
  if (n > 0) await waitFor(`${n} messages on ${topic}/${channel} (have ${got.length})`, () => got.length >= n, timeoutMs);
  await delay(QUIET_MS);
  await c.stop();
  return got;
}


export const range = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);

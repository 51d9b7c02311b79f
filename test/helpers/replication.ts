// Test helpers: `nsq serve --durable` child processes with replication (docs/replication.md),
// their HTTP API and /stats, kill -9, and waiting for a condition.

import { setTimeout as delay } from 'node:timers/promises';
import type { Test } from 'tap';
import type { ReplicationStats } from '../../src/nsqd/replication.js';
import { serverPorts, spawnNsq, type Spawned } from './nsqd.js';

export interface Node {
  proc: Spawned;
  tcp: number;
  http: number;
  dir: string;
  args: string[];
}

/** The failover timeout the tests run with: short, so a takeover happens within a test. */
export const FAILOVER = '1s';

/** `nsq serve --durable` on `dir` (TCP on `tcpPort`, 0: any; HTTP on any port), with `args` added. */
export async function serve(t: Test, dir: string, args: string[], tcpPort = 0): Promise<Node> {
  const proc = spawnNsq(t, ['serve', '--durable', `--data-path=${dir}`, `--tcp-address=127.0.0.1:${tcpPort}`, '--http-address=127.0.0.1:0', `--failover-timeout=${FAILOVER}`, '--log-level=info', ...args]);
  const { tcp, http } = await serverPorts(proc);
  return { proc, tcp, http, dir, args };
}

export async function kill9(n: Node): Promise<void> {
  n.proc.child.kill('SIGKILL');
  await n.proc.exit;
}

export async function api(n: Node, method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${n.http}${path}`, { method, body, signal: AbortSignal.timeout(5000) });
  return { status: res.status, text: await res.text() };
}

export interface StatsJson {
  health: string;
  topics: Array<{ topic_name: string; depth: number; channels: Array<{ channel_name: string; depth: number; deferred_count: number; in_flight_count: number }> }> | null;
  replication?: ReplicationStats;
}

export async function stats(n: Node): Promise<StatsJson> {
  return JSON.parse((await api(n, 'GET', '/stats?format=json')).text) as StatsJson;
}

export async function waitFor(what: string, cond: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(50);
  }
}

export async function inSync(n: Node): Promise<boolean> {
  const r = (await stats(n)).replication;
  return r !== undefined && r.in_sync >= r.needed;
}

export async function tookOver(n: Node): Promise<boolean> {
  return ((await stats(n)).replication?.taken_over_messages ?? 0) > 0;
}

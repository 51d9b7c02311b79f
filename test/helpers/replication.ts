// Helpers for replication tests with real processes (docs/replication.md): durable nodes started
// with a short failover timeout, their /stats, publishers that record what was acknowledged,
// consumers that record what was delivered, and a TCP proxy whose connections a test can cut.

import { setTimeout as delay } from 'node:timers/promises';
import type { Test } from 'tap';
import { Connection } from '../../src/client/connection.js';
import { Consumer } from '../../src/client/consumer.js';
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

/** Publishes PUBs, one MPUB and one DPUB (due in `deferMs`); returns the bodies answered OK. */
export async function publishMix(t: Test, n: Node, topic: string, prefix: string, count: number, deferMs: number): Promise<string[]> {
  const conn = await Connection.open({ host: '127.0.0.1', port: n.tcp });
  t.teardown(() => conn.close());
  const ok: string[] = [];
  const half = Math.floor(count / 2);
  for (let i = 0; i < half; i++) {
    await conn.publish(topic, `${prefix}${i}`);
    ok.push(`${prefix}${i}`);
  }
  const batch = Array.from({ length: count - half - 1 }, (_, i) => `${prefix}${half + i}`);
  await conn.mpublish(topic, batch);
  ok.push(...batch);
  await conn.dpublish(topic, `${prefix}deferred`, deferMs);
  ok.push(`${prefix}deferred`);
  return ok;
}

/** Consumes from one node until `n` messages or `ms` pass; FINs those `n`, requeues any beyond; returns the bodies. */
export async function consume(t: Test, node: Node, topic: string, channel: string, n: number, ms: number): Promise<string[]> {
  const got: string[] = [];
  const c = new Consumer({ topic, channel, nsqdTcpAddresses: [`127.0.0.1:${node.tcp}`], maxInFlight: 50, autoFinish: false }, (m) => {
    if (got.length >= n) return m.requeue(0);
    got.push(m.body.toString());
    m.finish();
  });
  c.events.error = () => {};
  t.teardown(() => c.stop(100));
  await c.start();
  const end = Date.now() + ms;
  while (got.length < n && Date.now() < end) await delay(25);
  await delay(200);
  await c.stop();
  return got;
}

/** A TCP proxy the test controls: cut() drops every connection and refuses new ones until restore(). */
export interface Proxy {
  port: number;
  /** drops every connection and refuses new ones until restore() */
  cut(): void;
  restore(): void;
  /** holds the bytes going one way ('up': to the target, 'down': from it) in the proxy until flow() */
  hold(way: 'up' | 'down'): void;
  flow(way: 'up' | 'down'): void;
}

export async function proxy(t: Test, target: number): Promise<Proxy> {
  const { createServer, connect } = await import('node:net');
  const live = new Set<import('node:net').Socket>();
  const pairs: Array<{ s: import('node:net').Socket; up: import('node:net').Socket }> = [];
  const held = { up: false, down: false };
  let open = true;
  const server = createServer((s) => {
    if (!open) return s.destroy();
    const up = connect({ host: '127.0.0.1', port: target });
    live.add(s);
    live.add(up);
    pairs.push({ s, up });
    if (!held.up) s.pipe(up);
    else s.pause();
    if (!held.down) up.pipe(s);
    else up.pause();
    const done = (): void => {
      s.destroy();
      up.destroy();
      live.delete(s);
      live.delete(up);
    };
    s.on('error', done);
    up.on('error', done);
    s.on('close', done);
    up.on('close', done);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  t.teardown(() => {
    for (const s of live) s.destroy();
    server.close();
  });
  return {
    port: (server.address() as { port: number }).port,
    cut() {
      open = false;
      for (const s of live) s.destroy();
    },
    restore() {
      open = true;
    },
    hold(way) {
      held[way] = true;
      for (const { s, up } of pairs) {
        const [from, to] = way === 'up' ? [s, up] : [up, s];
        from.unpipe(to);
        from.pause();
      }
    },
    flow(way) {
      held[way] = false;
      for (const { s, up } of pairs) {
        const [from, to] = way === 'up' ? [s, up] : [up, s];
        from.pipe(to);
      }
    },
  };
}

/** Consumes for `ms` from a node, FINing everything; returns the bodies. */
export async function consumeFor(t: Test, node: Node, topic: string, channel: string, ms: number): Promise<string[]> {
  return consume(t, node, topic, channel, Number.MAX_SAFE_INTEGER, ms);
}

// Helpers for replication tests with real processes (docs/replication.md): durable nodes started
// with a short failover timeout, their /stats, publishers that record what was acknowledged,
// consumers that record what was delivered, and a TCP proxy whose connections a test can cut.
// A node that requires TLS is asked over HTTPS with the test certificates.

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setTimeout as delay } from 'node:timers/promises';
import type { Test } from 'tap';
import { Connection, type ConnectionConfig } from '../../src/client/connection.js';
import { Consumer } from '../../src/client/consumer.js';
import type { Stats as StatsJson } from '../../src/protocol/stats-json.js';
import { serverPorts, spawnNsq, type Spawned } from './nsqd.js';

export interface Node {
  proc: Spawned;
  tcp: number;
  http: number;
  dir: string;
  args: string[];
  /** set when the test reaches the API over HTTPS (its plain HTTP is refused with --tls-required=true) */
  https?: HttpsClient & { port: number };
}

/** The certificates the test's HTTPS requests trust and present. */
export interface HttpsClient {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** The failover timeout the tests run with: short, so a takeover happens within a test. */
export const FAILOVER = '1s';

/** `https`: the API is asked over the node's HTTPS listener (it needs --tls-cert) with these certificates. */
export async function serve(t: Test, dir: string, args: string[], tcpPort = 0, https?: HttpsClient): Promise<Node> {
  // a node with --tls-cert listens for HTTPS too: on port 0 as well, never on the default 4152
  const proc = spawnNsq(t, ['serve', '--durable', `--data-path=${dir}`, `--tcp-address=127.0.0.1:${tcpPort}`, '--http-address=127.0.0.1:0', '--https-address=127.0.0.1:0', `--failover-timeout=${FAILOVER}`, '--log-level=info', ...args]);
  const { tcp, http } = await serverPorts(proc);
  const node: Node = { proc, tcp, http, dir, args };
  if (https !== undefined) {
    let port: RegExpExecArray | null = null;
    await waitFor('the HTTPS listener', () => (port = /HTTPS: listening on .*:(\d+)/.exec(proc.stderr())) !== null, 10_000);
    node.https = { ...https, port: Number(port![1]) };
  }
  return node;
}

export async function kill9(n: Node): Promise<void> {
  n.proc.child.kill('SIGKILL');
  await n.proc.exit;
}

/**
 * One request to the node's API, over HTTPS when the node was started with `https`. No keep-alive:
 * a killed node's port may come back as another node's.
 */
export function api(n: Node, method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  const h = n.https;
  const opts = { host: '127.0.0.1', path, method, agent: false, timeout: 5000 };
  return new Promise((resolve, reject) => {
    const answer = (res: IncomingMessage): void => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    };
    const req = h === undefined ? httpRequest({ ...opts, port: n.http }, answer) : httpsRequest({ ...opts, port: h.port, ca: h.ca, cert: h.cert, key: h.key }, answer);
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.end(body);
  });
}

export type { Stats as StatsJson } from '../../src/protocol/stats-json.js';

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

/** Connection settings besides the address: TLS, an auth secret. */
export type ClientSettings = Omit<ConnectionConfig, 'host' | 'port'>;

/** Publishes PUBs, one MPUB and one DPUB (due in `deferMs`); returns the bodies answered OK. */
export async function publishMix(t: Test, n: Node, topic: string, prefix: string, count: number, deferMs: number, client: ClientSettings = {}): Promise<string[]> {
  const conn = await Connection.open({ ...client, host: '127.0.0.1', port: n.tcp });
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
export async function consume(t: Test, node: Node, topic: string, channel: string, n: number, ms: number, client: ClientSettings = {}): Promise<string[]> {
  const got: string[] = [];
  const c = new Consumer({ ...client, topic, channel, nsqdTcpAddresses: [`127.0.0.1:${node.tcp}`], maxInFlight: 50, autoFinish: false }, (m) => {
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

export async function proxy(t: { teardown(fn: () => unknown): void }, target: number): Promise<Proxy> {
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

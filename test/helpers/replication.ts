// Spawned `nsq serve --durable` nodes for the replication tests: start one, kill -9 it, ask its HTTP
// API (plain, or HTTPS with the test certificates when the node requires TLS) and its /stats;
// publish a mix of PUB, MPUB and DPUB to one and consume from one.

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setTimeout as delay } from 'node:timers/promises';
import { Connection, type ConnectionConfig } from '../../src/client/connection.js';
import { Consumer } from '../../src/client/consumer.js';
import { serverPorts, spawnNsq, type Spawned } from './nsqd.js';
import { waitFor } from './stats.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** How the test reaches a node's HTTPS API (its plain HTTP is refused with --tls-required=true). */
export interface HttpsClient {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface Node {
  proc: Spawned;
  tcp: number;
  http: number;
  dir: string;
  args: string[];
  https?: HttpsClient & { port: number };
}

export const FAILOVER = '1s';

/** `nsq serve --durable` on loopback port 0 (TCP on `tcpPort` when given), failover after 1 s. */
export async function serve(t: Teardown, dir: string, args: string[], opts: { tcpPort?: number; https?: HttpsClient } = {}): Promise<Node> {
  // a node with --tls-cert listens for HTTPS too: on port 0 as well, never on the default 4152
  const proc = spawnNsq(t, ['serve', '--durable', `--data-path=${dir}`, `--tcp-address=127.0.0.1:${opts.tcpPort ?? 0}`, '--http-address=127.0.0.1:0', '--https-address=127.0.0.1:0', `--failover-timeout=${FAILOVER}`, '--log-level=info', ...args]);
  const { tcp, http } = await serverPorts(proc);
  const node: Node = { proc, tcp, http, dir, args };
  if (opts.https !== undefined) {
    const port = await waitFor('the HTTPS listener', () => /HTTPS: listening on .*:(\d+)/.exec(proc.stderr())?.[1], 10_000);
    node.https = { ...opts.https, port: Number(port) };
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

export interface ReplicationJson {
  in_sync: number;
  needed: number;
  healthy: boolean;
  links: Array<{ address: string; state: string; error: string }>;
  mirrors: Array<{ origin: string; state: string; bytes: number }>;
  taken_over_messages: number;
}

export interface StatsJson {
  health: string;
  topics: Array<{ topic_name: string; depth: number; channels: Array<{ channel_name: string; depth: number; deferred_count: number; in_flight_count: number }> }> | null;
  replication?: ReplicationJson;
}

export async function stats(n: Node): Promise<StatsJson> {
  return JSON.parse((await api(n, 'GET', '/stats?format=json')).text) as StatsJson;
}

/** Enough of the node's replicas are in sync for its durable publishes to be answered OK. */
export async function inSync(n: Node): Promise<boolean> {
  const r = (await stats(n)).replication;
  return r !== undefined && r.in_sync >= r.needed;
}

/** Connection settings besides the address: TLS, an auth secret. */
export type ClientSettings = Omit<ConnectionConfig, 'host' | 'port'>;

/** Publishes PUBs, one MPUB and one DPUB (due in `deferMs`); returns the bodies answered OK. */
export async function publishMix(t: Teardown, n: Node, topic: string, prefix: string, count: number, deferMs: number, client: ClientSettings = {}): Promise<string[]> {
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
export async function consume(t: Teardown, node: Node, topic: string, channel: string, n: number, ms: number, client: ClientSettings = {}): Promise<string[]> {
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

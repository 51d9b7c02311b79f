// Test helpers: a real cluster of spawned processes (one `nsq lookupd`, N `nsq serve` registered
// with it, all on port 0) for the admin commands, plain HTTP calls to it, and running `nsq ...` to
// its end.

import type { StatsJson, TopicJson } from './stats.js';
import { waitFor } from './stats.js';
import { serverPorts, spawnNsq, type Spawned } from './nsqd.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface CliCluster {
  /** host:port of lookupd's HTTP API */
  lookupd: string;
  /** host:port of each node's HTTP API */
  nodes: string[];
  /** each node's TCP port */
  tcpPorts: number[];
  /** the node processes, in the order of `nodes` */
  procs: Spawned[];
}

const EPHEMERAL = ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0'];

export async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: (await res.json()) as T };
}

/** POST to a node or lookupd; throws unless it answers 200. */
export async function post(address: string, path: string, body?: string): Promise<void> {
  const res = await fetch(`http://${address}${path}`, { method: 'POST', body, signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`POST ${path} to ${address}: ${res.status} ${await res.text()}`);
}

export async function stats(node: string): Promise<StatsJson> {
  return (await getJson<StatsJson>(`http://${node}/stats?format=json`)).body;
}

export async function topicOn(node: string, topic: string): Promise<TopicJson | undefined> {
  return ((await stats(node)).topics ?? []).find((t) => t.topic_name === topic);
}

/** The topics lookupd knows (/topics). */
export async function lookupdTopics(lookupd: string): Promise<string[]> {
  return (await getJson<{ topics: string[] }>(`http://${lookupd}/topics`)).body.topics;
}

/** Starts lookupd and `n` nodes registered with it; every process is killed when the test ends. */
export async function startCliCluster(t: Teardown, n = 2): Promise<CliCluster> {
  const l = spawnNsq(t, ['lookupd', ...EPHEMERAL]);
  const lp = await serverPorts(l);
  const procs = Array.from({ length: n }, () => spawnNsq(t, ['serve', ...EPHEMERAL, '--broadcast-address=127.0.0.1', `--lookupd-tcp-address=127.0.0.1:${lp.tcp}`]));
  const ports = await Promise.all(procs.map((p) => serverPorts(p)));
  const lookupd = `127.0.0.1:${lp.http}`;
  await waitFor(`lookupd lists ${n} nodes`, async () => (await getJson<{ producers: unknown[] }>(`http://${lookupd}/nodes`)).body.producers.length === n, 10_000);
  return { lookupd, nodes: ports.map((p) => `127.0.0.1:${p.http}`), tcpPorts: ports.map((p) => p.tcp), procs };
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `nsq <args>` to its end. */
export async function nsq(t: Teardown, args: string[]): Promise<Ran> {
  const p = spawnNsq(t, args);
  const { code } = await p.exit;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

/**
 * The admin tests' data: topic orders with channels billing and audit on the first two nodes,
 * 3 messages published on the first and 2 on the second, registered with lookupd on both.
 */
export async function seedOrders(c: CliCluster): Promise<void> {
  const [a, b] = c.nodes as [string, string];
  for (const [node, body] of [[a, 'a1\na2\na3'], [b, 'b1\nb2']] as const) {
    await post(node, '/topic/create?topic=orders');
    await post(node, '/channel/create?topic=orders&channel=billing');
    await post(node, '/channel/create?topic=orders&channel=audit');
    await post(node, '/mpub?topic=orders', body);
  }
  await registered(c.lookupd, 'orders', 2);
}

/** Waits until lookupd lists `n` producers of `topic` (nodes register a new topic asynchronously). */
export async function registered(lookupd: string, topic: string, n: number): Promise<void> {
  await waitFor(`lookupd lists ${n} producers of ${topic}`, async () => {
    const r = await getJson<{ producers?: unknown[] }>(`http://${lookupd}/lookup?topic=${encodeURIComponent(topic)}`);
    return r.status === 200 && r.body.producers?.length === n;
  });
}

/** A TCP listener that counts the connections made to it: an address that must not be contacted. */
export async function untouchable(t: Teardown): Promise<{ address: string; connections: () => number }> {
  const { createServer } = await import('node:net');
  let count = 0;
  const server = createServer((s) => {
    count++;
    s.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { address: `127.0.0.1:${(server.address() as { port: number }).port}`, connections: () => count };
}

// A cluster of real processes for the replication fault tests (docs/replication.md): 2 `nsq lookupd`
// and N `nsq serve` in a ring (node i copies to node i+1, R=2), each on TCP and HTTP ports fixed at
// the first start and kept across restarts (a node's replica address must not change), with an
// explicit --replica-name; one link can run through a TCP proxy the test cuts. The same cluster
// without replication (--durable only, or plain) is the control. The faults: kill -9, deleting a
// data path, restarting, SIGSTOP/SIGCONT, cutting the proxied link. Used by
// test/integration/replication-faults.test.ts and `npm run bench -- --only replication-faults`.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverPorts, spawnNsq, type Spawned } from './nsqd.js';
import { delay, waitFor, type StatsJson } from './stats.js';
import { proxy as startProxy, type Proxy } from './replication.js';
import { freePort } from './ports.js';

export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** replicated: --durable, ring, R=2; durable: --durable alone; plain: neither (the controls) */
export type ClusterMode = 'replicated' | 'durable' | 'plain';

export interface ClusterOptions {
  mode: ClusterMode;
  /** nodes in the ring (default 3) */
  nodes?: number;
  /** --failover-timeout in ms (default 1000) */
  failoverMs?: number;
  /** the node whose link to its replica runs through a TCP proxy (replicated mode; default none) */
  proxiedLink?: number;
  /** more flags for every node */
  args?: string[];
}

export interface ClusterNode {
  index: number;
  /** --replica-name (A, B, C, ...) */
  name: string;
  tcp: number;
  http: number;
  dataPath: string;
  /** the running process; null while killed */
  proc: Spawned | null;
  /** SIGSTOPped */
  paused: boolean;
}

const NAMES = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const STATS_TIMEOUT_MS = 2000;

export class ReplicationCluster {
  readonly mode: ClusterMode;
  readonly failoverMs: number;
  readonly nodes: ClusterNode[];
  /** lookupd HTTP addresses (host:port), for consumers */
  readonly lookupdHttp: string[];
  readonly proxy: Proxy | null;
  readonly #t: Teardown;
  readonly #lookupdTcp: string[];
  readonly #proxiedLink: number | null;
  readonly #args: string[];
  /** logs of processes that are gone, per node */
  readonly #logs: string[][];

  private constructor(t: Teardown, o: ClusterOptions, nodes: ClusterNode[], lookupds: { tcp: string[]; http: string[] }, proxy: Proxy | null) {
    this.#t = t;
    this.mode = o.mode;
    this.failoverMs = o.failoverMs ?? 1000;
    this.nodes = nodes;
    this.lookupdHttp = lookupds.http;
    this.#lookupdTcp = lookupds.tcp;
    this.proxy = proxy;
    this.#proxiedLink = proxy === null ? null : (o.proxiedLink ?? null);
    this.#args = o.args ?? [];
    this.#logs = nodes.map(() => []);
  }

  /** Starts the lookupds and every node; resolves once every node listens (replicated: and is in sync). */
  static async start(t: Teardown, o: ClusterOptions): Promise<ReplicationCluster> {
    const ports = await Promise.all([0, 1].map(() => serverPorts(spawnNsq(t, ['lookupd', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0']))));
    const lookupds = { tcp: ports.map((p) => `127.0.0.1:${p.tcp}`), http: ports.map((p) => `127.0.0.1:${p.http}`) };
    const nodes: ClusterNode[] = [];
    for (let i = 0; i < (o.nodes ?? 3); i++) {
      const dataPath = mkdtempSync(join(tmpdir(), `nsq-ring-${NAMES[i]}-`));
      t.teardown(() => rmSync(dataPath, { recursive: true, force: true }));
      // a ring names its replicas before they start, so its TCP ports are chosen first; the others take the kernel's
      nodes.push({ index: i, name: NAMES[i]!, tcp: o.mode === 'replicated' ? await freePort() : 0, http: 0, dataPath, proc: null, paused: false });
    }
    let proxy: Proxy | null = null;
    if (o.mode === 'replicated' && o.proxiedLink !== undefined) proxy = await startProxy(t, nodes[(o.proxiedLink + 1) % nodes.length]!.tcp);
    const c = new ReplicationCluster(t, o, nodes, lookupds, proxy);
    for (let attempt = 1; ; attempt++) {
      const started = await Promise.allSettled(nodes.map((n) => c.restart(n.index)));
      const failed = started.find((r) => r.status === 'rejected');
      if (failed === undefined) break;
      // a port chosen above was taken by another process meanwhile: all again on new ports (a ring must agree on them)
      if (attempt === 3 || !/address already in use/.test(String(failed.reason))) throw failed.reason;
      for (const n of nodes) await c.kill9(n.index);
      for (const n of nodes) n.tcp = await freePort();
      if (proxy !== null) throw failed.reason;
    }
    if (o.mode === 'replicated') await c.waitInSync();
    return c;
  }

  get size(): number {
    return this.nodes.length;
  }

  /** The node holding node i's copy (the next one round the ring). */
  replicaOf(i: number): number {
    return (i + 1) % this.nodes.length;
  }

  /** Node i's TCP address, as consumers and publishers dial it. */
  address(i: number): string {
    return `127.0.0.1:${this.nodes[i]!.tcp}`;
  }

  /** The node listening on a TCP port (null: none of them). */
  nodeAt(port: number): number | null {
    const n = this.nodes.find((x) => x.tcp === port);
    return n === undefined ? null : n.index;
  }

  #serveArgs(n: ClusterNode): string[] {
    const args = ['serve', `--data-path=${n.dataPath}`, `--tcp-address=127.0.0.1:${n.tcp}`, '--http-address=127.0.0.1:0', ...this.#lookupdTcp.map((a) => `--lookupd-tcp-address=${a}`)];
    if (this.mode !== 'plain') args.push('--durable');
    if (this.mode === 'replicated') {
      const replica = this.nodes[this.replicaOf(n.index)]!;
      const port = this.#proxiedLink === n.index ? this.proxy!.port : replica.tcp;
      args.push(`--replica-name=${n.name}`, `--replica-address=127.0.0.1:${port}`, '--replication-factor=2', `--failover-timeout=${this.failoverMs}ms`);
    }
    return [...args, ...this.#args];
  }

  /** (Re)starts node i on its ports and data path (whatever is left of it); resolves once it listens. */
  async restart(i: number): Promise<void> {
    const n = this.nodes[i]!;
    if (n.proc !== null) throw new Error(`node ${n.name} is running`);
    mkdirSync(n.dataPath, { recursive: true });
    const proc = spawnNsq(this.#t, this.#serveArgs(n));
    const ports = await serverPorts(proc);
    // the TCP port stays what replicas and consumers know; the HTTP port is the kernel's each time
    n.tcp = ports.tcp;
    n.http = ports.http;
    n.proc = proc;
    n.paused = false;
  }

  /** kill -9; resolves once the process is gone. */
  async kill9(i: number): Promise<void> {
    const n = this.nodes[i]!;
    const proc = n.proc;
    if (proc === null) return;
    if (n.paused) proc.child.kill('SIGCONT');
    proc.child.kill('SIGKILL');
    await proc.exit;
    this.#logs[i]!.push(proc.stderr(), `--- kill -9 at ${new Date().toISOString()}\n`);
    n.proc = null;
    n.paused = false;
  }

  /** rm -rf of a killed node's data path: its disk is lost. */
  wipe(i: number): void {
    const n = this.nodes[i]!;
    if (n.proc !== null) throw new Error(`node ${n.name} is running`);
    rmSync(n.dataPath, { recursive: true, force: true });
  }

  /** Every node's log (stderr) since the cluster started, restarts included. */
  logs(): string[] {
    return this.nodes.map((n) => this.#logs[n.index]!.join('') + (n.proc?.stderr() ?? ''));
  }

  /** SIGSTOP: the process is frozen, its sockets stay open. */
  pause(i: number): void {
    const n = this.nodes[i]!;
    n.proc?.child.kill('SIGSTOP');
    n.paused = true;
  }

  /** SIGCONT */
  resume(i: number): void {
    const n = this.nodes[i]!;
    n.proc?.child.kill('SIGCONT');
    n.paused = false;
  }

  /** A running, not paused node. */
  up(i: number): boolean {
    const n = this.nodes[i]!;
    return n.proc !== null && !n.paused;
  }

  /** An HTTP request to node i (bounded: a paused node never answers). */
  async http(i: number, method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
    const res = await fetch(`http://127.0.0.1:${this.nodes[i]!.http}${path}`, { method, body, signal: AbortSignal.timeout(STATS_TIMEOUT_MS) });
    return { status: res.status, text: await res.text() };
  }

  async stats(i: number, query = ''): Promise<StatsJson> {
    const r = await this.http(i, 'GET', `/stats?format=json${query}`);
    if (r.status !== 200) throw new Error(`node ${this.nodes[i]!.name}: /stats answered ${r.status}`);
    return JSON.parse(r.text) as StatsJson;
  }

  /** Creates topic and channel on every running node. */
  async createChannel(topic: string, channel: string): Promise<void> {
    for (let i = 0; i < this.size; i++) {
      if (!this.up(i)) continue;
      for (const path of [`/topic/create?topic=${encodeURIComponent(topic)}`, `/channel/create?topic=${encodeURIComponent(topic)}&channel=${encodeURIComponent(channel)}`]) {
        const r = await this.http(i, 'POST', path);
        if (r.status !== 200) throw new Error(`node ${this.nodes[i]!.name}: ${path} answered ${r.status} ${r.text}`);
      }
    }
  }

  /** Whether every node is up and has as many replicas in sync as it needs (always, without replication). */
  async inSync(): Promise<boolean> {
    for (let i = 0; i < this.size; i++) {
      if (!this.up(i)) return false;
      if (this.mode !== 'replicated') continue;
      const r = (await this.stats(i).catch(() => null))?.replication;
      if (r === undefined || r.in_sync < r.needed) return false;
    }
    return true;
  }

  async waitInSync(timeoutMs = 30_000): Promise<void> {
    await waitFor('every node in sync with its replica', () => this.inSync(), timeoutMs, 50);
  }

  /** Node i's topic depth and channel (zeros: no such topic or channel yet); null when the node does not answer. */
  async channel(i: number, topic: string, channel: string): Promise<{ topicDepth: number; depth: number; inFlight: number; deferred: number } | null> {
    const s = await this.stats(i, `&topic=${encodeURIComponent(topic)}`).catch(() => null);
    if (s === null) return null;
    const tj = s.topics?.find((x) => x.topic_name === topic);
    const c = tj?.channels.find((x) => x.channel_name === channel);
    return { topicDepth: tj?.depth ?? 0, depth: c?.depth ?? 0, inFlight: c?.in_flight_count ?? 0, deferred: c?.deferred_count ?? 0 };
  }

  /** Messages the cluster still holds for a channel: queued (topic and channel), in flight, deferred; NaN when a node is down or does not answer. */
  async held(topic: string, channel: string): Promise<number> {
    let sum = 0;
    for (let i = 0; i < this.size; i++) {
      const c = this.up(i) ? await this.channel(i, topic, channel) : null;
      if (c === null) return NaN;
      sum += c.topicDepth + c.depth + c.inFlight + c.deferred;
    }
    return sum;
  }

  /**
   * When node `replica` took node `origin` over at or after `since` (epoch ms, from its /stats
   * `mirrors[].state` = taken_over and the record's age); null while it has not. The record stays
   * until the origin comes back and applies it.
   */
  async takenOverAt(replica: number, origin: number, since: number): Promise<number | null> {
    const asked = Date.now();
    const r = (await this.stats(replica).catch(() => null))?.replication;
    const m = r?.mirrors.find((x) => x.origin === this.nodes[origin]!.name && x.state === 'taken_over');
    if (m === undefined) return null;
    const at = asked - m.last_contact_ms;
    // the record's age is read to the millisecond; a takeover before `since` belongs to an earlier fault
    return at >= since - 5 ? at : null;
  }

  /**
   * Polls the replica of `origin` until it took it over after `since`: `at` resolves with that time,
   * or null after `timeoutMs` or once stop() is called (a fault that may well cause no takeover).
   */
  watchTakeover(origin: number, since: number, timeoutMs: number): { at: Promise<number | null>; stop(): void } {
    let stopped = false;
    const replica = this.replicaOf(origin);
    const at = (async (): Promise<number | null> => {
      const deadline = Date.now() + timeoutMs;
      while (!stopped && Date.now() < deadline) {
        const when = await this.takenOverAt(replica, origin, since);
        if (when !== null) return when;
        await delay(50);
      }
      return null;
    })();
    return { at, stop: () => void (stopped = true) };
  }

  /** taken_over_messages of node i (0 without replication or when it does not answer) */
  async takenOverMessages(i: number): Promise<number> {
    return (await this.stats(i).catch(() => null))?.replication?.taken_over_messages ?? 0;
  }

  /** restored_messages of node i: what it took back from its replicas' copies when it started empty */
  async restoredMessages(i: number): Promise<number> {
    return (await this.stats(i).catch(() => null))?.replication?.restored_messages ?? 0;
  }
}

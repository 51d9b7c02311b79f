// What `nsq admin` knows of the cluster, read at the time of each API request as nsqadmin's
// clusterinfo does: the lookupds' producers and topics (or, without lookupds, the nsqd nodes given),
// and each node's /stats. A lookupd or node that does not answer leaves its part out and adds a
// warning; only when none answers is the request an error (UpstreamError, 502).

import { httpBase } from '../client/discovery.js';
import { fetchWithin } from '../client/http.js';
import type { Stats } from '../protocol/stats-json.js';

export interface ClusterOptions {
  lookupdHttpAddresses: string[];
  nsqdHttpAddresses: string[];
  /** per request to a lookupd or node */
  timeoutMs: number;
}

/** nsqadmin's Producer: a node as the lookupds (or the node itself) describe it. */
export interface AdminProducer {
  /** the address each lookupd sees the node connect from */
  remote_addresses: string[];
  remote_address: string;
  hostname: string;
  broadcast_address: string;
  tcp_port: number;
  http_port: number;
  version: string;
  topics: { topic: string; tombstoned: boolean }[];
  /** its version is older than the newest in the cluster */
  out_of_date: boolean;
}

/** Every lookupd or node that failed, and how (nsqadmin's PartialErr): the answer's WARNING message. */
export class Warnings {
  readonly errors: string[] = [];
  add(what: string, err: unknown): void {
    this.errors.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
  /** nsqadmin's `message`: "" or "WARNING: ..." */
  get message(): string {
    return this.errors.length === 0 ? '' : `WARNING: ${this.errors.join('; ')}`;
  }
}

/** A node to ask: its HTTP address and the hostname it reports (the address's host when unknown). */
export interface NodeRef {
  address: string;
  hostname: string;
}

/** Nothing answered: the API's 502 UPSTREAM_ERROR. */
export class UpstreamError extends Error {}

const hostPort = (host: string, port: number): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);
export const producerHttpAddress = (p: Pick<AdminProducer, 'broadcast_address' | 'http_port'>): string => hostPort(p.broadcast_address, p.http_port);

async function getJson(address: string, path: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const { status, text } = await fetchWithin(`${httpBase(address)}${path}`, {}, timeoutMs, address);
  if (status < 200 || status >= 300) throw new Error(`${path} answered ${status}`);
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`${path} answered something other than JSON`);
  }
  // nsqlookupd and nsqd before 1.0 wrapped answers in {"status_code", "data"}
  return typeof body['data'] === 'object' && body['data'] !== null && !Array.isArray(body['data']) && body['status_code'] !== undefined ? (body['data'] as Record<string, unknown>) : body;
}

/** Asks every address, keeps what answered; throws UpstreamError when none did (and there was one to ask). */
async function askAll<T>(addresses: readonly string[], ask: (a: string) => Promise<T>, partial: Warnings, what: string): Promise<{ address: string; value: T }[]> {
  const settled = await Promise.allSettled(addresses.map(ask));
  const ok: { address: string; value: T }[] = [];
  settled.forEach((s, i) => {
    if (s.status === 'fulfilled') ok.push({ address: addresses[i]!, value: s.value });
    else partial.add(`${what} ${addresses[i]}`, s.reason);
  });
  if (ok.length === 0 && addresses.length > 0) throw new UpstreamError(partial.errors.join('; '));
  return ok;
}

function semverParts(v: string): number[] {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v);
  return m === null ? [0, 0, 0] : [Number(m[1]), Number(m[2]), Number(m[3])];
}

function olderThan(a: string, b: string): boolean {
  const x = semverParts(a);
  const y = semverParts(b);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! < y[i]!;
  return false;
}

export class Cluster {
  readonly o: ClusterOptions;

  constructor(o: ClusterOptions) {
    this.o = o;
  }

  get usesLookupd(): boolean {
    return this.o.lookupdHttpAddresses.length > 0;
  }

  /** Every topic: the lookupds' /topics, or the topics of each node's /stats. Sorted. */
  async topics(partial: Warnings): Promise<string[]> {
    const names = new Set<string>();
    if (this.usesLookupd) {
      for (const { value } of await askAll(this.o.lookupdHttpAddresses, (l) => getJson(l, '/topics', this.o.timeoutMs), partial, 'lookupd')) {
        for (const t of (value['topics'] as string[] | undefined) ?? []) names.add(t);
      }
    } else {
      for (const { value } of await askAll(this.o.nsqdHttpAddresses, (n) => this.#stats(n), partial, 'nsqd')) for (const t of value.topics ?? []) names.add(t.topic_name);
    }
    return [...names].sort();
  }

  /** The channels the lookupds know for a topic (registered, whether or not a node has them). */
  async lookupdChannels(topic: string, partial: Warnings): Promise<string[]> {
    const names = new Set<string>();
    const q = `/channels?topic=${encodeURIComponent(topic)}`;
    for (const { value } of await askAll(this.o.lookupdHttpAddresses, (l) => getJson(l, q, this.o.timeoutMs), partial, 'lookupd')) {
      for (const c of (value['channels'] as string[] | undefined) ?? []) names.add(c);
    }
    return [...names].sort();
  }

  /** Every node: the lookupds' /nodes merged by address, or each given node's /stats. */
  async producers(partial: Warnings): Promise<AdminProducer[]> {
    const byAddress = new Map<string, AdminProducer>();
    if (this.usesLookupd) {
      for (const { value } of await askAll(this.o.lookupdHttpAddresses, (l) => getJson(l, '/nodes', this.o.timeoutMs), partial, 'lookupd')) {
        for (const raw of (value['producers'] as Record<string, unknown>[] | undefined) ?? []) {
          const p = fromLookupd(raw);
          const key = producerHttpAddress(p);
          const known = byAddress.get(key);
          if (known === undefined) {
            byAddress.set(key, p);
            continue;
          }
          known.remote_addresses.push(...p.remote_addresses);
          for (const t of p.topics) {
            const had = known.topics.find((k) => k.topic === t.topic);
            if (had === undefined) known.topics.push(t);
            else had.tombstoned ||= t.tombstoned;
          }
        }
      }
    } else {
      for (const { address, value } of await askAll(this.o.nsqdHttpAddresses, (n) => this.#stats(n), partial, 'nsqd')) {
        const { host, port } = splitHostPort(address);
        const p: AdminProducer = {
          remote_addresses: [],
          remote_address: '',
          hostname: host,
          broadcast_address: host,
          tcp_port: 0,
          http_port: port,
          version: value.version,
          topics: (value.topics ?? []).map((t) => ({ topic: t.topic_name, tombstoned: false })),
          out_of_date: false,
        };
        byAddress.set(address, p);
      }
      // the TCP port and hostname come from /info, as nsqadmin asks each node
      await Promise.all(
        [...byAddress.entries()].map(async ([address, p]) => {
          try {
            const info = await getJson(address, '/info', this.o.timeoutMs);
            if (typeof info['tcp_port'] === 'number') p.tcp_port = info['tcp_port'];
            if (typeof info['hostname'] === 'string') p.hostname = info['hostname'];
            if (typeof info['broadcast_address'] === 'string') p.broadcast_address = info['broadcast_address'];
          } catch {
            // /stats answered; the figures stand without the TCP port
          }
        }),
      );
    }
    const all = [...byAddress.values()];
    const newest = all.reduce((v, p) => (olderThan(v, p.version) ? p.version : v), '0.0.0');
    for (const p of all) {
      p.out_of_date = olderThan(p.version, newest);
      p.topics.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
    }
    return all.sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
  }

  /** The nodes that have `topic` (HTTP address and hostname): lookupd's /lookup, or the given nodes whose /stats list it. */
  async topicNodes(topic: string, partial: Warnings): Promise<NodeRef[]> {
    const nodes = new Map<string, string>();
    if (this.usesLookupd) {
      const q = `/lookup?topic=${encodeURIComponent(topic)}`;
      const settled = await Promise.allSettled(this.o.lookupdHttpAddresses.map((l) => getJson(l, q, this.o.timeoutMs)));
      let answered = 0;
      settled.forEach((s, i) => {
        if (s.status === 'fulfilled') {
          answered++;
          for (const raw of (s.value['producers'] as Record<string, unknown>[] | undefined) ?? []) {
            const p = fromLookupd(raw);
            nodes.set(producerHttpAddress(p), p.hostname);
          }
        } else if (/answered 404$/.test(String((s.reason as Error).message))) {
          answered++; // the lookupd does not know the topic
        } else partial.add(`lookupd ${this.o.lookupdHttpAddresses[i]}`, s.reason);
      });
      if (answered === 0) throw new UpstreamError(partial.errors.join('; '));
    } else {
      for (const { address, value } of await askAll(this.o.nsqdHttpAddresses, (n) => this.#stats(n), partial, 'nsqd')) {
        if ((value.topics ?? []).some((t) => t.topic_name === topic)) nodes.set(address, splitHostPort(address).host);
      }
    }
    return [...nodes.entries()].map(([address, hostname]) => ({ address, hostname })).sort((a, b) => (a.address < b.address ? -1 : 1));
  }

  /** Each node's /stats (with clients), for the nodes given; nodes that fail are warnings. */
  async nodeStats(nodes: readonly string[], partial: Warnings, topic?: string): Promise<{ node: string; stats: Stats }[]> {
    const got = await askAll(nodes, (n) => this.#stats(n, topic), partial, 'nsqd');
    return got.map(({ address, value }) => ({ node: address, stats: value }));
  }

  async #stats(node: string, topic?: string): Promise<Stats> {
    const q = topic === undefined ? '' : `&topic=${encodeURIComponent(topic)}`;
    return (await getJson(node, `/stats?format=json&include_clients=true${q}`, this.o.timeoutMs)) as unknown as Stats;
  }
}

function fromLookupd(raw: Record<string, unknown>): AdminProducer {
  const topics = (raw['topics'] as string[] | undefined) ?? [];
  const tombstones = (raw['tombstones'] as boolean[] | undefined) ?? [];
  const remote = typeof raw['remote_address'] === 'string' ? raw['remote_address'] : '';
  return {
    remote_addresses: remote === '' ? [] : [remote],
    remote_address: remote,
    hostname: String(raw['hostname'] ?? ''),
    broadcast_address: String(raw['broadcast_address'] ?? ''),
    tcp_port: Number(raw['tcp_port'] ?? 0),
    http_port: Number(raw['http_port'] ?? 0),
    version: String(raw['version'] ?? ''),
    topics: topics.map((topic, i) => ({ topic, tombstoned: tombstones[i] === true })),
    out_of_date: false,
  };
}

function splitHostPort(address: string): { host: string; port: number } {
  const bare = address.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(bare);
  return m === null ? { host: bare, port: 0 } : { host: m[1]!, port: Number(m[2]) };
}

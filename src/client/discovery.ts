// Finding the nsqd nodes of a topic through lookupd: polls /lookup?topic= on every
// --lookupd-http-address (every interval, with jitter), takes the union of the producers, and
// reports nodes that appeared or vanished. One lookupd being down changes nothing while another answers.
// With no node yet it keeps polling until one appears (as go-nsq does) and says once why it waits.

import { NsqError } from './connection.js';
import { fetchWithin } from './http.js';
import { E_HTTP } from '../protocol/errors.js';

export interface Producer {
  broadcast_address: string;
  tcp_port: number;
  http_port: number;
  hostname?: string;
  version?: string;
}

interface LookupAnswer {
  producers?: Producer[];
}

export interface DiscoveryEvents {
  /** a node (host:port of its TCP address) now carries the topic */
  added?: (tcpAddress: string, producer: Producer) => void;
  /** a node no longer does (every lookupd that answered has dropped it) */
  removed?: (tcpAddress: string) => void;
  /** one lookupd could not be asked while nodes are known: told once, until it answers again */
  error?: (lookupd: string, err: Error) => void;
  /**
   * no node carries the topic yet: why (the topic is not registered, or no lookupd answered and
   * their errors). Told once per change of reason, not per poll; polling goes on.
   */
  waiting?: (why: string) => void;
}

/** GET a lookupd path: its status and (for 200) its JSON answer, both within `timeoutMs`. */
async function get(lookupd: string, path: string, timeoutMs: number): Promise<{ ok: boolean; status: number; json: () => unknown }> {
  const { status, text } = await fetchWithin(`${httpBase(lookupd)}${path}`, {}, timeoutMs, `lookupd ${lookupd}`);
  return {
    ok: status >= 200 && status < 300,
    status,
    json: () => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new NsqError(E_HTTP, `lookupd ${lookupd}: ${path} answered with something other than JSON`);
      }
    },
  };
}

/** http://host:port for a host:port (or a full URL), without a trailing slash. */
export const httpBase = (address: string): string => (/^https?:\/\//.test(address) ? address : `http://${address}`).replace(/\/$/, '');

/**
 * Asks every lookupd for `path` and unions what `pick` takes from the answers (pre-1.0 lookupds
 * wrapped them in {"data": ...}). Lookupds that fail are left out; when none answers, the first
 * error is thrown.
 */
export async function askLookupds<T>(lookupds: readonly string[], path: string, pick: (body: Record<string, unknown>) => unknown, timeoutMs = 5000): Promise<T[]> {
  const answers = await Promise.allSettled(
    lookupds.map(async (l) => {
      const res = await get(l, path, timeoutMs);
      if (!res.ok) throw new NsqError(E_HTTP, `lookupd ${l}: ${path} answered ${res.status}`);
      const body = res.json() as Record<string, unknown> & { data?: Record<string, unknown> };
      const got = pick(body) ?? (body.data === undefined ? undefined : pick(body.data));
      return Array.isArray(got) ? (got as T[]) : [];
    }),
  );
  const ok = answers.filter((a): a is PromiseFulfilledResult<T[]> => a.status === 'fulfilled');
  if (ok.length === 0 && answers.length > 0) throw (answers[0] as PromiseRejectedResult).reason as Error;
  return ok.flatMap((a) => a.value);
}

/** The producers of `topic` according to one lookupd; [] when it does not know the topic. */
export async function lookupTopic(lookupd: string, topic: string, timeoutMs = 5000): Promise<Producer[]> {
  const res = await get(lookupd, `/lookup?topic=${encodeURIComponent(topic)}`, timeoutMs);
  if (res.status === 404) return [];
  if (!res.ok) throw new NsqError(E_HTTP, `lookupd ${lookupd}: /lookup answered ${res.status}`);
  const body = res.json() as LookupAnswer & { data?: LookupAnswer };
  // nsqlookupd before 1.0 wrapped answers in {"status_code", "data"}
  return (body.producers ?? body.data?.producers ?? []).filter((p) => typeof p.broadcast_address === 'string' && Number.isInteger(p.tcp_port));
}

/** Every nsqd registered with the lookupds that answer (/nodes); throws when none answers. */
async function lookupRegisteredNodes(lookupds: readonly string[], timeoutMs = 5000): Promise<Producer[]> {
  return (await askLookupds<Producer>(lookupds, '/nodes', (b) => b['producers'], timeoutMs)).filter((p) => typeof p.broadcast_address === 'string' && Number.isInteger(p.tcp_port));
}

/** TCP addresses of every nsqd registered with the lookupds (for publishing, where no topic exists yet). */
export async function lookupAllNodes(lookupds: readonly string[], timeoutMs = 5000): Promise<string[]> {
  const producers = await askLookupds<Producer>(lookupds, '/nodes', (b) => b['producers'], timeoutMs);
  return [...new Set(producers.map(tcpAddressOf))];
}

/** HTTP addresses of every nsqd registered with the lookupds (nsq top, nsq ls); throws when none answers. */
export async function lookupAllHttpNodes(lookupds: readonly string[], timeoutMs = 5000): Promise<string[]> {
  const producers = await askLookupds<Producer>(lookupds, '/nodes', (b) => b['producers'], timeoutMs);
  return [...new Set(producers.map(httpAddressOf))];
}

/** The union of the producers of `topic` the lookupds list, one per node; throws when no lookupd answers. */
export async function lookupTopicProducers(lookupds: readonly string[], topic: string, timeoutMs = 5000): Promise<Producer[]> {
  const answers = await Promise.allSettled(lookupds.map((l) => lookupTopic(l, topic, timeoutMs)));
  const ok = answers.filter((a): a is PromiseFulfilledResult<Producer[]> => a.status === 'fulfilled');
  if (ok.length === 0 && answers.length > 0) throw (answers[0] as PromiseRejectedResult).reason as Error;
  return uniqueProducers(ok.flatMap((a) => a.value));
}

function uniqueProducers(producers: Producer[]): Producer[] {
  const unique = new Map<string, Producer>();
  for (const p of producers) unique.set(tcpAddressOf(p), p);
  return [...unique.values()];
}

/**
 * Where to publish `topic`: the nodes the lookupds list for it, or, when none has it yet, every
 * node registered with them (publishing creates the topic there). Throws when no lookupd answers.
 */
export async function lookupPublishNodes(lookupds: readonly string[], topic: string, timeoutMs = 5000): Promise<Producer[]> {
  const producers = await lookupTopicProducers(lookupds, topic, timeoutMs);
  return producers.length > 0 ? producers : uniqueProducers(await lookupRegisteredNodes(lookupds, timeoutMs));
}

/** Every topic the lookupds that answer know about. */
export async function lookupTopics(lookupds: readonly string[], timeoutMs = 5000): Promise<string[]> {
  return [...new Set(await askLookupds<string>(lookupds, '/topics', (b) => b['topics'], timeoutMs))];
}

const hostPort = (host: string, port: number): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);
export const tcpAddressOf = (p: Producer): string => hostPort(p.broadcast_address, p.tcp_port);
export const httpAddressOf = (p: Producer): string => hostPort(p.broadcast_address, p.http_port);

export class Discovery {
  readonly topic: string;
  events: DiscoveryEvents = {};
  #lookupds: string[];
  #intervalMs: number;
  #known = new Map<string, Producer>();
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  /** lookupds whose last poll failed: their failure has been told */
  #failing = new Set<string>();
  /** the reason last given to `waiting` (null: nodes are known, or nothing told yet) */
  #waitingFor: string | null = null;

  constructor(lookupds: string[], topic: string, intervalMs = 60_000) {
    this.#lookupds = lookupds;
    this.topic = topic;
    this.#intervalMs = intervalMs;
  }

  get nodes(): string[] {
    return [...this.#known.keys()];
  }

  /** Asks every lookupd now; resolves with the nodes known after this round. */
  async poll(): Promise<string[]> {
    // a poll does not outlast its interval by much (1-5 s)
    const timeoutMs = Math.min(5000, Math.max(1000, this.#intervalMs));
    const results = await Promise.allSettled(this.#lookupds.map((l) => lookupTopic(l, this.topic, timeoutMs)));
    const found = new Map<string, Producer>();
    const failures: string[] = [];
    let answered = 0;
    results.forEach((r, i) => {
      const lookupd = this.#lookupds[i]!;
      if (r.status === 'fulfilled') {
        answered++;
        this.#failing.delete(lookupd);
        for (const p of r.value) found.set(tcpAddressOf(p), p);
      } else {
        const err = r.reason as Error;
        failures.push(err.message);
        // told once, not at every poll; while no node is known, `waiting` says it instead
        if (!this.#failing.has(lookupd) && this.#known.size > 0) this.events.error?.(lookupd, err);
        this.#failing.add(lookupd);
      }
    });
    if (this.#stopped) return this.nodes;
    // with no lookupd answering, keep what we had rather than drop every node
    if (answered === 0) {
      if (this.#known.size === 0) this.#wait(`no lookupd answered (${failures.join('; ')})`);
      return this.nodes;
    }
    for (const [addr, p] of found) {
      if (!this.#known.has(addr)) {
        this.#known.set(addr, p);
        this.events.added?.(addr, p);
      }
    }
    for (const addr of [...this.#known.keys()]) {
      if (!found.has(addr)) {
        this.#known.delete(addr);
        this.events.removed?.(addr);
      }
    }
    if (this.#known.size === 0) this.#wait(`no nsqd has topic ${this.topic} yet (lookupd: ${this.#lookupds.join(', ')})`);
    else this.#waitingFor = null;
    return this.nodes;
  }

  #wait(why: string): void {
    // the same kind of reason with other details (another errno) is not news
    const kind = why.slice(0, why.indexOf(' ('));
    if (this.#waitingFor === kind) return;
    this.#waitingFor = kind;
    this.events.waiting?.(why);
  }

  /** Polls now and then every interval (±10 % jitter, so many clients do not ask together). */
  async start(): Promise<string[]> {
    const nodes = await this.poll();
    this.#schedule();
    return nodes;
  }

  #schedule(): void {
    if (this.#stopped) return;
    const wait = this.#intervalMs * (0.9 + Math.random() * 0.2);
    this.#timer = setTimeout(() => {
      void this.poll().finally(() => this.#schedule());
    }, wait);
    // not unref'd: a consumer waiting for its topic has nothing else keeping the process alive
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }
}

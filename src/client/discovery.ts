// Finding the nsqd nodes of a topic through lookupd: polls /lookup?topic= on every
// --lookupd-http-address (every interval, with jitter), takes the union of the producers, and
// reports nodes that appeared or vanished. One lookupd being down changes nothing while another answers.

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
  /** one lookupd could not be asked (the others may still have answered) */
  error?: (lookupd: string, err: Error) => void;
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
      const res = await fetch(`${httpBase(l)}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) throw new Error(`${l}: ${path} answered ${res.status}`);
      const body = (await res.json()) as Record<string, unknown> & { data?: Record<string, unknown> };
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
  const res = await fetch(`${httpBase(lookupd)}/lookup?topic=${encodeURIComponent(topic)}`, { signal: AbortSignal.timeout(timeoutMs) });
  if (res.status === 404) return [];
  if (!res.ok) throw new Error(`${lookupd}: /lookup answered ${res.status}`);
  const body = (await res.json()) as LookupAnswer & { data?: LookupAnswer };
  // nsqlookupd before 1.0 wrapped answers in {"status_code", "data"}
  return (body.producers ?? body.data?.producers ?? []).filter((p) => typeof p.broadcast_address === 'string' && Number.isInteger(p.tcp_port));
}

/** TCP addresses of every nsqd registered with the lookupds (for publishing, where no topic exists yet). */
export async function lookupAllNodes(lookupds: readonly string[], timeoutMs = 5000): Promise<string[]> {
  const producers = await askLookupds<Producer>(lookupds, '/nodes', (b) => b['producers'], timeoutMs);
  return [...new Set(producers.map(tcpAddressOf))];
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
    const results = await Promise.allSettled(this.#lookupds.map((l) => lookupTopic(l, this.topic)));
    const found = new Map<string, Producer>();
    let answered = 0;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') {
        answered++;
        for (const p of r.value) found.set(tcpAddressOf(p), p);
      } else {
        this.events.error?.(this.#lookupds[i]!, r.reason as Error);
      }
    });
    if (this.#stopped) return this.nodes;
    // with no lookupd answering, keep what we had rather than drop every node
    if (answered === 0) return this.nodes;
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
    return this.nodes;
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
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }
}

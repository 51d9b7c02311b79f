// Polls /stats?format=json of every node in parallel, with a timeout per node. A node that does
// not answer becomes a "down" entry with its error; the others are unaffected.

import { httpBase, lookupAllHttpNodes } from '../client/discovery.js';
import { tcpPortReason } from '../client/http.js';
import type { ChannelStats, ClientStats, Stats, TopicStats } from '../protocol/stats-json.js';

export type { ChannelStats, ClientStats, Stats, TopicStats };

export interface NodeSnapshot {
  /** host:port of the node's HTTP API */
  address: string;
  ok: boolean;
  error?: string;
  stats?: Stats;
}

/** A lookupd asked for the nodes (--lookupd-http-address): not a node itself, never counted as one. */
export interface LookupdSnapshot {
  address: string;
  ok: boolean;
  error?: string;
  /** the nsqd HTTP addresses it lists (when it answers) */
  nodes?: string[];
}

export interface Snapshot {
  /** ms since the epoch when the poll started */
  at: number;
  /** the nsqd nodes */
  nodes: NodeSnapshot[];
  /** the lookupds that were asked for them; absent without --lookupd-http-address */
  lookupds?: LookupdSnapshot[];
}

export function statsUrl(address: string): string {
  return `${httpBase(address)}/stats?format=json&include_clients=true&include_mem=true`;
}

export async function pollNode(address: string, timeoutMs: number): Promise<NodeSnapshot> {
  try {
    const res = await fetch(statsUrl(address), { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return { address, ok: false, error: `HTTP ${res.status}` };
    const stats = (await res.json()) as Stats;
    return { address, ok: true, stats };
  } catch (err) {
    return { address, ok: false, error: describeFetchError(err, timeoutMs) };
  }
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return `no answer in ${timeoutMs}ms`;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code === 'ECONNREFUSED') return 'connection refused';
    const tcp = tcpPortReason(err);
    if (tcp !== null) return tcp;
    if (cause?.code) return cause.code;
    if (cause?.message) return cause.message;
    if (err instanceof SyntaxError) return 'not an nsqd /stats answer';
    return err.message;
  }
  return String(err);
}

/**
 * The HTTP addresses of every node registered with the lookupds that answer (null when none does),
 * and how each lookupd answered: one that is down is shown as such, while the others still count.
 */
export async function lookupNodes(lookupds: readonly string[], timeoutMs: number): Promise<{ nodes: string[] | null; lookupds: LookupdSnapshot[] }> {
  const answers = await Promise.all(
    lookupds.map(async (address): Promise<{ address: string; nodes?: string[]; error?: string }> => {
      try {
        return { address, nodes: await lookupAllHttpNodes([address], timeoutMs) };
      } catch (err) {
        // the client's errors name the address ("connect to lookupd X: why"); the screen names it already
        const why = (err as Error).message.replace(`connect to lookupd ${address}: `, '');
        return { address, error: why };
      }
    }),
  );
  const answered = answers.filter((a) => a.nodes !== undefined);
  return {
    nodes: answered.length === 0 ? null : [...new Set(answered.flatMap((a) => a.nodes!))],
    lookupds: answers.map((a) => (a.nodes !== undefined ? { address: a.address, ok: true, nodes: a.nodes } : { address: a.address, ok: false, error: a.error })),
  };
}

export async function pollAll(addresses: readonly string[], timeoutMs: number): Promise<Snapshot> {
  const at = Date.now();
  const nodes = await Promise.all(addresses.map((a) => pollNode(a, timeoutMs)));
  return { at, nodes };
}

/** Polls every `intervalMs` until stopped; each result goes to `onSnapshot`. */
export class Poller {
  #addresses: string[];
  #intervalMs: number;
  #timeoutMs: number;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  onSnapshot: (s: Snapshot) => void = () => {};

  #lookupds: string[];
  /** nodes lookupd listed before: one that disappears stays on screen, marked */
  #discovered = new Set<string>();

  constructor(addresses: string[], intervalMs: number, timeoutMs = Math.max(500, Math.min(intervalMs, 5000)), lookupds: string[] = []) {
    this.#addresses = addresses;
    this.#lookupds = lookupds;
    this.#intervalMs = intervalMs;
    this.#timeoutMs = timeoutMs;
  }

  start(): void {
    this.#stopped = false;
    void this.#tick();
  }

  /** Polls now (after an action), without waiting for the next tick. */
  refresh(): void {
    if (this.#timer) clearTimeout(this.#timer);
    void this.#tick();
  }

  async #tick(): Promise<void> {
    this.#timer = null;
    const snapshot = await this.#poll();
    if (this.#stopped) return;
    this.onSnapshot(snapshot);
    if (this.#timer === null && !this.#stopped) this.#timer = setTimeout(() => void this.#tick(), this.#intervalMs);
  }

  async #poll(): Promise<Snapshot> {
    if (this.#lookupds.length === 0) return pollAll(this.#addresses, this.#timeoutMs);
    const { nodes: listed, lookupds } = await lookupNodes(this.#lookupds, this.#timeoutMs);
    // while no lookupd answers, the nodes found before are still watched
    const current = new Set(listed ?? this.#discovered);
    for (const a of current) this.#discovered.add(a);
    const gone = [...this.#discovered].filter((a) => !current.has(a) && !this.#addresses.includes(a));
    const snapshot = await pollAll([...new Set([...this.#addresses, ...current])], this.#timeoutMs);
    for (const a of gone) snapshot.nodes.push({ address: a, ok: false, error: 'no longer registered with lookupd' });
    snapshot.lookupds = lookupds;
    return snapshot;
  }

  /** One poll, nodes discovered through lookupd included (for --once and --plain). */
  pollOnce(): Promise<Snapshot> {
    return this.#poll();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

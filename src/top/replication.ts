// Each node's replication as the dashboard and --once show it: read from the `replication` object
// of /stats (docs/replication.md, Visibility), takeovers matched across nodes by replication name,
// and the one line of text both outputs print. Plain TS, no React.

import type { ReplicationStats } from '../protocol/stats-json.js';
import { humanize } from './format.js';

export interface ReplicaLinkView {
  /** the replica's TCP address, as the origin names it */
  address: string;
  /** connecting, catching_up, in_sync, down or refused (any other value a newer node sends is shown as is) */
  state: string;
  lagBytes: number;
  /** messages committed on the origin since this replica's last confirmation */
  lagMessages: number;
  /** ms since the replica was last heard from; -1: never */
  lastContactMs: number;
  error: string;
}

export interface MirrorView {
  /** the origin's replication name */
  origin: string;
  /** following, or taken_over once this node delivered the origin's messages itself */
  state: string;
  bytes: number;
  lastContactMs: number;
}

/**
 * ok: enough replicas in sync; degraded: too few, durable publishes refused; accepting: too few, and
 * acknowledged with fewer copies (--replication-degraded=accept); copies: factor 1, holds others' copies only.
 */
export type ReplicationHealth = 'ok' | 'degraded' | 'accepting' | 'copies';

export interface NodeReplication {
  name: string;
  factor: number;
  inSync: number;
  needed: number;
  health: ReplicationHealth;
  /** bytes not yet sent, all replicas together */
  lagBytes: number;
  /** messages the replica furthest behind has not confirmed */
  lagMessages: number;
  links: ReplicaLinkView[];
  mirrors: MirrorView[];
  /** origins (by name) whose messages this node took over and still holds the record of */
  tookOver: string[];
  /** messages this node took over since it started */
  takenOverMessages: number;
  /** where a restore from the replicas stands on a node that started empty ('' : it did not) */
  restore: string;
  restoredMessages: number;
}

/** The dashboard's view of a node's `replication` object; undefined for a node without one. */
export function nodeReplication(r: ReplicationStats | undefined): NodeReplication | undefined {
  if (r === undefined || r === null || typeof r !== 'object') return undefined;
  const links = (r.links ?? []).map((l) => ({ address: l.address, state: l.state, lagBytes: l.lag_bytes ?? 0, lagMessages: l.lag_messages ?? 0, lastContactMs: l.last_contact_ms ?? -1, error: l.error ?? '' }));
  const mirrors = (r.mirrors ?? []).map((m) => ({ origin: m.origin, state: m.state, bytes: m.bytes ?? 0, lastContactMs: m.last_contact_ms ?? -1 }));
  const needed = r.needed ?? Math.max(0, (r.factor ?? 1) - 1);
  const inSync = r.in_sync ?? 0;
  const healthy = r.healthy ?? inSync >= needed;
  const health: ReplicationHealth = needed === 0 ? 'copies' : healthy ? 'ok' : r.degraded_mode === 'accept' ? 'accepting' : 'degraded';
  return {
    name: r.name,
    factor: r.factor ?? needed + 1,
    inSync,
    needed,
    health,
    lagBytes: links.reduce((n, l) => n + l.lagBytes, 0),
    lagMessages: links.reduce((n, l) => Math.max(n, l.lagMessages), 0),
    links,
    mirrors,
    tookOver: mirrors.filter((m) => m.state === 'taken_over').map((m) => m.origin),
    takenOverMessages: r.taken_over_messages ?? 0,
    restore: typeof r.restore === 'string' ? r.restore : '',
    restoredMessages: r.restored_messages ?? 0,
  };
}

/** For each replication name, the names of the nodes that list it as taken over. */
export function takeoversByOrigin(nodes: readonly { replication?: NodeReplication }[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const n of nodes) {
    for (const origin of n.replication?.tookOver ?? []) {
      const by = out.get(origin) ?? [];
      if (!by.includes(n.replication!.name)) by.push(n.replication!.name);
      out.set(origin, by);
    }
  }
  return out;
}

/** ok: nothing to do; warn: working with less than asked (accepting, catching up, took over); bad: refusing, or taken over. */
export type Level = 'ok' | 'warn' | 'bad';

const bytes = (n: number): string => `${humanize(n)}B`;

function ago(ms: number): string {
  if (ms < 0) return 'never';
  if (ms < 1000) return `${Math.round(ms)}ms ago`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s ago`;
}

const STATE_WORDS: Record<string, string> = { in_sync: 'in sync', catching_up: 'catching up', connecting: 'connecting', down: 'down', refused: 'refused the link', following: 'following', taken_over: 'taken over' };
const words = (state: string): string => STATE_WORDS[state] ?? state;

function linkText(l: ReplicaLinkView): string {
  if (l.state === 'in_sync') return `replica ${l.address} in sync${l.lagBytes > 0 ? `, ${bytes(l.lagBytes)} to send` : ''}`;
  const behind = l.state === 'catching_up' ? `, ${bytes(l.lagBytes)} behind` : l.lagMessages > 0 ? `, ${humanize(l.lagMessages)} messages not on it` : '';
  // the node's error names the address again ("connect to <address>: connection refused")
  const error = l.error.replaceAll(` to ${l.address}`, '').replaceAll(` ${l.address}`, '');
  return `replica ${l.address} ${words(l.state)}${behind}, last contact ${ago(l.lastContactMs)}${error !== '' ? ` (${error})` : ''}`;
}

/** A node that started with an empty data path, taking its messages back from its replicas' copies. */
function restoreText(r: NodeReplication): { text: string; level: Level } | null {
  switch (r.restore) {
    case '':
    case 'nothing':
      return null;
    case 'asking':
    case 'fetching':
    case 'replicating':
      return { text: `RESTORING from replicas (${r.restore})`, level: 'warn' };
    case 'done':
      return { text: `restored ${r.restoredMessages} messages from replicas`, level: 'ok' };
    case 'unreleased':
      return { text: `restored ${r.restoredMessages} messages, not yet on a replica (the replicas keep their copies)`, level: 'warn' };
    case 'failed':
      return { text: 'RESTORE FAILED (the replicas keep their copies)', level: 'bad' };
    default:
      return { text: `restore ${r.restore}`, level: 'warn' };
  }
}

/**
 * A node's replication in one line of words (readable without colour), and how alarming it is;
 * null for a node with nothing to say (no replication, nothing taken over).
 * `takenOverBy`: the nodes that took this one's topics over (from takeoversByOrigin).
 */
export function replicationLine(r: NodeReplication | undefined, takenOverBy: readonly string[] = []): { text: string; level: Level } | null {
  const parts: string[] = [];
  let level: Level = 'ok';
  const worse = (l: Level): void => {
    if (l === 'bad' || (l === 'warn' && level === 'ok')) level = l;
  };
  if (takenOverBy.length > 0) {
    parts.push(`TAKEN OVER by ${takenOverBy.join(', ')}`);
    worse('bad');
  }
  if (r !== undefined) {
    if (r.health !== 'copies') {
      const state = r.health === 'ok' ? 'ok' : r.health === 'accepting' ? 'DEGRADED, accepting with fewer copies' : 'DEGRADED, refusing durable publishes';
      // a link that is down reports no lag (nothing is being sent): a lag shows only while one is up
      const connected = r.links.some((l) => l.state === 'in_sync' || l.state === 'catching_up');
      parts.push(`repl ${r.inSync}/${r.needed} ${state}${connected ? `  lag ${humanize(r.lagMessages)} msgs ${bytes(r.lagBytes)}` : ''}`);
      worse(r.health === 'ok' ? 'ok' : r.health === 'accepting' ? 'warn' : 'bad');
      for (const l of r.links) {
        parts.push(linkText(l));
        if (l.state !== 'in_sync') worse('warn');
      }
    }
    for (const m of r.mirrors) {
      if (m.state === 'taken_over') continue;
      parts.push(`copy of ${m.origin} ${words(m.state)}, ${bytes(m.bytes)}`);
    }
    const restore = restoreText(r);
    if (restore !== null) {
      parts.push(restore.text);
      worse(restore.level);
    }
    if (r.tookOver.length > 0) {
      parts.push(`TOOK OVER ${r.tookOver.join(', ')} (${r.takenOverMessages} messages)`);
      worse('warn');
    }
  }
  return parts.length === 0 ? null : { text: parts.join('  ·  '), level };
}

// The dashboard's `v`: the next messages of a topic or channel, peeked on every node that holds it
// (nsq peek's request, src/tools/peek.ts), and the lines the view shows for them. Read-only.

import type { PeekJson, PeekMessageJson } from '../protocol/peek-json.js';
import { fetchPeek } from '../tools/peek.js';
import { describeTarget, type Target } from './view.js';

/** One node's answer: its messages, or the one line that says why there are none. */
export interface PeekNode {
  node: string;
  answer?: PeekJson;
  error?: string;
}

export interface PeekRequestOptions {
  /** bearer for nodes started with --auth-http-api ('' : none) */
  authSecret?: string;
  timeoutMs?: number;
}

export const PEEK_MAX = 1000;

/** Peeks `n` messages on each of the target's nodes, in parallel; never throws (peek has no cross-node order, so each node stays apart). */
export async function peekTarget(target: Target, n: number, o: PeekRequestOptions = {}): Promise<PeekNode[]> {
  const count = Math.max(1, Math.min(PEEK_MAX, Math.floor(n)));
  return Promise.all(
    target.nodes.map(async (node): Promise<PeekNode> => {
      try {
        const answer = await fetchPeek({ nsqdHttpAddress: node, topic: target.topic, channel: target.channel, count, authSecret: o.authSecret ?? '', timeoutMs: o.timeoutMs ?? 2000 });
        return { node, answer };
      } catch (err) {
        return { node, error: err instanceof Error ? err.message : String(err) };
      }
    }),
  );
}

/** 42s, 3m05s, 2h10m: how long ago or how far ahead, in a few characters. */
export function shortDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor(s / 3600) % 24).padStart(2, '0')}h`;
}

/** queued · deferred, due in 59s · in_flight, client@address */
export function stateText(m: PeekMessageJson, now: number): string {
  if (m.state === 'deferred') return `deferred, due in ${shortDuration((m.due_at ?? now) - now)}`;
  if (m.state === 'in_flight') return `in_flight, ${m.client_id ?? '?'}@${m.client_address ?? '?'}`;
  return 'queued';
}

const BODY_MAX = 1000;

/** The body on one line: text with control characters escaped as JSON does, a binary body as a base64 marker. */
export function bodyText(m: PeekMessageJson): string {
  if (m.text === undefined) return `[binary ${Buffer.byteLength(m.body, 'base64')} B] base64:${m.body.slice(0, BODY_MAX)}`;
  // no terminal line is wider: a large body is cut before it is escaped
  return JSON.stringify(m.text.slice(0, BODY_MAX)).slice(1, -1);
}

export const PEEK_HEAD = `${'ID'.padEnd(16)}  ${'STATE'.padEnd(36)} ${'ATT'.padStart(3)} ${'AGE'.padStart(6)}  BODY`;

export function messageLine(m: PeekMessageJson, now: number): string {
  const age = shortDuration(now - m.timestamp / 1e6);
  return `${m.id.padEnd(16)}  ${stateText(m, now).padEnd(36)} ${String(m.attempts).padStart(3)} ${age.padStart(6)}  ${bodyText(m)}`;
}

export type PeekLine = { kind: 'node' | 'error' | 'message' | 'empty'; text: string };

/** A heading per node (what it holds and how many are shown), then its messages or its error. */
export function peekLines(target: Target, nodes: PeekNode[], now: number): PeekLine[] {
  const out: PeekLine[] = [];
  for (const n of nodes) {
    if (n.answer === undefined) {
      out.push({ kind: 'error', text: `${n.node}: ${n.error ?? 'no answer'}` });
      continue;
    }
    const a = n.answer;
    const counts = target.channel === undefined ? `depth ${a.depth}, deferred ${a.deferred_count}` : `depth ${a.depth}, in flight ${a.in_flight_count}, deferred ${a.deferred_count}`;
    out.push({ kind: 'node', text: `node ${n.node}: ${counts} (showing ${a.messages.length})` });
    // a topic with channels hands its messages to them at once: it holds some only without channels, or paused
    if (a.messages.length === 0) out.push({ kind: 'empty', text: `no messages held by ${describeTarget(target)}${target.channel === undefined ? ' itself (its channels hold what it receives)' : ''}` });
    for (const m of a.messages) out.push({ kind: 'message', text: messageLine(m, now) });
  }
  return out;
}

// GET /channel/peek and /topic/peek (docs/peek.md): the next messages a channel or topic holds, in
// delivery order, read without changing anything. Owns the entry type, the order and the answers.

import { isUtf8 } from 'node:buffer';
import type { Channel } from './channel.js';
import type { Message } from './message.js';
import type { Topic } from './topic.js';
import { messageIdToString } from '../protocol/message-id.js';
import { isoTimestamp } from '../util/iso-time.js';
import type { PeekJson, PeekMessageJson } from '../protocol/peek-json.js';

/** the most messages one peek shows */
export const PEEK_MAX = 1000;

/** One message as a peek sees it (`body` may be a view: render it before anything else runs). */
export interface PeekEntry {
  id: string;
  /** ns since the epoch */
  timestamp: number;
  attempts: number;
  body: Buffer;
  state: 'in_flight' | 'queued' | 'deferred';
  /** epoch ms: a deferred message's due time, an in-flight one's timeout */
  at?: number;
  clientId?: string;
  clientAddress?: string;
}

/** monotonic ms (performance.now()) → epoch ms */
const epochMs = (monotonic: number): number => Math.round(performance.timeOrigin + monotonic);

function entryOf(msg: Message, state: PeekEntry['state'], extra: Partial<PeekEntry> = {}): PeekEntry {
  return { id: messageIdToString(msg.id), timestamp: msg.timestamp, attempts: msg.attempts, body: msg.bodyBuffer(), state, ...extra };
}

/**
 * The first `n` items in `order`, sorted, without sorting them all (a channel may hold a million
 * deferred messages; a peek looks at 1000 at most).
 */
export function smallest<T>(each: (fn: (item: T) => void) => void, order: (a: T, b: T) => number, n: number): T[] {
  const out: T[] = [];
  if (n <= 0) return out;
  each((item) => {
    if (out.length === n && order(item, out[n - 1]!) >= 0) return;
    let lo = 0;
    let hi = out.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (order(out[mid]!, item) <= 0) lo = mid + 1;
      else hi = mid;
    }
    out.splice(lo, 0, item);
    if (out.length > n) out.pop();
  });
  return out;
}

/** by a time, then by ID: one pump delivers many messages at the same instant, in ID order */
const byTime = (time: (m: Message) => number) => (a: Message, b: Message): number => time(a) - time(b) || a.id - b.id;

/** In flight (earliest delivered first), queued (memory, then disk), deferred (earliest due first). */
export function peekChannel(ch: Channel, n: number): PeekEntry[] {
  const held = smallest<Message>((fn) => ch.clients.forEach((c) => c.inFlight.forEach(fn)), byTime((m) => m.deliveredAt), n);
  const out = held.map((m) => entryOf(m, 'in_flight', { at: epochMs(m.deadline), clientId: m.owner?.clientId ?? '', clientAddress: m.owner?.remoteAddress ?? '' }));
  out.push(...ch.peekQueued(n - out.length));
  const deferred = smallest<Message>((fn) => ch.forEachDeferred(fn), byTime((m) => m.deadline), n - out.length);
  for (const m of deferred) out.push(entryOf(m, 'deferred', { at: epochMs(m.deadline) }));
  return out;
}

/** What the topic holds itself: queued, then the DPUBs waiting for a channel (earliest due first). */
export function peekTopic(t: Topic, n: number): PeekEntry[] {
  const out = t.peekQueued(n);
  const waiting = smallest<{ msg: Message; due: number }>((fn) => t.forEachWaitingDeferred(fn), (a, b) => a.due - b.due || a.msg.id - b.msg.id, n - out.length);
  for (const w of waiting) out.push(entryOf(w.msg, 'deferred', { at: epochMs(w.due) }));
  return out;
}

function messageJson(e: PeekEntry): PeekMessageJson {
  const stateFields =
    e.state === 'deferred' ? { due_at: e.at! } : e.state === 'in_flight' ? { client_id: e.clientId!, client_address: e.clientAddress!, timeout_at: e.at! } : {};
  const text = isUtf8(e.body) ? { text: e.body.toString('utf8') } : {};
  return { id: e.id, timestamp: Math.round(e.timestamp), attempts: e.attempts, state: e.state, ...stateFields, body: e.body.toString('base64'), ...text };
}

export interface PeekCounts {
  topic: string;
  channel?: string;
  depth: number;
  inFlightCount: number;
  deferredCount: number;
}

export function peekJson(c: PeekCounts, entries: PeekEntry[]): PeekJson {
  return {
    topic: c.topic,
    ...(c.channel === undefined ? {} : { channel: c.channel }),
    depth: c.depth,
    in_flight_count: c.inFlightCount,
    deferred_count: c.deferredCount,
    count: entries.length,
    messages: entries.map(messageJson),
  };
}

/** format=text: one line per message. */
export function peekText(entries: PeekEntry[]): string {
  let s = '';
  for (const e of entries) {
    const when = e.state === 'deferred' ? ` due=${new Date(e.at!).toISOString()}` : e.state === 'in_flight' ? ` client=${e.clientId}@${e.clientAddress}` : '';
    const body = isUtf8(e.body) ? JSON.stringify(e.body.toString('utf8')) : `base64:${e.body.toString('base64')}`;
    s += `${e.id} ${e.state} attempts=${e.attempts} ${isoTimestamp(BigInt(Math.round(e.timestamp)))}${when} ${body}\n`;
  }
  return s;
}

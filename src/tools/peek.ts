// `nsq peek T/C` (and `nsq peek T`): the next messages a channel or topic holds, asked of one nsqd's
// GET /channel/peek or /topic/peek (docs/peek.md), printed with `nsq tail`'s formats. Read-only.

import { isUtf8 } from 'node:buffer';
import type { Writable } from 'node:stream';
import { answerMessage } from '../client/admin.js';
import { httpBase } from '../client/discovery.js';
import { fetchWithin } from '../client/http.js';
import type { PeekJson, PeekMessageJson } from '../protocol/peek-json.js';
import { UserError } from '../util/errors.js';
import { isoTimestamp } from '../util/iso-time.js';
import { Batch, makeFormatter, type Message, type Source } from './message-format.js';

export interface PeekOptions {
  /** host:port or a URL of the nsqd's HTTP API */
  nsqdHttpAddress: string;
  topic: string;
  /** absent: the topic's own messages (it has no channel yet, or is paused) */
  channel?: string;
  /** 1 to 1000 */
  count: number;
  /** `raw`, `json`, or a template such as `{{timestamp}} {{body}}` (nsq tail's) */
  format: string;
  /** sent as `Authorization: Bearer` ('' : none) */
  authSecret: string;
  timeoutMs: number;
  /** default: stdout */
  out?: Writable;
}

/** Asks the node and prints what it holds; returns how many messages were shown. */
export async function runPeek(o: PeekOptions): Promise<number> {
  const answer = await fetchPeek(o);
  const src: Source = { topic: answer.topic, channel: answer.channel ?? '', nsqd: o.nsqdHttpAddress };
  const out = new Batch();
  const format = o.format === 'json' ? jsonLine : makeFormatter(o.format, false);
  for (const m of answer.messages) {
    const msg: Message = { id: m.id, timestamp: BigInt(m.timestamp), attempts: m.attempts, body: Buffer.from(m.body, 'base64') };
    format(msg, src, out, m);
  }
  const stream = o.out ?? process.stdout;
  await new Promise<void>((resolve, reject) => stream.write(out.take(), (err) => (err ? reject(err) : resolve())));
  return answer.count;
}

/** What a peek request needs: the node, what to look at, how many, the bearer, the deadline. */
export type PeekRequest = Pick<PeekOptions, 'nsqdHttpAddress' | 'topic' | 'channel' | 'count' | 'authSecret' | 'timeoutMs'>;

/** GET /channel/peek or /topic/peek of one node; a node that cannot be reached or answers an error: a UserError with one line. */
export async function fetchPeek(o: PeekRequest): Promise<PeekJson> {
  const query = new URLSearchParams({ topic: o.topic });
  if (o.channel !== undefined) query.set('channel', o.channel);
  query.set('n', String(o.count));
  const path = `/${o.channel === undefined ? 'topic' : 'channel'}/peek?${query}`;
  const headers: Record<string, string> = o.authSecret ? { Authorization: `Bearer ${o.authSecret}` } : {};
  let status: number;
  let text: string;
  try {
    ({ status, text } = await fetchWithin(`${httpBase(o.nsqdHttpAddress)}${path}`, { headers }, o.timeoutMs, o.nsqdHttpAddress));
  } catch (err) {
    throw new UserError(err instanceof Error ? err.message : String(err), (err as { code?: string }).code ?? 'E_HTTP');
  }
  if (status !== 200) {
    const what = o.channel === undefined ? o.topic : `${o.topic}/${o.channel}`;
    throw new UserError(`nsqd ${o.nsqdHttpAddress} cannot peek at ${what}: ${status} ${answerMessage(text)}`, 'E_HTTP');
  }
  try {
    return JSON.parse(text) as PeekJson;
  } catch {
    throw new UserError(`nsqd ${o.nsqdHttpAddress} answered something that is not peek JSON (is it an nsq serve node?)`, 'E_HTTP');
  }
}

/** nsq tail's JSON line, with the message's state and that state's fields before the body. */
function jsonLine(msg: Message, src: Source, out: Batch, m: PeekMessageJson): void {
  const { state, due_at, client_id, client_address, timeout_at } = m;
  const line = {
    topic: src.topic,
    channel: src.channel,
    id: msg.id,
    timestamp: isoTimestamp(msg.timestamp),
    attempts: msg.attempts,
    state,
    ...(due_at === undefined ? {} : { due_at: new Date(due_at).toISOString() }),
    ...(client_id === undefined ? {} : { client_id, client_address, timeout_at: new Date(timeout_at!).toISOString() }),
    ...(isUtf8(msg.body) ? { body: msg.body.toString('utf8') } : { encoding: 'base64', body: msg.body.toString('base64') }),
  };
  out.text(`${JSON.stringify(line)}\n`);
}

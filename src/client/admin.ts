// The management routes of nsqd's HTTP API (/topic/create, /channel/pause, ...) and lookupd's
// (/topic/delete, /channel/delete): one POST per node, with the bearer secret, and a result per
// node that says why it failed. Used by `nsq topic|channel` and nsq top's actions.

import { httpBase } from './discovery.js';
import { fetchWithin } from './http.js';

export const ADMIN_ACTIONS = ['create', 'delete', 'pause', 'unpause', 'empty'] as const;
export type AdminAction = (typeof ADMIN_ACTIONS)[number];

/** A topic, or one of its channels. */
export interface AdminTarget {
  topic: string;
  channel?: string;
}

export interface AdminRequestOptions {
  /** per request; default 5000 */
  timeoutMs?: number;
  /** sent as `Authorization: Bearer` (nodes started with --auth-http-api); '' or unset: none */
  authSecret?: string;
}

export interface NodeResult {
  /** the address the request went to, as given */
  node: string;
  ok: boolean;
  /** the HTTP status; 0 when there was no answer */
  status: number;
  /** why it failed: `404 TOPIC_NOT_FOUND` (status and the node's message), or `connection refused` */
  error?: string;
}

/** `/topic/pause?topic=orders`, `/channel/delete?topic=orders&channel=billing` */
export function adminPath(action: AdminAction, target: AdminTarget): string {
  const query = new URLSearchParams({ topic: target.topic });
  if (target.channel !== undefined) query.set('channel', target.channel);
  return `/${target.channel === undefined ? 'topic' : 'channel'}/${action}?${query}`;
}

/** One POST of `path` to `node` (host:port or a URL). Never throws: failures are in the result. */
export async function postAdmin(node: string, path: string, o: AdminRequestOptions = {}): Promise<NodeResult> {
  const headers: Record<string, string> = o.authSecret ? { Authorization: `Bearer ${o.authSecret}` } : {};
  try {
    const { status, text } = await fetchWithin(`${httpBase(node)}${path}`, { method: 'POST', headers }, o.timeoutMs ?? 5000, node);
    if (status >= 200 && status < 300) return { node, ok: true, status };
    return { node, ok: false, status, error: `${status} ${answerMessage(text)}`.trimEnd() };
  } catch (err) {
    // fetchWithin names the address ("connect to <node>: ..."); the result already does
    const message = err instanceof Error ? err.message : String(err);
    const prefix = `connect to ${node}: `;
    return { node, ok: false, status: 0, error: message.startsWith(prefix) ? message.slice(prefix.length) : message };
  }
}

/** nsqd's and lookupd's errors are `{"message": "TOPIC_NOT_FOUND"}`; a Go nsqd before 1.0 answered text. */
export function answerMessage(body: string): string {
  try {
    const message = (JSON.parse(body) as { message?: unknown }).message;
    if (typeof message === 'string') return message;
  } catch {
    // plain text
  }
  return body.trim();
}

/** `action` on `target` at every node, in parallel; results in the nodes' order. */
export function actOnNodes(nodes: readonly string[], action: AdminAction, target: AdminTarget, o: AdminRequestOptions = {}): Promise<NodeResult[]> {
  const path = adminPath(action, target);
  return Promise.all(nodes.map((node) => postAdmin(node, path, o)));
}

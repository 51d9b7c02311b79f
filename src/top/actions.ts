// Dashboard actions: nsqd's HTTP routes for pause/unpause/empty/delete, sent to every node that
// has the topic or channel. Returns a line for the status bar.

import { httpBase } from '../client/discovery.js';
import { describeTarget, type ActionKind, type Target } from './view.js';

export interface ActionOptions {
  timeoutMs?: number;
  /** sent as `Authorization: Bearer` (nodes started with --auth-http-api); '' or unset: none */
  authSecret?: string;
}

export async function runAction(action: ActionKind, target: Target, o: ActionOptions = {}): Promise<string> {
  const timeoutMs = o.timeoutMs ?? 5000;
  const headers: Record<string, string> = o.authSecret ? { Authorization: `Bearer ${o.authSecret}` } : {};
  const kind = target.channel === undefined ? 'topic' : 'channel';
  const query = new URLSearchParams({ topic: target.topic });
  if (target.channel !== undefined) query.set('channel', target.channel);
  const results = await Promise.all(
    target.nodes.map(async (node) => {
      const base = httpBase(node);
      try {
        const res = await fetch(`${base}/${kind}/${action}?${query}`, { method: 'POST', headers, signal: AbortSignal.timeout(timeoutMs) });
        if (res.ok) return null;
        const body = await res.text();
        let message = body;
        try {
          message = (JSON.parse(body) as { message?: string }).message ?? body;
        } catch {
          // plain text
        }
        return `${node}: ${res.status} ${message}`;
      } catch (err) {
        return `${node}: ${err instanceof Error ? err.message : String(err)}`;
      }
    }),
  );
  const failures = results.filter((r): r is string => r !== null);
  const what = `${action} ${describeTarget(target)}`;
  if (failures.length === 0) return `${what}: done on ${target.nodes.length} node${target.nodes.length === 1 ? '' : 's'}`;
  return `${what} failed on ${failures.join('; ')}`;
}

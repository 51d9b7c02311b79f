// Dashboard actions: nsqd's HTTP routes for pause/unpause/empty/delete (src/client/admin.ts), sent
// to every node that has the topic or channel. Returns a line for the status bar.

import { actOnNodes, type AdminRequestOptions } from '../client/admin.js';
import { describeTarget, type ActionKind, type Target } from './view.js';

export type ActionOptions = AdminRequestOptions;

export async function runAction(action: ActionKind, target: Target, o: ActionOptions = {}): Promise<string> {
  const results = await actOnNodes(target.nodes, action, target, o);
  const failures = results.filter((r) => !r.ok).map((r) => `${r.node}: ${r.error}`);
  const what = `${action} ${describeTarget(target)}`;
  if (failures.length === 0) return `${what}: done on ${target.nodes.length} node${target.nodes.length === 1 ? '' : 's'}`;
  return `${what} failed on ${failures.join('; ')}`;
}

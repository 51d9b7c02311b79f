// `nsq ls`: one look at the cluster, as kcat -L shows Kafka's: the nodes, and every topic and
// channel of each node with its depth, in flight, deferred, consumers and paused, as a table or JSON.
// The polling is nsq top's (src/top/poller.ts); this file owns the listing and its exit status.

import Table from 'cli-table3';
import { lookupAllHttpNodes } from '../client/discovery.js';
import { pollAll, type NodeSnapshot } from '../top/poller.js';
import { UserError } from '../util/errors.js';

export interface LsOptions {
  nsqdHttpAddresses: string[];
  lookupdHttpAddresses: string[];
  timeoutMs: number;
  json: boolean;
  /** only this topic (undefined: every topic) */
  topic?: string;
}

export interface LsNode {
  address: string;
  ok: boolean;
  version?: string;
  /** topics on the node (all of them, whatever the filter) */
  topics?: number;
  error?: string;
}

export interface LsChannel {
  channel: string;
  depth: number;
  in_flight: number;
  deferred: number;
  messages: number;
  consumers: number;
  paused: boolean;
}

/** A topic on one node: a topic on two nodes is two entries. */
export interface LsTopic {
  topic: string;
  node: string;
  depth: number;
  messages: number;
  paused: boolean;
  channels: LsChannel[];
}

export interface Listing {
  nodes: LsNode[];
  topics: LsTopic[];
}

export interface LsOutput {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The nodes' /stats answers as a listing: topics by name, then node; channels by name. */
export function listing(snapshots: readonly NodeSnapshot[], topic?: string): Listing {
  const nodes: LsNode[] = snapshots.map((n) =>
    n.ok && n.stats !== undefined ? { address: n.address, ok: true, version: n.stats.version, topics: (n.stats.topics ?? []).length } : { address: n.address, ok: false, error: n.error ?? 'no answer' },
  );
  const topics: LsTopic[] = [];
  for (const n of snapshots) {
    for (const t of n.stats?.topics ?? []) {
      if (topic !== undefined && t.topic_name !== topic) continue;
      topics.push({
        topic: t.topic_name,
        node: n.address,
        depth: t.depth,
        messages: t.message_count,
        paused: t.paused === true,
        channels: (t.channels ?? [])
          .map((c) => ({
            channel: c.channel_name,
            depth: c.depth,
            in_flight: c.in_flight_count,
            deferred: c.deferred_count,
            messages: c.message_count,
            // Go nsqd before 1.2 has no client_count
            consumers: c.client_count ?? c.clients?.length ?? 0,
            paused: c.paused === true,
          }))
          .sort((a, b) => byName(a.channel, b.channel)),
      });
    }
  }
  topics.sort((a, b) => byName(a.topic, b.topic) || byName(a.node, b.node));
  return { nodes, topics };
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The node lines and one table: a row per topic on a node, its channels' rows under it. */
export function renderListing(l: Listing): string {
  const up = l.nodes.filter((n) => n.ok).length;
  const lines = [`nodes: ${up} up${l.nodes.length > up ? `, ${l.nodes.length - up} down` : ''}`];
  const width = Math.max(0, ...l.nodes.map((n) => n.address.length));
  for (const n of l.nodes) {
    lines.push(n.ok ? `  ${n.address.padEnd(width)}  up    v${n.version ?? '?'}  ${plural(n.topics ?? 0, 'topic')}` : `  ${n.address.padEnd(width)}  down  ${n.error ?? 'no answer'}`);
  }
  if (l.topics.length === 0) {
    lines.push('no topics');
    return lines.join('\n') + '\n';
  }
  const table = new Table({
    head: ['topic', 'channel', 'node', 'depth', 'in-flight', 'deferred', 'messages', 'consumers', 'paused'],
    style: { head: [], border: [], compact: true },
    colAligns: ['left', 'left', 'left', 'right', 'right', 'right', 'right', 'right', 'left'],
  });
  for (const t of l.topics) {
    table.push([t.topic, '', t.node, String(t.depth), '', '', String(t.messages), '', t.paused ? 'paused' : '']);
    for (const c of t.channels) {
      table.push([t.topic, c.channel, t.node, String(c.depth), String(c.in_flight), String(c.deferred), String(c.messages), String(c.consumers), c.paused ? 'paused' : '']);
    }
  }
  lines.push(table.toString());
  return lines.join('\n') + '\n';
}

/**
 * Lists the cluster. Exit status: 0 when every node answered; 1 when some did not (the listing of
 * the others is printed, and a warning per node on stderr) or --topic names a topic no node has.
 * Throws (exit 1, one line) when no node or no lookupd answered.
 */
export async function runLs(o: LsOptions, io: LsOutput = { out: process.stdout, err: process.stderr }): Promise<number> {
  // fetch's own timeouts do not keep the process alive: a node that takes the connection and never
  // answers would end the process with nothing printed (exit 0) instead of being reported
  const hold = setTimeout(() => {}, o.timeoutMs * 2 + 1000);
  try {
    return await list(o, io);
  } finally {
    clearTimeout(hold);
  }
}

async function list(o: LsOptions, io: LsOutput): Promise<number> {
  const addresses = [...o.nsqdHttpAddresses];
  let warnings = 0;
  const warn = (line: string): void => {
    warnings++;
    io.err.write(`nsq: warning: ${line}\n`);
  };
  if (o.lookupdHttpAddresses.length > 0) {
    try {
      addresses.push(...(await lookupAllHttpNodes(o.lookupdHttpAddresses, o.timeoutMs)));
    } catch (err) {
      const why = `no lookupd answered: ${(err as Error).message}`;
      if (addresses.length === 0) throw new UserError(why, 'E_UNREACHABLE', 1);
      warn(why);
    }
  }
  const snapshot = await pollAll([...new Set(addresses)], o.timeoutMs);
  if (snapshot.nodes.length > 0 && !snapshot.nodes.some((n) => n.ok)) {
    throw new UserError(`no nsqd answered: ${snapshot.nodes.map((n) => `${n.address}: ${n.error}`).join('; ')}`, 'E_UNREACHABLE', 1);
  }
  const l = listing(snapshot.nodes, o.topic);
  if (o.json) io.out.write(JSON.stringify(l) + '\n');
  else if (l.nodes.length === 0) io.out.write(`no nsqd is registered with lookupd ${o.lookupdHttpAddresses.join(', ')}\n`);
  else io.out.write(renderListing(l));
  for (const n of l.nodes) if (!n.ok) warn(`node ${n.address} did not answer: ${n.error}`);
  if (o.topic !== undefined && l.topics.length === 0) {
    io.err.write(`nsq: no node has topic ${o.topic}\n`);
    return 1;
  }
  return warnings > 0 ? 1 : 0;
}

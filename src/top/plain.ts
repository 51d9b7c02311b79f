// Output without a terminal UI: `--once` (one table of the cluster) and `--plain` (nsq_stat's
// rolling lines for one topic/channel, header every 25 rows, the same columns).

import Table from 'cli-table3';
import { humanize, type TopModel, type TopicRow } from './model.js';
import type { Snapshot } from './poller.js';
import { replicationLine } from './replication.js';

const pad = (v: string | number, n: number): string => String(v).padStart(n);

/** nsq_stat's two header lines. */
export function plainHeader(): string {
  return (
    `${'------rate------'}+${'----------------depth----------------'}+${'--------------metadata---------------'}\n` +
    `${pad('ingress', 7)} ${pad('egress', 7)} | ${pad('total', 7)} ${pad('mem', 7)} ${pad('disk', 7)} ${pad('inflt', 5)} ${pad('def', 5)} | ${pad('req', 7)} ${pad('t-o', 7)} ${pad('msgs', 12)} ${pad('clients', 7)}\n`
  );
}

/** One nsq_stat row for `topic`/`channel` from the model's latest update, or null when absent. */
export function plainRow(model: TopModel, topic: string, channel: string): string | null {
  const ch = model.topic(topic)?.channels.find((c) => c.name === channel);
  if (ch === undefined) return null;
  return (
    `${pad(Math.trunc(ch.inRate), 7)} ${pad(Math.trunc(ch.outRate), 7)} | ${pad(ch.depth, 7)} ${pad(ch.memoryDepth, 7)} ${pad(ch.backendDepth, 7)} ${pad(ch.inFlight, 5)} ${pad(ch.deferred, 5)} | ` +
    `${pad(ch.requeueCount, 7)} ${pad(ch.timeoutCount, 7)} ${pad(ch.messageCount, 12)} ${pad(ch.consumers, 7)}\n`
  );
}

const rate = (n: number): string => `${humanize(n)}/s`;

/** The whole cluster as one table (`nsq top --once`). */
export function onceTable(model: TopModel, snapshot: Snapshot, filter = ''): string {
  const lines: string[] = [];
  const totals = model.totals();
  lines.push(`nodes: ${totals.nodesUp} up, ${totals.nodesDown} down   topics: ${totals.topics}   in: ${rate(totals.inRate)}   out: ${rate(totals.outRate)}   depth: ${humanize(totals.depth)}`);
  for (const n of model.nodes) {
    const repl = replicationLine(n.replication, n.takenOverBy);
    if (!n.up) lines.push(`node ${n.address} is down: ${n.error ?? 'no answer'}${repl === null ? '' : `  ·  ${repl.text}`}`);
    else if (repl !== null) lines.push(`node ${n.address} (${n.replication?.name ?? n.replicationName}) ${repl.text}`);
  }
  for (const l of model.lookupds) if (!l.ok) lines.push(`lookupd ${l.address} is down: ${l.error ?? 'no answer'}`);
  const table = new Table({
    head: ['topic / channel', 'depth', 'in-flight', 'deferred', 'req/s', 'timeout/s', 'in/s', 'out/s', 'dead', 'consumers', 'state'],
    style: { head: [], border: [], compact: true },
    colAligns: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'left'],
  });
  const topics: TopicRow[] = model.topics(filter, 'name');
  for (const t of topics) {
    table.push([t.name, humanize(t.depth), humanize(t.inFlight), humanize(t.deferred), humanize(t.requeueRate), humanize(t.timeoutRate), humanize(t.inRate), humanize(t.outRate), humanize(t.deadLettered), String(t.consumers), t.paused ? 'paused' : t.deadGrowing ? 'dead+' : '']);
    for (const c of t.channels) {
      table.push([`  ${c.name}`, humanize(c.depth), humanize(c.inFlight), humanize(c.deferred), humanize(c.requeueRate), humanize(c.timeoutRate), humanize(c.inRate), humanize(c.outRate), humanize(c.deadLettered), String(c.consumers), c.paused ? 'paused' : '']);
    }
  }
  if (topics.length === 0) lines.push(snapshot.nodes.some((n) => n.ok) ? 'no topics' : snapshot.nodes.length === 0 ? 'no nsqd registered with lookupd' : 'no node answered');
  else lines.push(table.toString());
  return lines.join('\n') + '\n';
}

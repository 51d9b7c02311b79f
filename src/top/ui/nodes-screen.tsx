// `n`: every nsqd node and lookupd, as nsqadmin's nodes and lookup pages list them (issue 19).

import { Box, Text } from 'ink';
import { age } from '../format.js';
import { humanize, type NodeStatus, type TopModel } from '../model.js';
import { replicationLine } from '../replication.js';

const pad = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s.padEnd(n));

/** The node's memory as /stats include_mem has it: the process's RSS where it says (nsq serve), else the heap in use (Go nsqd). */
export function memoryText(n: Pick<NodeStatus, 'rssBytes' | 'heapBytes'>): string {
  if (n.rssBytes !== undefined) return `${humanize(n.rssBytes)}B rss`;
  if (n.heapBytes !== undefined) return `${humanize(n.heapBytes)}B heap`;
  return '';
}

/** What a lookupd knows: the nodes it lists. */
export function lookupdText(l: { ok: boolean; error?: string; nodes?: string[] }): string {
  if (!l.ok) return `down: ${l.error ?? 'no answer'}`;
  const n = l.nodes ?? [];
  return n.length === 0 ? 'up, knows no nodes' : `up, knows ${n.length} node${n.length === 1 ? '' : 's'}: ${n.join(' ')}`;
}

export function NodesScreen({ model, now }: { model: TopModel; now: number }): React.JSX.Element {
  const lookupds = model.lookupds;
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate-end">
        nodes (n or Esc: back)
      </Text>
      <Text underline bold wrap="truncate-end">
        {`${pad('NSQD', 24)} ${pad('VERSION', 9)} ${pad('HEALTH', 12)} ${pad('UP', 8)} ${pad('TOPICS', 6)} ${pad('CLIENTS', 7)} ${pad('MEMORY', 11)} REPLICATION`}
      </Text>
      {model.nodes.map((n) => {
        if (!n.up) {
          // the whole reason, not a column's worth of it
          return (
            <Text key={n.address} color="red" wrap="truncate-end">
              {`${pad(n.address, 24)} down: ${n.error ?? 'no answer'} (retrying)`}
            </Text>
          );
        }
        const health = n.health ?? 'OK';
        const up = n.startTime !== undefined && n.startTime > 0 ? age(Math.max(0, now - n.startTime * 1000)) : '';
        const repl = replicationLine(n.replication, n.takenOverBy)?.text ?? '';
        return (
          <Text key={n.address} color={health !== 'OK' ? 'red' : undefined} wrap="truncate-end">
            {`${pad(n.address, 24)} ${pad(n.version ?? '', 9)} ${pad(health, 12)} ${pad(up, 8)} ${String(n.topics).padStart(6)} ${String(n.clients).padStart(7)} ${pad(memoryText(n), 11)} ${repl}`}
          </Text>
        );
      })}
      {lookupds.length > 0 ? (
        <>
          <Text> </Text>
          <Text underline bold wrap="truncate-end">
            {`${pad('LOOKUPD', 24)} STATE`}
          </Text>
          {lookupds.map((l) => (
            <Text key={l.address} color={l.ok ? undefined : 'red'} wrap="truncate-end">
              {`${pad(l.address, 24)} ${lookupdText(l)}`}
            </Text>
          ))}
        </>
      ) : null}
    </Box>
  );
}

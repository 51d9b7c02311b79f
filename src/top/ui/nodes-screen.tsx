// `n`: every nsqd node and lookupd, as nsqadmin's nodes and lookup pages list them (issue 19).

import { Box, Text } from 'ink';
import { cell, fitColumns, type Column } from '../columns.js';
import { age } from '../format.js';
import { humanize, type NodeStatus, type TopModel } from '../model.js';
import { replicationLine } from '../replication.js';


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

/** The columns before REPLICATION (which takes the rest of the line); a narrow terminal drops the least important. */
function columns(now: number): Column<NodeStatus>[] {
  return [
    { title: 'NSQD', width: 24, priority: 0, align: 'left', value: (n) => n.address },
    { title: 'VERSION', width: 9, priority: 4, align: 'left', value: (n) => n.version ?? '' },
    { title: 'HEALTH', width: 12, priority: 0, align: 'left', value: (n) => n.health ?? 'OK' },
    { title: 'UP', width: 8, priority: 3, align: 'left', value: (n) => (n.startTime !== undefined && n.startTime > 0 ? age(Math.max(0, now - n.startTime * 1000)) : '') },
    { title: 'TOPICS', width: 6, priority: 1, align: 'right', value: (n) => String(n.topics) },
    { title: 'CLIENTS', width: 7, priority: 1, align: 'right', value: (n) => String(n.clients) },
    { title: 'MEMORY', width: 11, priority: 2, align: 'left', value: memoryText },
  ];
}

export function NodesScreen({ model, now, width }: { model: TopModel; now: number; width: number }): React.JSX.Element {
  const lookupds = model.lookupds;
  // room for the replication state when a node has one
  const replicating = model.nodes.some((n) => replicationLine(n.replication, n.takenOverBy) !== null);
  const cols = fitColumns(columns(now), replicating ? width - 21 : width);
  const row = (cells: string[], rest: string): string => [...cells, rest].join(' ').trimEnd();
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate-end">
        nodes (n or Esc: back)
      </Text>
      <Text underline bold wrap="truncate-end">
        {row(cols.map((c) => cell(c.title, c.width, c.align)), replicating ? 'REPLICATION' : '')}
      </Text>
      {model.nodes.map((n) => {
        if (!n.up) {
          // the whole reason, not a column's worth of it
          return (
            <Text key={n.address} color="red" wrap="truncate-end">
              {`${cell(n.address, 24, 'left')} down: ${n.error ?? 'no answer'} (retrying)`}
            </Text>
          );
        }
        const repl = replicationLine(n.replication, n.takenOverBy)?.text ?? '';
        return (
          <Text key={n.address} color={(n.health ?? 'OK') !== 'OK' ? 'red' : undefined} wrap="truncate-end">
            {row(cols.map((c) => cell(c.value(n), c.width, c.align)), repl)}
          </Text>
        );
      })}
      {lookupds.length > 0 ? (
        <>
          <Text> </Text>
          <Text underline bold wrap="truncate-end">
            {`${cell('LOOKUPD', 24, 'left')} STATE`}
          </Text>
          {lookupds.map((l) => (
            <Text key={l.address} color={l.ok ? undefined : 'red'} wrap="truncate-end">
              {`${cell(l.address, 24, 'left')} ${lookupdText(l)}`}
            </Text>
          ))}
        </>
      ) : null}
    </Box>
  );
}

// One topic: its channels, each with the nodes that carry it.

import { Text } from 'ink';
import type { Column } from '../columns.js';
import { humanize, type ChannelRow, type Retained, type TopicNodeRow } from '../model.js';
import { retainedText } from '../format.js';
import type { Line } from '../view.js';
import { Table, type ScreenProps } from './table.js';
import { lineStyle } from './topics-screen.js';

const r = (l: Line): ChannelRow => l.row as ChannelRow;

const COLUMNS: Column<Line>[] = [
  { title: 'CHANNEL', width: 24, priority: 0, align: 'left', value: (l) => r(l).name },
  { title: 'DEPTH', width: 7, priority: 0, align: 'right', value: (l) => humanize(r(l).depth) },
  { title: 'MEM', width: 7, priority: 4, align: 'right', value: (l) => humanize(r(l).memoryDepth) },
  { title: 'DISK', width: 7, priority: 4, align: 'right', value: (l) => humanize(r(l).backendDepth) },
  { title: 'INFLT', width: 6, priority: 1, align: 'right', value: (l) => humanize(r(l).inFlight) },
  { title: 'DEFER', width: 6, priority: 3, align: 'right', value: (l) => humanize(r(l).deferred) },
  { title: 'REQ', width: 7, priority: 2, align: 'right', value: (l) => humanize(r(l).requeueCount) },
  { title: 'T-O', width: 7, priority: 2, align: 'right', value: (l) => humanize(r(l).timeoutCount) },
  { title: 'OUT/S', width: 7, priority: 1, align: 'right', value: (l) => humanize(r(l).outRate) },
  { title: 'CONS', width: 5, priority: 1, align: 'right', value: (l) => String(r(l).consumers) },
  { title: 'NODES', width: 30, priority: 5, align: 'left', value: (l) => r(l).nodes.join(' ') },
];

const NODE_COLUMNS: Column<TopicNodeRow>[] = [
  { title: 'NODE', width: 24, priority: 0, align: 'left', value: (n) => n.node },
  { title: 'DEPTH', width: 7, priority: 0, align: 'right', value: (n) => humanize(n.depth) },
  { title: 'DISK', width: 7, priority: 3, align: 'right', value: (n) => humanize(n.backendDepth) },
  { title: 'IN/S', width: 7, priority: 1, align: 'right', value: (n) => humanize(n.inRate) },
  { title: 'OUT/S', width: 7, priority: 1, align: 'right', value: (n) => humanize(n.outRate) },
  { title: 'MSGS', width: 7, priority: 2, align: 'right', value: (n) => humanize(n.messageCount) },
  { title: 'CHANS', width: 5, priority: 2, align: 'right', value: (n) => String(n.channels) },
  { title: 'CONS', width: 5, priority: 1, align: 'right', value: (n) => String(n.consumers) },
  { title: 'STATE', width: 6, priority: 2, align: 'left', value: (n) => (n.paused ? 'paused' : '') },
];

export interface TopicScreenProps extends ScreenProps {
  topic: string;
  retained?: Retained | undefined;
  now?: number;
  /** the topic on each node (shown when on several), in `breakdown` lines (nodeBreakdownLines; 0: none) */
  perNode?: TopicNodeRow[];
  breakdown?: number;
}

export function TopicScreen({ topic, lines, selected, width, page, marker, empty, retained, now, perNode = [], breakdown = 0 }: TopicScreenProps): React.JSX.Element {
  // the rows that fit; when not all do, the last says how many more
  const rows = breakdown - 1 >= perNode.length ? perNode : perNode.slice(0, Math.max(0, breakdown - 2));
  const more = perNode.length - rows.length;
  return (
    <>
      <Text wrap="truncate-end">
        <Text bold>{topic}</Text> <Text dimColor>— {perNode.length > 1 ? `on ${perNode.length} nodes; ` : ''}channels (Enter: consumers, Esc: back)</Text>
      </Text>
      {retained === undefined ? null : <Text wrap="truncate-end">{retainedText(retained, now ?? Date.now())}</Text>}
      {breakdown > 0 ? (
        <>
          <Table columns={NODE_COLUMNS} rows={rows} selected={-1} width={width} marker={marker} style={(n) => (n.paused ? { dim: true } : {})} keyOf={(n) => n.node} />
          {more > 0 ? (
            <Text dimColor wrap="truncate-end">
              {`… and ${more} more nodes`}
            </Text>
          ) : null}
        </>
      ) : null}
      {lines.length === 0 ? <Text dimColor wrap="truncate-end">{empty}</Text> : <Table columns={COLUMNS} rows={lines} selected={selected} width={width} page={page} marker={marker} style={lineStyle} keyOf={(l) => r(l).name} />}
    </>
  );
}

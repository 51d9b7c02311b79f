// One topic: its channels, each with the nodes that carry it.

import { Text } from 'ink';
import type { Column } from '../columns.js';
import { humanize, type ChannelRow, type Retained } from '../model.js';
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

export function TopicScreen({ topic, lines, selected, width, page, marker, empty, retained, now }: ScreenProps & { topic: string; retained?: Retained | undefined; now?: number }): React.JSX.Element {
  return (
    <>
      <Text wrap="truncate-end">
        <Text bold>{topic}</Text> <Text dimColor>— channels (Enter: consumers, Esc: back)</Text>
      </Text>
      {retained === undefined ? null : <Text wrap="truncate-end">{retainedText(retained, now ?? Date.now())}</Text>}
      {lines.length === 0 ? <Text dimColor wrap="truncate-end">{empty}</Text> : <Table columns={COLUMNS} rows={lines} selected={selected} width={width} page={page} marker={marker} style={lineStyle} keyOf={(l) => r(l).name} />}
    </>
  );
}

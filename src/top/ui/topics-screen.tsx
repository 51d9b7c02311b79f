// The main screen: topics with their channels beneath.

import { Text } from 'ink';
import type { Column } from '../columns.js';
import { humanize, sparkline } from '../model.js';
import { bar } from '../chart.js';
import type { Line } from '../view.js';
import { Table, type RowStyle, type ScreenProps } from './table.js';

const num = (f: (l: Line) => number) => (l: Line) => humanize(f(l));
const rowOf = (l: Line) => l.row as { depth: number; inFlight: number; deferred: number; requeueRate: number; timeoutRate: number; inRate: number; outRate: number; consumers: number; deadLettered: number; paused: boolean; history: number[]; stalled: boolean; deadGrowing?: boolean };

const COLUMNS: Column<Line>[] = [
  { title: 'TOPIC / CHANNEL', width: 28, priority: 0, align: 'left', value: (l) => (l.kind === 'topic' ? l.row.name : l.kind === 'channel' ? `  └ ${l.row.name}` : '') },
  { title: 'DEPTH', width: 7, priority: 0, align: 'right', value: num((l) => rowOf(l).depth) },
  { title: 'INFLT', width: 6, priority: 2, align: 'right', value: num((l) => rowOf(l).inFlight) },
  { title: 'DEFER', width: 6, priority: 5, align: 'right', value: num((l) => rowOf(l).deferred) },
  { title: 'REQ/S', width: 6, priority: 4, align: 'right', value: num((l) => rowOf(l).requeueRate) },
  { title: 'T-O/S', width: 6, priority: 4, align: 'right', value: num((l) => rowOf(l).timeoutRate) },
  { title: 'IN/S', width: 7, priority: 1, align: 'right', value: num((l) => rowOf(l).inRate) },
  { title: 'OUT/S', width: 7, priority: 1, align: 'right', value: num((l) => rowOf(l).outRate) },
  { title: 'DEAD', width: 6, priority: 4, align: 'right', value: num((l) => rowOf(l).deadLettered) },
  { title: 'CONS', width: 5, priority: 3, align: 'right', value: (l) => String(rowOf(l).consumers) },
  // a topic on several nodes: how many (Enter gives each node's share)
  { title: 'NODES', width: 5, priority: 5, align: 'right', value: (l) => (l.kind === 'topic' ? String(l.row.nodes.length) : '') },
  // in words too, so NO_COLOR loses nothing
  { title: 'STATE', width: 6, priority: 3, align: 'left', value: (l) => (rowOf(l).paused ? 'paused' : rowOf(l).deadGrowing === true ? 'dead+' : '') },
  { title: 'LAST MINUTE', width: 20, priority: 6, align: 'left', value: (l) => sparkline(rowOf(l).history, 20) },
];

export function lineStyle(l: Line): RowStyle {
  if (l.kind === 'client') return {};
  const r = rowOf(l);
  if (r.paused) return { dim: true };
  if (r.stalled) return { color: 'red' };
  if (r.deadGrowing === true) return { color: 'magenta', bold: true };
  if (r.requeueRate > 0 || r.timeoutRate > 0) return { color: 'yellow' };
  return { bold: l.kind === 'topic' };
}

const BAR_WIDTH = 12;

/** The columns with a depth bar after DEPTH: each row's depth against the largest on the screen. */
function columnsFor(lines: readonly Line[]): Column<Line>[] {
  let max = 0;
  for (const l of lines) if (l.kind !== 'client' && rowOf(l).depth > max) max = rowOf(l).depth;
  const backlog: Column<Line> = { title: 'BACKLOG', width: BAR_WIDTH, priority: 5, align: 'left', value: (l) => (l.kind === 'client' ? '' : bar(rowOf(l).depth, max, BAR_WIDTH)) };
  return [COLUMNS[0]!, COLUMNS[1]!, backlog, ...COLUMNS.slice(2)];
}

export function TopicsScreen({ lines, selected, width, page, marker, empty }: ScreenProps): React.JSX.Element {
  if (lines.length === 0) return <Text dimColor wrap="truncate-end">{empty}</Text>;
  return <Table columns={columnsFor(lines)} rows={lines} selected={selected} width={width} page={page} marker={marker} style={lineStyle} keyOf={(l) => (l.kind === 'channel' ? `${l.row.topic}|${l.row.name}` : l.kind === 'topic' ? l.row.name : '')} />;
}

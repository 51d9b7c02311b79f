// A channel's consumers: one row per client connection on every node.

import { Text } from 'ink';
import type { Column } from '../columns.js';
import { humanize, type ClientRow } from '../model.js';
import type { Line } from '../view.js';
import { Table, type ScreenProps } from './table.js';

const c = (l: Line): ClientRow => l.row as ClientRow;
const flags = (r: ClientRow): string => [r.tls ? 'tls' : '', r.snappy ? 'snappy' : '', r.deflate ? 'deflate' : ''].filter(Boolean).join(',') || '-';

const COLUMNS: Column<Line>[] = [
  { title: 'CLIENT', width: 22, priority: 0, align: 'left', value: (l) => `${c(l).hostname || c(l).client_id}` },
  { title: 'ADDRESS', width: 21, priority: 2, align: 'left', value: (l) => c(l).remote_address },
  { title: 'USER AGENT', width: 18, priority: 3, align: 'left', value: (l) => c(l).user_agent || '-' },
  { title: 'FEATURES', width: 10, priority: 5, align: 'left', value: (l) => flags(c(l)) },
  { title: 'RDY', width: 5, priority: 1, align: 'right', value: (l) => String(c(l).ready_count) },
  { title: 'INFLT', width: 6, priority: 0, align: 'right', value: (l) => humanize(c(l).in_flight_count) },
  { title: 'FIN', width: 7, priority: 1, align: 'right', value: (l) => humanize(c(l).finish_count) },
  { title: 'REQ', width: 6, priority: 2, align: 'right', value: (l) => humanize(c(l).requeue_count) },
  { title: 'NODE', width: 21, priority: 4, align: 'left', value: (l) => c(l).node },
];

export function ChannelScreen({ topic, channel, lines, selected, width, page, marker, empty }: ScreenProps & { topic: string; channel: string }): React.JSX.Element {
  return (
    <>
      <Text wrap="truncate-end">
        <Text bold>{topic}</Text> / <Text bold>{channel}</Text> <Text dimColor>— consumers (Esc: back)</Text>
      </Text>
      {lines.length === 0 ? <Text dimColor wrap="truncate-end">{empty}</Text> : <Table columns={COLUMNS} rows={lines} selected={selected} width={width} page={page} marker={marker} style={() => ({})} keyOf={(l) => `${c(l).node}|${c(l).remote_address}`} />}
    </>
  );
}

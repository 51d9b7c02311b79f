// A channel: its own charts (depth, in flight, requeue and timeout rates), then every consumer
// connection on every node, as nsqadmin's channel page lists them, and the selected one in full.

import { Text } from 'ink';
import type { Column } from '../columns.js';
import { age, consumerDetail, consumerFeatures } from '../format.js';
import { humanize, type ChannelSeries, type ClientRow } from '../model.js';
import type { Line } from '../view.js';
import { Charts } from './charts.js';
import { Table, type ScreenProps } from './table.js';

const c = (l: Line): ClientRow => l.row as ClientRow;

function columns(now: number): Column<Line>[] {
  return [
    { title: 'CLIENT', width: 14, priority: 0, align: 'left', value: (l) => c(l).client_id || '-' },
    { title: 'HOST', width: 18, priority: 3, align: 'left', value: (l) => c(l).hostname || '-' },
    { title: 'ADDRESS', width: 21, priority: 0, align: 'left', value: (l) => c(l).remote_address },
    { title: 'USER AGENT', width: 18, priority: 4, align: 'left', value: (l) => c(l).user_agent || '-' },
    { title: 'VER', width: 3, priority: 5, align: 'left', value: (l) => c(l).version || '-' },
    { title: 'RDY', width: 5, priority: 1, align: 'right', value: (l) => String(c(l).ready_count) },
    { title: 'INFLT', width: 6, priority: 0, align: 'right', value: (l) => humanize(c(l).in_flight_count) },
    { title: 'MSGS', width: 7, priority: 2, align: 'right', value: (l) => humanize(c(l).message_count) },
    { title: 'FIN', width: 7, priority: 1, align: 'right', value: (l) => humanize(c(l).finish_count) },
    { title: 'REQ', width: 6, priority: 2, align: 'right', value: (l) => humanize(c(l).requeue_count) },
    { title: 'CONNECTED', width: 9, priority: 3, align: 'right', value: (l) => (c(l).connect_ts > 0 ? age(now - c(l).connect_ts * 1000) : '-') },
    { title: 'FEATURES', width: 14, priority: 3, align: 'left', value: (l) => consumerFeatures(c(l)) || '-' },
    { title: 'NODE', width: 21, priority: 6, align: 'left', value: (l) => c(l).node },
  ];
}

export interface ChannelScreenProps extends ScreenProps {
  topic: string;
  channel: string;
  /** the channel's charts, and the rows they get (0: none) */
  series?: ChannelSeries | undefined;
  chartRows?: number;
  now: number;
}

export function ChannelScreen({ topic, channel, lines, selected, width, page, marker, empty, series, chartRows = 0, now }: ChannelScreenProps): React.JSX.Element {
  const chosen = lines[selected];
  return (
    <>
      <Text wrap="truncate-end">
        <Text bold>{topic}</Text> / <Text bold>{channel}</Text> <Text dimColor>— consumers (Esc: back)</Text>
      </Text>
      {series !== undefined && chartRows > 0 ? (
        <Charts
          series={[
            { name: 'depth', ring: series.depth, unit: '' },
            { name: 'in flight', ring: series.inFlight, unit: '' },
            { name: 'requeued', ring: series.requeueRate, unit: '/s' },
            { name: 'timed out', ring: series.timeoutRate, unit: '/s' },
          ]}
          width={width}
          height={chartRows}
        />
      ) : null}
      {lines.length === 0 ? (
        <Text dimColor wrap="truncate-end">
          {empty}
        </Text>
      ) : (
        <>
          <Text wrap="truncate-end">{chosen === undefined ? ' ' : consumerDetail(c(chosen), now)}</Text>
          <Table columns={columns(now)} rows={lines} selected={selected} width={width} page={page} marker={marker} style={() => ({})} keyOf={(l) => `${c(l).node}|${c(l).remote_address}`} />
        </>
      )}
    </>
  );
}

// Line charts side by side (issue 19): the overview's (messages in and out per second, total depth)
// and a channel's (depth, in flight, requeue and timeout rates). The maths is in chart.ts; this only
// prints its rows.

import { Box, Text } from 'ink';
import { chartPanels, type HistoryRing } from '../chart.js';
import { humanize } from '../model.js';

const COLOURS = ['green', 'cyan', 'yellow', 'magenta'] as const;

export interface Series {
  name: string;
  ring: HistoryRing;
  unit: string;
}

export function Charts({ series, width, height }: { series: Series[]; width: number; height: number }): React.JSX.Element | null {
  const panels = chartPanels(series, width, height, humanize);
  if (panels.length === 0) return null;
  return (
    <Box flexDirection="row" gap={2}>
      {panels.map((p, i) => (
        <Box key={i} flexDirection="column">
          <Text dimColor wrap="truncate-end">
            {p.title}
          </Text>
          {p.rows.map((row, r) => (
            <Text key={r} color={COLOURS[i % COLOURS.length]}>
              {row}
            </Text>
          ))}
        </Box>
      ))}
    </Box>
  );
}

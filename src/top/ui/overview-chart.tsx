// The overview's charts (issue 19): messages in and out per second and the total depth, side by
// side over the last minutes, above the topic table when the terminal has the rows. The maths is in
// chart.ts; this only prints it.

import { Box, Text } from 'ink';
import { chartPanels } from '../chart.js';
import { humanize, type TopModel } from '../model.js';

const COLOURS = ['green', 'cyan', 'yellow'] as const;

export function OverviewChart({ model, width, height }: { model: TopModel; width: number; height: number }): React.JSX.Element | null {
  const c = model.cluster;
  const panels = chartPanels(
    [
      { name: 'in', ring: c.inRate, unit: '/s' },
      { name: 'out', ring: c.outRate, unit: '/s' },
      { name: 'depth', ring: c.depth, unit: '' },
    ],
    width,
    height,
    humanize,
  );
  if (panels.length === 0) return null;
  return (
    <Box flexDirection="row" gap={2}>
      {panels.map((p, i) => (
        <Box key={i} flexDirection="column">
          <Text dimColor wrap="truncate-end">
            {p.title}
          </Text>
          {p.rows.map((row, r) => (
            <Text key={r} color={COLOURS[i]}>
              {row}
            </Text>
          ))}
        </Box>
      ))}
    </Box>
  );
}

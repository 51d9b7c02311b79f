// The overview's charts (issue 19): messages in and out per second and the total depth, side by
// side over the last minutes, above the topic table when the terminal has the rows.

import type { TopModel } from '../model.js';
import { Charts } from './charts.js';

export function OverviewChart({ model, width, height }: { model: TopModel; width: number; height: number }): React.JSX.Element | null {
  const c = model.cluster;
  return (
    <Charts
      series={[
        { name: 'in', ring: c.inRate, unit: '/s' },
        { name: 'out', ring: c.outRate, unit: '/s' },
        { name: 'depth', ring: c.depth, unit: '' },
      ]}
      width={width}
      height={height}
    />
  );
}

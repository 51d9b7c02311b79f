// A table of rows under fitted columns, with one selected row.

import { Box, Text } from 'ink';
import { cell, fitColumns, type Column } from '../columns.js';

export interface RowStyle {
  color?: string;
  dim?: boolean;
  bold?: boolean;
}

export function Table<R>({ columns, rows, selected, width, style, keyOf }: { columns: Column<R>[]; rows: R[]; selected: number; width: number; style: (row: R) => RowStyle; keyOf: (row: R) => string }): React.JSX.Element {
  const cols = fitColumns(columns, width);
  const head = cols.map((c) => cell(c.title, c.width, c.align)).join(' ');
  return (
    <Box flexDirection="column">
      <Text bold underline>
        {head}
      </Text>
      {rows.map((r, i) => {
        const s = style(r);
        const text = cols.map((c) => cell(c.value(r), c.width, c.align)).join(' ');
        return (
          <Text key={keyOf(r)} inverse={i === selected} color={s.color} dimColor={s.dim} bold={s.bold}>
            {text}
          </Text>
        );
      })}
    </Box>
  );
}

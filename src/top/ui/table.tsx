// A table of rows under fitted columns, with one selected row: in reverse video, and with a `>`
// in a gutter when styles do not show (NO_COLOR, --no-color, a dumb terminal).

import { Box, Text } from 'ink';
import { cell, fitColumns, type Column } from '../columns.js';

export interface RowStyle {
  color?: string;
  dim?: boolean;
  bold?: boolean;
}

export interface TableProps<R> {
  columns: Column<R>[];
  rows: R[];
  selected: number;
  width: number;
  style: (row: R) => RowStyle;
  keyOf: (row: R) => string;
  /** mark the selected row with `>`, for a terminal without styles */
  marker?: boolean;
}

const GUTTER = 2;

export function Table<R>({ columns, rows, selected, width, style, keyOf, marker = false }: TableProps<R>): React.JSX.Element {
  const cols = fitColumns(columns, marker ? width - GUTTER : width);
  const gutter = (on: boolean): string => (marker ? (on ? '> ' : '  ') : '');
  const head = gutter(false) + cols.map((c) => cell(c.title, c.width, c.align)).join(' ');
  return (
    <Box flexDirection="column">
      <Text bold underline>
        {head}
      </Text>
      {rows.map((r, i) => {
        const s = style(r);
        const on = i === selected;
        const text = gutter(on) + cols.map((c) => cell(c.value(r), c.width, c.align)).join(' ');
        return (
          <Text key={keyOf(r)} inverse={on} color={s.color} dimColor={s.dim} bold={s.bold}>
            {text}
          </Text>
        );
      })}
    </Box>
  );
}

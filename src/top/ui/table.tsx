// A table of rows under fitted columns, with one selected row: in reverse video, and with a `>`
// in a gutter when styles do not show (NO_COLOR, --no-color, a dumb terminal). Only the rows of
// `page` are drawn; a row never wraps.

import { Box, Text } from 'ink';
import { cell, fitColumns, type Column } from '../columns.js';
import type { Line } from '../view.js';

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
  /** the rows shown (view.ts pageOf); all of them without */
  page?: { start: number; end: number };
  /** mark the selected row with `>`, for a terminal without styles */
  marker?: boolean;
}

/** What a screen (topics, topic, channel) is given to draw. */
export interface ScreenProps {
  lines: Line[];
  selected: number;
  width: number;
  page?: { start: number; end: number };
  marker?: boolean;
  /** said instead of the table when there are no lines (view.ts emptyText) */
  empty: string;
}

const GUTTER = 2;

export function Table<R>({ columns, rows, selected, width, style, keyOf, page, marker = false }: TableProps<R>): React.JSX.Element {
  const cols = fitColumns(columns, marker ? width - GUTTER : width);
  const gutter = (on: boolean): string => (marker ? (on ? '> ' : '  ') : '');
  const head = gutter(false) + cols.map((c) => cell(c.title, c.width, c.align)).join(' ');
  const start = page?.start ?? 0;
  return (
    <Box flexDirection="column">
      <Text bold underline wrap="truncate-end">
        {head}
      </Text>
      {rows.slice(start, page?.end ?? rows.length).map((r, i) => {
        const s = style(r);
        const on = start + i === selected;
        const text = gutter(on) + cols.map((c) => cell(c.value(r), c.width, c.align)).join(' ');
        return (
          <Text key={keyOf(r)} inverse={on} color={s.color} dimColor={s.dim} bold={s.bold} wrap="truncate-end">
            {text}
          </Text>
        );
      })}
    </Box>
  );
}

// Table columns that fit the terminal: each has a priority, and a narrow terminal drops the least
// important ones first. Cells are padded here so components only lay them out.

export interface Column<R> {
  title: string;
  width: number;
  /** lower is more important; 0 is never dropped */
  priority: number;
  align: 'left' | 'right';
  value: (row: R) => string;
}

/** The columns that fit in `width` characters (one space between columns), in their order. */
export function fitColumns<R>(columns: readonly Column<R>[], width: number): Column<R>[] {
  const kept = [...columns];
  const total = (): number => kept.reduce((n, c) => n + c.width + 1, -1);
  while (total() > width) {
    let drop = -1;
    for (let i = 0; i < kept.length; i++) {
      if (kept[i]!.priority > 0 && (drop === -1 || kept[i]!.priority > kept[drop]!.priority)) drop = i;
    }
    if (drop === -1) break;
    kept.splice(drop, 1);
  }
  return kept;
}

export function cell(text: string, width: number, align: 'left' | 'right'): string {
  const t = [...text].length > width ? [...text].slice(0, Math.max(0, width - 1)).join('') + '…' : text;
  return align === 'right' ? t.padStart(width) : t.padEnd(width);
}

// The dashboard's charts as plain strings (issue 19): a history ring per series, a "nice" scale,
// and a line chart in braille characters (2 × 4 dots a cell, so a 60-column chart shows 120
// samples). No React here: the ink components only print the rows this returns.

/** The last `capacity` samples of a series, oldest first; a fixed Float64Array, no allocation per push. */
export class HistoryRing {
  readonly capacity: number;
  #values: Float64Array;
  #next = 0;
  #size = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`history capacity ${capacity} must be a positive integer`);
    this.capacity = capacity;
    this.#values = new Float64Array(capacity);
  }

  get length(): number {
    return this.#size;
  }

  push(v: number): void {
    this.#values[this.#next] = Number.isFinite(v) ? v : 0;
    this.#next = (this.#next + 1) % this.capacity;
    if (this.#size < this.capacity) this.#size++;
  }

  /** The last `n` samples (all when n is larger), oldest first. */
  last(n = this.#size): number[] {
    const k = Math.min(n, this.#size);
    const out = new Array<number>(k);
    const start = (this.#next - k + this.capacity) % this.capacity;
    for (let i = 0; i < k; i++) out[i] = this.#values[(start + i) % this.capacity]!;
    return out;
  }

  max(n = this.#size): number {
    let m = 0;
    for (const v of this.last(n)) if (v > m) m = v;
    return m;
  }
}

/** The smallest 1, 2 or 5 × 10^k at or above `max` (1 for 0 or less): the chart's top line. */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * p >= max * (1 - 1e-12)) return m * p;
  return 10 * p;
}

// braille dot bits, by dot row (0 = top) for the cell's left and right column
const LEFT = [0x01, 0x02, 0x04, 0x40];
const RIGHT = [0x08, 0x10, 0x20, 0x80];
const BLANK = 0x2800;

/**
 * A line chart of the last `width * 2` values, `height` rows of `width` braille characters, scaled
 * so `top` is the top dot row and 0 the bottom one; consecutive samples are joined by a vertical run,
 * so a jump reads as a line, not as two dots. Fewer values than the width: the chart is right-aligned
 * (the newest sample is always at the right edge). Values above `top` are drawn at the top.
 */
export function brailleChart(values: readonly number[], width: number, height: number, top: number): string[] {
  if (width < 1 || height < 1) return [];
  const dotsY = height * 4;
  const samples = values.slice(-width * 2);
  const offset = width * 2 - samples.length;
  const cells = new Uint8Array(width * height);
  const level = (v: number): number => {
    const r = top > 0 ? v / top : 0;
    return Math.max(0, Math.min(dotsY - 1, Math.round(r * (dotsY - 1))));
  };
  let prev = -1;
  for (let i = 0; i < samples.length; i++) {
    const x = offset + i;
    const y = level(samples[i]!);
    const from = prev < 0 ? y : Math.min(prev, y);
    const to = prev < 0 ? y : Math.max(prev, y);
    for (let d = from; d <= to; d++) {
      // dot row from the top of the chart
      const rowDot = dotsY - 1 - d;
      const cell = Math.floor(rowDot / 4) * width + (x >> 1);
      cells[cell]! |= (x & 1) === 0 ? LEFT[rowDot & 3]! : RIGHT[rowDot & 3]!;
    }
    prev = y;
  }
  const rows: string[] = [];
  for (let r = 0; r < height; r++) {
    let line = '';
    for (let c = 0; c < width; c++) line += String.fromCharCode(BLANK + cells[r * width + c]!);
    rows.push(line);
  }
  return rows;
}

/** Rows the overview's charts get on a terminal `rows` high: none below 20 (the table needs them), else a fifth of it, 3 to 10. */
export function overviewChartRows(rows: number | undefined): number {
  if (rows === undefined || rows < 20) return 0;
  return Math.max(3, Math.min(10, Math.floor(rows / 5)));
}

/**
 * Lines a topic's per-node breakdown takes on its screen, for a topic on `nodes` nodes with `room`
 * lines to spare: none for a topic on one node (or no room), else a head and up to room − 1 lines
 * (when not every node fits, the last of them says how many more).
 */
export function nodeBreakdownLines(nodes: number, room: number): number {
  if (nodes < 2 || room < 2) return 0;
  return 1 + Math.min(nodes, room - 1);
}

export interface ChartPanel {
  /** the panel's title over its chart: what, now, and the scale's top */
  title: string;
  rows: string[];
}

/**
 * The overview's charts side by side, each `(width - gaps) / n` columns and `height` rows: one per
 * series, scaled to the largest sample in view; the title gives the newest value and the scale.
 */
export function chartPanels(series: { name: string; ring: HistoryRing; unit: string }[], width: number, height: number, format: (n: number) => string): ChartPanel[] {
  const each = Math.floor((width - 2 * (series.length - 1)) / series.length);
  if (each < 8 || height < 1) return [];
  return series.map(({ name, ring, unit }) => {
    const values = ring.last(each * 2);
    const top = niceMax(Math.max(0, ...values));
    const now = values.length > 0 ? values[values.length - 1]! : 0;
    const title = `${name} ${format(now)}${unit}`;
    const scale = `max ${format(top)}`;
    const pad = Math.max(1, each - title.length - scale.length);
    return { title: `${title}${' '.repeat(pad)}${scale}`.slice(0, each), rows: brailleChart(values, each, height, top) };
  });
}

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** A bar of `value` against `max` in `width` cells, to an eighth of a cell; any value above 0 shows at least an eighth. */
export function bar(value: number, max: number, width: number): string {
  if (!(value > 0) || !(max > 0) || width < 1) return '';
  const eighths = Math.max(1, Math.round((Math.min(value, max) / max) * width * 8));
  return '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8]!;
}

// Numbers as the dashboard prints them: counts that fit a column, sparklines.

/** 12.3k, 4.5M: counts that fit a column. */
export function humanize(n: number): string {
  const abs = Math.abs(n);
  if (abs < 1000) return Number.isInteger(n) ? String(n) : n < 10 ? n.toFixed(1) : String(Math.round(n));
  const units = ['k', 'M', 'G', 'T'];
  let v = n;
  let u = -1;
  while (Math.abs(v) >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${Math.abs(v) < 10 ? v.toFixed(1) : Math.round(v)}${units[u]}`;
}

const SPARKS = '▁▂▃▄▅▆▇█';

/** A sparkline of the last `width` values, scaled to their maximum. */
export function sparkline(values: readonly number[], width = 20): string {
  const v = values.slice(-width);
  const max = Math.max(0, ...v);
  if (v.length === 0) return '';
  return v.map((x) => (max === 0 ? SPARKS[0] : SPARKS[Math.min(SPARKS.length - 1, Math.floor((x / max) * (SPARKS.length - 1) + 0.0001))])).join('');
}

// Go's time.Duration syntax ("90s", "1m30s", "250ms", "1.5h"), as nsqd's flags take it.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART_RE = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

export class DurationError extends Error {
  readonly code = 'E_BAD_DURATION';
}

/** Parses a Go duration to milliseconds. "0" alone is allowed, as in Go. */
export function parseDuration(text: string): number {
  let s = text.trim();
  if (s === '') throw new DurationError(`invalid duration ""`);
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new DurationError(`invalid duration "${text}"`);
  let total = 0;
  while (s.length > 0) {
    const m = PART_RE.exec(s);
    if (m === null) {
      if (/^\d+(\.\d*)?$/.test(s)) throw new DurationError(`missing unit in duration "${text}"`);
      throw new DurationError(`invalid duration "${text}"`);
    }
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    s = s.slice(m[0].length);
  }
  return sign * total;
}

/** Formats milliseconds the way Go prints a Duration ("1m30s", "250ms", "0s"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let rest = Math.abs(ms);
  let out: string;
  if (rest < 1000) {
    out = `${trim(rest)}ms`;
  } else {
    const h = Math.floor(rest / 3_600_000);
    rest -= h * 3_600_000;
    const m = Math.floor(rest / 60_000);
    rest -= m * 60_000;
    const s = rest / 1000;
    out = `${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${m}m` : ''}${trim(s)}s`;
  }
  return neg ? `-${out}` : out;
}

function trim(n: number): string {
  return String(Number(n.toFixed(6)));
}

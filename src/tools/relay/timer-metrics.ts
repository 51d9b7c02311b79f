// --status-every: every N requests, one line with their 99th and 95th percentile and mean
// duration, as bitly/timer_metrics logs it for nsq_to_http and nsq_to_nsq.

export class TimerMetrics {
  #every: number;
  #prefix: string;
  #log: (line: string) => void;
  #timings: number[] = [];

  /** `every` 0 disables it. */
  constructor(every: number, prefix: string, log: (line: string) => void) {
    this.#every = every;
    this.#prefix = prefix;
    this.#log = log;
  }

  /** One request took `ms`. */
  add(ms: number): void {
    if (this.#every <= 0) return;
    this.#timings.push(ms);
    if (this.#timings.length < this.#every) return;
    const t = this.#timings.sort((a, b) => a - b);
    this.#timings = [];
    const avg = t.reduce((s, v) => s + v, 0) / t.length;
    this.#log(`${this.#prefix} finished ${t.length} - 99th: ${percentile(t, 99).toFixed(2)}ms - 95th: ${percentile(t, 95).toFixed(2)}ms - avg: ${avg.toFixed(2)}ms`);
  }
}

/** Nearest rank of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

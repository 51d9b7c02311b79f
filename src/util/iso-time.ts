// Timestamps as the tools print them: ISO-8601 in UTC with all nine fraction digits.

/** nanoseconds since the epoch → ISO-8601 in UTC with all nine fraction digits. */
export function isoTimestamp(ns: bigint): string {
  const secs = ns / 1_000_000_000n;
  const frac = ns - secs * 1_000_000_000n;
  const whole = new Date(Number(secs) * 1000).toISOString().slice(0, 19);
  return `${whole}.${String(frac).padStart(9, '0')}Z`;
}

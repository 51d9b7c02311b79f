// /channel/create's `from=` (docs/retention.md): parsed once, for nsqd and for the tools that send it.

/** Where a channel created with `from=` starts. */
export type ReplayFrom = { kind: 'earliest' } | { kind: 'latest' } | { kind: 'time'; epochMs: number };

/** Parses `from`: earliest, latest, an RFC 3339 time or unix milliseconds; null when it is none of them. */
export function parseReplayFrom(text: string): ReplayFrom | null {
  if (text === 'earliest' || text === 'latest') return { kind: text };
  if (/^\d{1,16}$/.test(text)) return { kind: 'time', epochMs: Number(text) };
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(text)) {
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) return { kind: 'time', epochMs: ms };
  }
  return null;
}

// `nsq bench`'s reports: the short human one, and CSV rows for spreadsheets.

import type { CombinedResult } from './combined.js';
import type { BenchResult, LatencySummary } from './shared.js';

const num = (x: number, digits = 0): string => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** The short human report. */
export function formatResult(r: BenchResult): string {
  const conns = `${r.connections} connection${r.connections === 1 ? '' : 's'}`;
  const what =
    r.mode === 'pub'
      ? `topic ${r.topic}, ${conns}, ${r.batch === 1 ? 'PUB' : `MPUB ×${r.batch}`}, ${r.size} B bodies, ${r.rate ? `${num(r.rate)} msgs/s` : 'full speed'}`
      : `${r.topic}/${r.channel}, ${conns}, RDY ${r.rdy} each`;
  const lines = [
    `nsq bench ${r.mode} → ${r.addresses.join(', ')}: ${what}`,
    `  messages   ${num(r.messages)} in ${r.seconds.toFixed(2)} s${r.redelivered ? ` (${num(r.redelivered)} redelivered)` : ''}`,
    `  rate       ${num(r.msgsPerSec)} msgs/s, ${num(r.mibPerSec, 2)} MiB/s`,
  ];
  const l = r.latency;
  if (l !== null) {
    const kind = l.kind === 'ack' ? `ack: write to OK, ${num(l.samples)} writes` : `end-to-end: publish to receipt, ${num(l.samples)} messages`;
    lines.push(`  latency    p50 ${num(l.p50Ms, 3)}  p90 ${num(l.p90Ms, 3)}  p99 ${num(l.p99Ms, 3)}  max ${num(l.maxMs, 3)} ms (${kind})`);
  } else if (r.mode === 'sub' && r.messages > 0) {
    lines.push('  latency    n/a: the bodies carry no `nsq bench pub` send time');
  }
  return `${lines.join('\n')}\n`;
}


/** The combined run's report: each side's rate, the totals, both latencies. */
export function formatCombined(r: CombinedResult): string {
  const { pub: p, sub: s } = r;
  const conns = (n: number, what: string): string => `${n} ${what} connection${n === 1 ? '' : 's'}`;
  const latency = (l: LatencySummary | null, label: string, what: string): string =>
    l === null ? `  ${label.padEnd(10)} n/a` : `  ${label.padEnd(10)} p50 ${num(l.p50Ms, 3)}  p90 ${num(l.p90Ms, 3)}  p99 ${num(l.p99Ms, 3)}  max ${num(l.maxMs, 3)} ms (${what}, ${num(l.samples)} ${l.kind === 'ack' ? 'writes' : 'messages'})`;
  const lines = [
    `nsq bench → ${r.addresses.join(', ')}: topic ${r.topic}, channel ${r.channel}; ${conns(p.connections, 'producer')}, ${p.batch === 1 ? 'PUB' : `MPUB ×${p.batch}`}, ${p.size} B bodies, ${p.rate ? `${num(p.rate)} msgs/s` : 'full speed'}; ${conns(s.connections, 'consumer')}, RDY ${s.rdy} each`,
    `  pub        ${num(p.messages)} in ${p.seconds.toFixed(2)} s: ${num(p.msgsPerSec)} msgs/s, ${num(p.mibPerSec, 2)} MiB/s`,
    `  sub        ${num(s.messages)} in ${s.seconds.toFixed(2)} s: ${num(s.msgsPerSec)} msgs/s, ${num(s.mibPerSec, 2)} MiB/s`,
    `  total      ${num(r.published)} published, ${num(r.consumed)} consumed${s.redelivered ? ` (${num(s.redelivered)} delivered again)` : ''}, ${num(r.missing)} missing`,
    latency(p.latency, 'ack', 'write to OK'),
    latency(s.latency, 'end-to-end', 'publish to receipt'),
  ];
  if (s.older) lines.push(`  older      ${num(s.older)} messages from before this run were also taken off ${r.channel} (not counted)`);
  return `${lines.join('\n')}\n`;
}

// ---- CSV ---------------------------------------------------------------------------------------

/** The columns of `--csv`, one row per role of a run; latencies in ms, rates per second. */
export const CSV_COLUMNS = [
  'mode', 'role', 'addresses', 'topic', 'channel', 'connections', 'size', 'batch', 'rate', 'rdy',
  'messages', 'bytes', 'seconds', 'msgs_per_sec', 'mib_per_sec',
  'latency', 'latency_samples', 'p50_ms', 'p90_ms', 'p99_ms', 'max_ms', 'redelivered', 'missing',
] as const;

/** RFC 4180: a field with a comma, a quote or a line break is quoted, its quotes doubled. */
const field = (v: string | number | undefined | null): string => {
  const text = v === undefined || v === null ? '' : String(v);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

function csvRow(mode: string, r: BenchResult, missing?: number): string {
  const l = r.latency;
  const row: Record<(typeof CSV_COLUMNS)[number], string | number | undefined> = {
    mode,
    role: r.mode,
    addresses: r.addresses.join(' '),
    topic: r.topic,
    channel: r.channel,
    connections: r.connections,
    size: r.size,
    batch: r.batch,
    rate: r.rate,
    rdy: r.rdy,
    messages: r.messages,
    bytes: r.bytes,
    seconds: r.seconds,
    msgs_per_sec: r.msgsPerSec,
    mib_per_sec: r.mibPerSec,
    latency: l?.kind,
    latency_samples: l?.samples,
    p50_ms: l?.p50Ms,
    p90_ms: l?.p90Ms,
    p99_ms: l?.p99Ms,
    max_ms: l?.maxMs,
    redelivered: r.redelivered,
    missing,
  };
  return CSV_COLUMNS.map((c) => field(row[c])).join(',');
}

/** `--csv`: the header line, then a row for each role (pub, sub; both for the combined run). */
export function formatCsv(r: BenchResult | CombinedResult): string {
  const rows = r.mode === 'pubsub' ? [csvRow('pubsub', r.pub), csvRow('pubsub', r.sub, r.missing)] : [csvRow(r.mode, r)];
  return `${[CSV_COLUMNS.join(','), ...rows].join('\n')}\n`;
}

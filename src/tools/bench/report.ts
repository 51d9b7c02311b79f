// `nsq bench`'s reports: the short human one, and CSV rows for spreadsheets.

import type { BenchResult } from './shared.js';

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


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

/** 3s, 4m, 2h13m, 3d4h: an age at a glance. */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${m % 60 > 0 ? `${m % 60}m` : ''}`;
  return `${Math.floor(h / 24)}d${h % 24 > 0 ? `${h % 24}h` : ''}`;
}

/** A durable topic's retained journal (docs/retention.md), as the topic's screen says it. */
export function retainedText(r: { fromMs: number; bytes: number }, nowMs: number): string {
  if (r.fromMs === 0) return 'retained: nothing yet (the journal is empty)';
  const when = new Date(r.fromMs).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
  return `retained: ${humanize(r.bytes)}B of journal since ${when} (${age(nowMs - r.fromMs)} ago): what a channel created with from=earliest starts with`;
}

/** What a consumer's connection negotiated, in words: tls (its version), snappy, deflate, auth. */
export function consumerFeatures(c: { tls?: boolean; tls_version?: string; snappy: boolean; deflate: boolean; authed?: boolean }): string {
  const out: string[] = [];
  if (c.tls === true) out.push(c.tls_version ? `tls ${c.tls_version.replace(/^TLS ?v?/i, '')}` : 'tls');
  if (c.snappy) out.push('snappy');
  if (c.deflate) out.push('deflate');
  if (c.authed === true) out.push('auth');
  return out.join(' ');
}

/** The selected consumer on one line, all of it: who, from where, to which node, since when, how. */
export function consumerDetail(c: { client_id: string; hostname: string; remote_address: string; node: string; user_agent: string; version: string; connect_ts: number; tls?: boolean; tls_version?: string; tls_cipher_suite?: string; snappy: boolean; deflate: boolean; authed?: boolean; auth_identity?: string; sample_rate: number }, nowMs: number): string {
  const parts = [`${c.client_id || '-'}@${c.hostname || '-'}`, `${c.remote_address} → ${c.node}`, c.user_agent || 'no user agent', `protocol ${c.version || '-'}`];
  if (c.connect_ts > 0) parts.push(`connected ${new Date(c.connect_ts * 1000).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC')} (${age(nowMs - c.connect_ts * 1000)} ago)`);
  parts.push(c.tls === true ? `tls ${c.tls_version ?? ''} ${c.tls_cipher_suite ?? ''}`.replace(/\s+/g, ' ').trim() : 'no tls');
  if (c.snappy) parts.push('snappy');
  if (c.deflate) parts.push('deflate');
  if (c.authed === true) parts.push(c.auth_identity ? `auth as ${c.auth_identity}` : 'authed');
  if (c.sample_rate > 0) parts.push(`sample ${c.sample_rate} %`);
  return parts.join(' · ');
}

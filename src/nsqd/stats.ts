// /stats: snapshots of topics, channels and clients in nsqd 1.3's JSON shape, its text
// rendering, and the end-to-end latency quantiles.

import { goTlsVersion } from './tls.js';
import type { Client } from './client.js';
import { STATE_CLOSING, STATE_SUBSCRIBED } from './client.js';
import type { Channel } from './channel.js';
import type { NSQD } from './nsqd.js';
import type { ChannelStats, ClientStats, LatencyResult, MemoryStats, Stats, TopicStats } from '../protocol/stats-json.js';
import type { Topic } from './topic.js';
import { NSQ_VERSION } from '../protocol/constants.js';
import { formatDuration } from '../util/duration.js';
import { messageIdToString } from '../protocol/message-id.js';

/** Keeps recent end-to-end latencies (ns) for the configured quantiles; off when none are. */
export class LatencyStream {
  #windowMs: number;
  #quantiles: number[];
  #values: number[] = [];
  #times: number[] = [];
  #count = 0;
  static readonly MAX_SAMPLES = 10_000;

  constructor(windowMs: number, quantiles: number[]) {
    this.#windowMs = windowMs;
    this.#quantiles = quantiles;
  }

  add(latencyNs: number): void {
    if (this.#quantiles.length === 0) return;
    this.#count++;
    if (this.#values.length >= LatencyStream.MAX_SAMPLES) {
      this.#values.shift();
      this.#times.shift();
    }
    this.#values.push(latencyNs);
    this.#times.push(performance.now());
  }

  /** The samples still inside the window. */
  samples(): number[] {
    const cutoff = performance.now() - this.#windowMs;
    let drop = 0;
    while (drop < this.#times.length && this.#times[drop]! < cutoff) drop++;
    if (drop > 0) {
      this.#times.splice(0, drop);
      this.#values.splice(0, drop);
    }
    return this.#values;
  }

  get enabled(): boolean {
    return this.#quantiles.length > 0;
  }

  result(): LatencyResult {
    if (!this.enabled) return { count: 0, percentiles: null };
    return quantileResult(this.samples(), this.#quantiles);
  }
}

export function quantileResult(values: readonly number[], quantiles: readonly number[]): LatencyResult {
  if (values.length === 0) return { count: 0, percentiles: null };
  const sorted = [...values].sort((a, b) => a - b);
  const percentiles = quantiles.map((quantile) => ({ quantile, value: sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(quantile * sorted.length) - 1))]! }));
  return { count: sorted.length, percentiles };
}

export interface StatsQuery {
  topic?: string;
  channel?: string;
  includeClients: boolean;
  includeMem: boolean;
}

function stateNumber(c: Client): number {
  // nsqd's client states: init 0, disconnected 1, connected 2, subscribed 3, closing 4
  if (c.state === STATE_SUBSCRIBED) return 3;
  if (c.state === STATE_CLOSING) return 4;
  return 0;
}

export function clientStats(c: Client, withPubCounts: boolean): ClientStats {
  const s: ClientStats = {
    client_id: c.clientId,
    hostname: c.hostname,
    version: 'V2',
    remote_address: c.remoteAddress,
    state: stateNumber(c),
    ready_count: c.readyCount,
    in_flight_count: c.inFlightCount,
    message_count: c.messageCount,
    finish_count: c.finishCount,
    requeue_count: c.requeueCount,
    connect_ts: Math.floor(c.connectTime / 1000),
    sample_rate: c.sampleRate,
    deflate: c.deflate,
    snappy: c.snappy,
    user_agent: c.userAgent,
  };
  // omitempty in nsqd: present only when set
  if (c.authed) s.authed = true;
  const auth = c.authState;
  if (auth !== null && auth.identity !== '') s.auth_identity = auth.identity;
  if (auth !== null && auth.identityUrl !== '') s.auth_identity_url = auth.identityUrl;
  // nsqd's field order: pub_counts (when the client published) comes before the TLS fields
  if (withPubCounts) s.pub_counts = [...c.pubCounts].map(([topic, count]) => ({ topic, count }));
  s.tls = c.tls;
  const tls = c.tlsSocket;
  s.tls_cipher_suite = tls?.getCipher()?.standardName ?? '';
  s.tls_version = tls === null ? '' : goTlsVersion(tls.getProtocol());
  s.tls_negotiated_protocol = tls !== null && typeof tls.alpnProtocol === 'string' ? tls.alpnProtocol : '';
  // Go reports this as always true for a TLS connection (the field is deprecated there)
  s.tls_negotiated_protocol_is_mutual = tls !== null;
  return s;
}

function channelStats(ch: Channel, includeClients: boolean): ChannelStats {
  return {
    channel_name: ch.name,
    depth: ch.depth,
    backend_depth: ch.backendDepth,
    in_flight_count: ch.inFlightCount,
    deferred_count: ch.deferredCount,
    message_count: ch.messageCount,
    requeue_count: ch.requeueCount,
    timeout_count: ch.timeoutCount,
    client_count: ch.clients.length,
    clients: includeClients ? ch.clients.map((c) => clientStats(c, c.pubCounts.size > 0)) : null,
    paused: ch.paused,
    e2e_processing_latency: ch.e2eLatency.result(),
    // not in nsqd: after its fields, which keep nsqd's order (docs/dead-letters.md)
    max_attempts: ch.effectiveMaxAttempts,
    dead_letter_topic: ch.effectiveDeadLetterTopic,
    dead_lettered_count: ch.deadLetteredCount,
    ...orderedStats(ch),
  };
}

/** An ordered channel's fields (docs/ordered-channels.md); a normal channel has only `ordered: false`. */
function orderedStats(ch: Channel): Pick<ChannelStats, 'ordered' | 'head_id' | 'head_age_ms' | 'head_attempts'> {
  if (!ch.ordered) return { ordered: false };
  const head = ch.headInfo(Date.now());
  return { ordered: true, head_id: head === null ? '' : messageIdToString(head.id), head_age_ms: head?.ageMs ?? 0, head_attempts: head?.attempts ?? 0 };
}

/** The topic's figure merges its channels' samples. */
function topicLatency(t: Topic): LatencyResult {
  const quantiles = t.nsqd.options.e2eProcessingLatencyPercentiles;
  if (quantiles.length === 0) return { count: 0, percentiles: null };
  const all: number[] = [];
  for (const ch of t.channels.values()) for (const v of ch.e2eLatency.samples()) all.push(v);
  return quantileResult(all, quantiles);
}

function topicStats(t: Topic, channelName: string | undefined, includeClients: boolean): TopicStats {
  const channels = [...t.channels.values()]
    .filter((ch) => channelName === undefined || ch.name === channelName)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((ch) => channelStats(ch, includeClients));
  return {
    topic_name: t.name,
    channels,
    depth: t.depth,
    backend_depth: t.backendDepth,
    message_count: t.messageCount,
    message_bytes: t.messageBytes,
    paused: t.paused,
    e2e_processing_latency: topicLatency(t),
    ...topicRetention(t),
    ...topicReplication(t),
  };
}

function topicRetention(t: Topic): Pick<TopicStats, 'retention_ms' | 'retention_size' | 'retained_from' | 'retained_bytes'> {
  const range = t.journalRange();
  if (range === null) return {};
  const limits = t.retentionLimits;
  return { retention_ms: limits.retention, retention_size: limits.retentionSize, retained_from: range.oldestMs, retained_bytes: range.bytes };
}

function topicReplication(t: Topic): { replication?: { lag_messages: number } } {
  const lag = t.durableMode ? t.nsqd.replication?.topicLag(t.name) : null;
  return lag === null || lag === undefined ? {} : { replication: lag };
}

function memoryStats(): MemoryStats {
  const m = process.memoryUsage();
  return {
    heap_objects: 0,
    heap_idle_bytes: Math.max(0, m.heapTotal - m.heapUsed),
    heap_in_use_bytes: m.heapUsed,
    heap_released_bytes: 0,
    gc_pause_usec_100: 0,
    gc_pause_usec_99: 0,
    gc_pause_usec_95: 0,
    next_gc_bytes: m.heapTotal,
    gc_total_runs: 0,
    rss_bytes: m.rss,
  };
}

export function collectStats(nsqd: NSQD, q: StatsQuery): Stats {
  let topics: TopicStats[] | null = [...nsqd.topics.values()]
    .filter((t) => q.topic === undefined || t.name === q.topic)
    .filter((t) => q.channel === undefined || t.channels.has(q.channel))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((t) => topicStats(t, q.channel, q.includeClients));
  // nsqd answers null (not []) when the topic asked for does not exist
  if (q.topic !== undefined && !nsqd.topics.has(q.topic)) topics = null;
  let producers: ClientStats[] | null = null;
  if (q.includeClients && topics !== null) {
    for (const c of nsqd.clients.values()) {
      if (c.pubCounts.size === 0) continue;
      if (q.topic !== undefined && !c.pubCounts.has(q.topic)) continue;
      (producers ??= []).push(clientStats(c, true));
    }
  }
  const stats: Stats = { version: NSQ_VERSION, health: nsqd.pingHealth, start_time: nsqd.startTime, topics };
  if (q.includeMem) stats.memory = memoryStats();
  stats.producers = producers;
  const r = nsqd.replication?.statsIfActive();
  if (r !== undefined) stats.replication = r;
  return stats;
}

const pad = (v: string | number, n: number): string => String(v).padEnd(n);

function clientLine(c: ClientStats, now: number): string {
  const id = pad(`${c.hostname}:${c.remote_address.slice(c.remote_address.lastIndexOf(':') + 1)} ${c.user_agent}`, 21);
  const connected = formatDuration(Math.max(0, Math.floor(now / 1000) - c.connect_ts) * 1000);
  if (c.pub_counts !== undefined && c.pub_counts.length > 0) {
    const total = c.pub_counts.reduce((n, pc) => n + pc.count, 0);
    const topics = c.pub_counts.map((pc) => `${pc.topic}=${pc.count}`).join(',');
    return `[${c.version} ${id}] msgs: ${pad(total, 8)} topics: ${topics} connected: ${connected}`;
  }
  return `[${c.version} ${id}] state: ${c.state} inflt: ${pad(c.in_flight_count, 4)} rdy: ${pad(c.ready_count, 4)} fin: ${pad(c.finish_count, 8)} re-q: ${pad(c.requeue_count, 8)} msgs: ${pad(c.message_count, 8)} connected: ${connected}`;
}

/** The plain-text /stats page, laid out as nsqd prints it. */
export function formatStatsText(stats: Stats, nodeVersion = process.version): string {
  const now = Date.now();
  let out = `nsqd v${stats.version} (built w/node ${nodeVersion})\n`;
  out += `start_time ${new Date(stats.start_time * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')}\n`;
  out += `uptime ${formatDuration(now - stats.start_time * 1000)}\n`;
  out += `\nHealth: ${stats.health}\n`;
  if (stats.memory !== undefined) {
    out += '\nMemory:\n';
    for (const [k, v] of Object.entries(stats.memory)) out += `   ${pad(k, 25)}\t${v}\n`;
  }
  const topics = stats.topics ?? [];
  if (topics.length === 0) {
    out += '\nTopics: None\n';
  } else {
    out += '\nTopics:';
    for (const t of topics) {
      out += `\n${t.paused ? '*P ' : '   '}[${pad(t.topic_name, 15)}] depth: ${pad(t.depth, 5)} be-depth: ${pad(t.backend_depth, 5)} msgs: ${pad(t.message_count, 8)} e2e%: ${e2eText(t.e2e_processing_latency)}${retainedText(t)}${t.replication !== undefined ? ` repl-lag: ${t.replication.lag_messages}` : ''}\n`;
      for (const c of t.channels) {
        out += `${c.paused ? '   *P ' : '      '}[${pad(c.channel_name, 25)}] depth: ${pad(c.depth, 5)} be-depth: ${pad(c.backend_depth, 5)} inflt: ${pad(c.in_flight_count, 4)} def: ${pad(c.deferred_count, 4)} re-q: ${pad(c.requeue_count, 5)} timeout: ${pad(c.timeout_count, 5)}${(c.max_attempts ?? 0) > 0 ? ` dead: ${pad(c.dead_lettered_count ?? 0, 5)}` : ''} msgs: ${pad(c.message_count, 8)} e2e%: ${e2eText(c.e2e_processing_latency)}\n`;
        for (const cl of c.clients ?? []) out += `        ${clientLine(cl, now)}\n`;
      }
    }
  }
  const producers = stats.producers ?? [];
  if (producers.length === 0) {
    out += '\nProducers: None\n';
  } else {
    out += '\nProducers:\n';
    for (const p of producers) out += `   ${clientLine(p, now)}\n`;
  }
  const r = stats.replication;
  if (r !== undefined) {
    out += `\nReplication: ${r.name} factor ${r.factor}, ${r.in_sync} of ${r.needed} replica(s) in sync${r.healthy ? '' : r.degraded_mode === 'accept' ? ' (DEGRADED: accepting with fewer copies)' : ' (DEGRADED: refusing durable publishes)'}\n`;
    for (const l of r.links) out += `   replica ${pad(l.address, 21)} ${pad(l.state, 11)} confirmed: ${pad(l.confirmed_seq, 8)} lag: ${pad(l.lag_messages, 8)} msgs ${pad(l.lag_bytes, 10)} bytes  last contact: ${l.last_contact_ms < 0 ? 'never' : `${l.last_contact_ms}ms`}${l.error !== '' ? ` (${l.error})` : ''}\n`;
    for (const m of r.mirrors) {
      out += `   copy of ${pad(m.origin, 21)} ${pad(m.state, 11)} bytes: ${pad(m.bytes, 10)} last contact: ${m.last_contact_ms}ms\n`;
      for (const [topic, bytes] of Object.entries(m.topics)) out += `      [${pad(topic, 20)}] bytes: ${bytes}\n`;
    }
    if (r.taken_over_messages > 0) out += `   taken over: ${r.taken_over_messages} message(s)\n`;
  }
  return out;
}

/** A durable topic's journal on its /stats line: from when, how much, under which limits. */
function retainedText(t: TopicStats): string {
  if (t.retained_bytes === undefined) return '';
  const from = t.retained_from ? new Date(t.retained_from).toISOString() : '-';
  const limits = `${t.retention_ms ? formatDuration(t.retention_ms) : '-'}/${t.retention_size || '-'}`;
  return ` retained: ${t.retained_bytes} bytes from ${from} (retention ${limits})`;
}

function e2eUnit(ns: number): string {
  if (ns > 1e9) return `${(ns / 1e9).toFixed(1)}s`;
  if (ns > 1e6) return `${(ns / 1e6).toFixed(1)}ms`;
  if (ns > 1e3) return `${(ns / 1e3).toFixed(1)}us`;
  return `${ns.toFixed(1)}ns`;
}

function e2eText(r: LatencyResult): string {
  if (r.percentiles === null || r.percentiles.length === 0) return '';
  return r.percentiles.map((p) => e2eUnit(p.value)).join(', ');
}

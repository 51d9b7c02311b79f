// nsqadmin 1.3's JSON shapes (internal/clusterinfo/types.go): a topic or channel as one node has
// it, and summed over the nodes (node "*", with each node's own entry under `nodes`). Built from
// nsqd's /stats answers; field names and meanings as nsqadmin's, so tools that read nsqadmin's API
// read ours.

import type { ChannelStats, ClientStats, LatencyResult, Stats, TopicStats } from '../protocol/stats-json.js';

export interface AdminLatency {
  count: number;
  percentiles: { quantile: number; max: number; min: number; average: number; count: number }[];
  topic: string;
  channel: string;
  host: string;
}

export interface AdminClient {
  node: string;
  remote_address: string;
  name: string;
  version: string;
  client_id: string;
  hostname: string;
  user_agent: string;
  connect_ts: number;
  /** nanoseconds connected (Go's time.Duration) */
  connected: number;
  in_flight_count: number;
  ready_count: number;
  finish_count: number;
  requeue_count: number;
  message_count: number;
  sample_rate: number;
  deflate: boolean;
  snappy: boolean;
  authed: boolean;
  auth_identity: string;
  auth_identity_url: string;
  tls: boolean;
  tls_cipher_suite: string;
  tls_version: string;
  tls_negotiated_protocol: string;
  tls_negotiated_protocol_is_mutual: boolean;
}

export interface AdminChannel {
  node: string;
  hostname: string;
  topic_name: string;
  channel_name: string;
  depth: number;
  memory_depth: number;
  backend_depth: number;
  in_flight_count: number;
  deferred_count: number;
  requeue_count: number;
  timeout_count: number;
  message_count: number;
  nodes: AdminChannel[];
  clients: AdminClient[];
  paused: boolean;
  e2e_processing_latency: AdminLatency;
  /** ours (docs/dead-letters.md), absent for Go nsqd nodes */
  dead_lettered_count?: number;
}

export interface AdminTopic {
  node: string;
  hostname: string;
  topic_name: string;
  depth: number;
  memory_depth: number;
  backend_depth: number;
  message_count: number;
  nodes: AdminTopic[];
  channels: AdminChannel[];
  paused: boolean;
  e2e_processing_latency: AdminLatency;
}

function latency(l: LatencyResult | undefined, host: string, topic: string, channel = ''): AdminLatency {
  return {
    count: l?.count ?? 0,
    percentiles: (l?.percentiles ?? []).map((p) => ({ quantile: p.quantile, max: p.value, min: p.value, average: p.value, count: 1 })),
    topic,
    channel,
    host,
  };
}

/** nsqadmin's aggregate: per quantile the max and min over the nodes, the average, how many nodes had it. */
function addLatency(into: AdminLatency, a: AdminLatency): void {
  into.count += a.count;
  for (const p of a.percentiles) {
    const q = into.percentiles.find((x) => x.quantile === p.quantile);
    if (q === undefined) {
      into.percentiles.push({ ...p });
      continue;
    }
    q.max = Math.max(q.max, p.max);
    q.min = Math.min(q.min, p.min);
    q.average = (q.average * q.count + p.average * p.count) / (q.count + p.count);
    q.count += p.count;
  }
  into.percentiles.sort((x, y) => y.quantile - x.quantile);
}

function client(c: ClientStats, node: string, nowMs: number): AdminClient {
  return {
    node,
    remote_address: c.remote_address,
    name: c.hostname,
    version: c.version,
    client_id: c.client_id,
    hostname: c.hostname,
    user_agent: c.user_agent,
    connect_ts: c.connect_ts,
    connected: Math.max(0, Math.floor(nowMs / 1000) - c.connect_ts) * 1e9,
    in_flight_count: c.in_flight_count,
    ready_count: c.ready_count,
    finish_count: c.finish_count,
    requeue_count: c.requeue_count,
    message_count: c.message_count,
    sample_rate: c.sample_rate,
    deflate: c.deflate,
    snappy: c.snappy,
    authed: c.authed ?? false,
    auth_identity: c.auth_identity ?? '',
    auth_identity_url: c.auth_identity_url ?? '',
    tls: c.tls ?? false,
    tls_cipher_suite: c.tls_cipher_suite ?? '',
    tls_version: c.tls_version ?? '',
    tls_negotiated_protocol: c.tls_negotiated_protocol ?? '',
    tls_negotiated_protocol_is_mutual: c.tls_negotiated_protocol_is_mutual ?? false,
  };
}

/** One node's channel, as nsqadmin shows it. */
export function nodeChannel(c: ChannelStats, topic: string, node: string, hostname: string, nowMs: number): AdminChannel {
  const out: AdminChannel = {
    node,
    hostname,
    topic_name: topic,
    channel_name: c.channel_name,
    depth: c.depth,
    memory_depth: c.depth - c.backend_depth,
    backend_depth: c.backend_depth,
    in_flight_count: c.in_flight_count,
    deferred_count: c.deferred_count,
    requeue_count: c.requeue_count,
    timeout_count: c.timeout_count,
    message_count: c.message_count,
    nodes: [],
    clients: (c.clients ?? []).map((x) => client(x, node, nowMs)),
    paused: c.paused,
    e2e_processing_latency: latency(c.e2e_processing_latency, node, topic, c.channel_name),
  };
  if (c.dead_lettered_count !== undefined) out.dead_lettered_count = c.dead_lettered_count;
  return out;
}

/** One node's topic, with that node's channels. */
export function nodeTopic(t: TopicStats, node: string, hostname: string, nowMs: number): AdminTopic {
  return {
    node,
    hostname,
    topic_name: t.topic_name,
    depth: t.depth,
    memory_depth: t.depth - t.backend_depth,
    backend_depth: t.backend_depth,
    message_count: t.message_count,
    nodes: [],
    channels: (t.channels ?? []).map((c) => nodeChannel(c, t.topic_name, node, hostname, nowMs)),
    paused: t.paused,
    e2e_processing_latency: latency(t.e2e_processing_latency, node, t.topic_name),
  };
}

const byHostname = <T extends { hostname: string; node: string }>(a: T, b: T): number => (a.hostname === b.hostname ? (a.node < b.node ? -1 : 1) : a.hostname < b.hostname ? -1 : 1);

/** The sum of one channel over nodes (node "*"), each node's own under `nodes`, every node's clients. */
export function sumChannel(perNode: AdminChannel[], topic: string, channel: string): AdminChannel {
  const sum: AdminChannel = {
    node: '*',
    hostname: '',
    topic_name: topic,
    channel_name: channel,
    depth: 0,
    memory_depth: 0,
    backend_depth: 0,
    in_flight_count: 0,
    deferred_count: 0,
    requeue_count: 0,
    timeout_count: 0,
    message_count: 0,
    nodes: [],
    clients: [],
    paused: false,
    e2e_processing_latency: latency(undefined, '*', topic, channel),
  };
  for (const c of perNode) {
    sum.depth += c.depth;
    sum.memory_depth += c.memory_depth;
    sum.backend_depth += c.backend_depth;
    sum.in_flight_count += c.in_flight_count;
    sum.deferred_count += c.deferred_count;
    sum.requeue_count += c.requeue_count;
    sum.timeout_count += c.timeout_count;
    sum.message_count += c.message_count;
    sum.paused ||= c.paused;
    if (c.dead_lettered_count !== undefined) sum.dead_lettered_count = (sum.dead_lettered_count ?? 0) + c.dead_lettered_count;
    sum.nodes.push(c);
    sum.clients.push(...c.clients);
    addLatency(sum.e2e_processing_latency, c.e2e_processing_latency);
  }
  sum.nodes.sort(byHostname);
  sum.clients.sort(byHostname);
  return sum;
}

/** The sum of one topic over nodes, with its channels summed over the nodes too. */
export function sumTopic(perNode: AdminTopic[], topic: string): AdminTopic {
  const sum: AdminTopic = {
    node: '*',
    hostname: '',
    topic_name: topic,
    depth: 0,
    memory_depth: 0,
    backend_depth: 0,
    message_count: 0,
    nodes: [],
    channels: [],
    paused: false,
    e2e_processing_latency: latency(undefined, '*', topic),
  };
  const channels = new Map<string, AdminChannel[]>();
  for (const t of perNode) {
    sum.depth += t.depth;
    sum.memory_depth += t.memory_depth;
    sum.backend_depth += t.backend_depth;
    sum.message_count += t.message_count;
    sum.paused ||= t.paused;
    sum.nodes.push(t);
    addLatency(sum.e2e_processing_latency, t.e2e_processing_latency);
    for (const c of t.channels) channels.set(c.channel_name, [...(channels.get(c.channel_name) ?? []), c]);
  }
  sum.nodes.sort(byHostname);
  sum.channels = [...channels.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, cs]) => sumChannel(cs, topic, name));
  return sum;
}

/** The topics of nodes' /stats answers: per node (nodeTopic), keyed by topic name. */
export function topicsOfNodes(answers: { node: string; stats: Stats }[], hostnames: ReadonlyMap<string, string>, nowMs: number): Map<string, AdminTopic[]> {
  const topics = new Map<string, AdminTopic[]>();
  for (const { node, stats } of answers) {
    for (const t of stats.topics ?? []) {
      const list = topics.get(t.topic_name) ?? [];
      list.push(nodeTopic(t, node, hostnames.get(node) ?? node, nowMs));
      topics.set(t.topic_name, list);
    }
  }
  return topics;
}

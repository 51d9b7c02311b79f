// The dashboard's data: turns successive /stats snapshots into rows with rates (from counter
// deltas, as nsq_stat computes them), sparkline history, filtering and sorting, and each node's
// replication (replication.ts). Plain TS, no React.

import type { ChannelStats, ClientStats, LookupdSnapshot, Snapshot, TopicStats } from './poller.js';
import { nodeReplication, takeoversByOrigin, type NodeReplication } from './replication.js';

import { HistoryRing } from './chart.js';

export { humanize, sparkline } from './format.js';

export interface Rates {
  /** messages/s into the topic or channel */
  inRate: number;
  /** messages/s out (delivered and not put back), nsq_stat's egress */
  outRate: number;
  requeueRate: number;
  timeoutRate: number;
}

export interface ChannelRow extends Rates {
  topic: string;
  name: string;
  depth: number;
  memoryDepth: number;
  backendDepth: number;
  inFlight: number;
  deferred: number;
  messageCount: number;
  requeueCount: number;
  timeoutCount: number;
  /** messages moved to the dead-letter topic (dead_lettered_count; 0 from Go nsqd) */
  deadLettered: number;
  consumers: number;
  paused: boolean;
  /** nodes that have this channel */
  nodes: string[];
  history: number[];
  /** depth grew since the last poll while nobody consumes */
  stalled: boolean;
  /** an ordered channel (docs/ordered-channels.md) on some node, and its head's attempts there (the most of any node) */
  ordered: boolean;
  headAttempts: number;
  headId: string;
}

export interface TopicRow extends Rates {
  name: string;
  depth: number;
  backendDepth: number;
  inFlight: number;
  deferred: number;
  messageCount: number;
  /** the sum of its channels' deadLettered */
  deadLettered: number;
  consumers: number;
  paused: boolean;
  nodes: string[];
  channels: ChannelRow[];
  history: number[];
  stalled: boolean;
  /** a dead-letter topic (some channel's dead_letter_topic, or named *.dead) that got messages since the last poll */
  deadGrowing: boolean;
  /** durable topics (nsq serve): what the nodes' journals keep (docs/retention.md); absent when no node says */
  retained?: Retained;
  /** the topic on each node that has it, in the order the nodes were polled (the topic screen's breakdown) */
  perNode: TopicNodeRow[];
}

/** One node's share of a topic. */
export interface TopicNodeRow {
  node: string;
  depth: number;
  backendDepth: number;
  inRate: number;
  /** its channels' out rates, summed */
  outRate: number;
  messageCount: number;
  channels: number;
  consumers: number;
  paused: boolean;
}

/** A channel's own charts (the channel screen): one sample a poll, the last `channelHistory` polls. */
export interface ChannelSeries {
  depth: HistoryRing;
  inFlight: HistoryRing;
  requeueRate: HistoryRing;
  timeoutRate: HistoryRing;
}

/** A topic's retained journal over its nodes: the oldest record's publish time (epoch ms, 0: none) and the bytes. */
export interface Retained {
  fromMs: number;
  bytes: number;
}

export interface NodeStatus {
  address: string;
  up: boolean;
  error?: string;
  version?: string;
  /** what /stats says of its health: OK, or why not (a full disk, too few replicas) */
  health?: string;
  /** /stats start_time (seconds since the epoch) */
  startTime?: number;
  topics: number;
  /** connected consumers, over its channels */
  clients: number;
  /** the node's replication while it answers; undefined without one (Go nsqd, plain nodes) */
  replication?: NodeReplication;
  /** its replication name, remembered from earlier polls while it is down */
  replicationName?: string;
  /** the nodes (replication names) that list this one as taken over */
  takenOverBy: string[];
  /** /stats memory (include_mem=true): the heap in use, and the process's RSS where the node says (nsq serve; Go nsqd does not) */
  heapBytes?: number;
  rssBytes?: number;
}

export interface ClientRow extends ClientStats {
  node: string;
}

export type SortKey = 'name' | 'depth' | 'in' | 'out';
export const SORT_KEYS: SortKey[] = ['name', 'depth', 'in', 'out'];

interface Counters {
  messageCount: number;
  depth: number;
  requeueCount: number;
  timeoutCount: number;
}

const ZERO_RATES: Rates = { inRate: 0, outRate: 0, requeueRate: 0, timeoutRate: 0 };

/** Per-second rates between two samples; a counter that went backwards (node restart) gives 0. */
export function rates(prev: Counters | undefined, cur: Counters, seconds: number): Rates {
  if (prev === undefined || seconds <= 0) return { ...ZERO_RATES };
  const dMsg = cur.messageCount - prev.messageCount;
  if (dMsg < 0 || cur.requeueCount < prev.requeueCount || cur.timeoutCount < prev.timeoutCount) return { ...ZERO_RATES };
  const dDepth = cur.depth - prev.depth;
  return {
    inRate: dMsg / seconds,
    outRate: Math.max(0, dMsg - dDepth) / seconds,
    requeueRate: (cur.requeueCount - prev.requeueCount) / seconds,
    timeoutRate: (cur.timeoutCount - prev.timeoutCount) / seconds,
  };
}

function addRates(a: Rates, b: Rates): void {
  a.inRate += b.inRate;
  a.outRate += b.outRate;
  a.requeueRate += b.requeueRate;
  a.timeoutRate += b.timeoutRate;
}

export class TopModel {
  readonly historyLength: number;
  /** samples a channel's charts keep: --history's, at most 120 (a 60-column chart; 3.8 KB a channel) */
  readonly channelHistory: number;
  #prevAt = 0;
  /** key `node|topic` or `node|topic|channel` → last counters; includes the node's start time */
  #prev = new Map<string, Counters & { start: number; at: number }>();
  /** sparkline samples by `topic` or `topic|channel`, and the poll they were last pushed in (dropped as #series is) */
  #history = new Map<string, { values: number[]; seen: number }>();
  /** `topic|channel` → its charts, and the poll it was last seen in (dropped after historyLength polls unseen) */
  #series = new Map<string, ChannelSeries & { seen: number }>();
  #polls = 0;
  #topics: TopicRow[] = [];
  #nodes: NodeStatus[] = [];
  #clients = new Map<string, ClientRow[]>();
  #lastSnapshot: Snapshot | null = null;
  /** the cluster's messages in and out per second and its total depth, one sample a poll (the overview chart) */
  readonly cluster: { inRate: HistoryRing; outRate: HistoryRing; depth: HistoryRing };
  /** node address → replication name, kept while the node is down so a takeover can be shown on it */
  #names = new Map<string, string>();

  constructor(historyLength = 60, clusterHistory = 600) {
    this.historyLength = historyLength;
    this.channelHistory = Math.max(2, Math.min(120, clusterHistory));
    this.cluster = { inRate: new HistoryRing(clusterHistory), outRate: new HistoryRing(clusterHistory), depth: new HistoryRing(clusterHistory) };
  }

  get snapshot(): Snapshot | null {
    return this.#lastSnapshot;
  }

  update(s: Snapshot): void {
    const seconds = this.#prevAt === 0 ? 0 : (s.at - this.#prevAt) / 1000;
    this.#prevAt = s.at;
    this.#lastSnapshot = s;
    const topics = new Map<string, TopicRow>();
    const channels = new Map<string, ChannelRow>();
    const nextPrev = new Map<string, Counters & { start: number; at: number }>();
    /** the dead-letter topics channels send to (where a limit is set) */
    const deadTopics = new Set<string>();
    this.#clients.clear();
    this.#nodes = s.nodes.map((n) => {
      const replication = n.ok ? nodeReplication(n.stats?.replication) : undefined;
      if (replication !== undefined) this.#names.set(n.address, replication.name);
      else if (n.ok) this.#names.delete(n.address);
      const replicationName = this.#names.get(n.address);
      const mem = n.stats?.memory;
      return {
        address: n.address,
        up: n.ok,
        error: n.error,
        version: n.stats?.version,
        health: n.stats?.health,
        startTime: n.stats?.start_time,
        clients: (n.stats?.topics ?? []).reduce((k, t) => k + (t.channels ?? []).reduce((j, c) => j + (c.client_count ?? c.clients?.length ?? 0), 0), 0),
        topics: n.stats?.topics?.length ?? 0,
        replication,
        replicationName,
        takenOverBy: [],
        ...(mem === undefined ? {} : { heapBytes: mem.heap_in_use_bytes, ...(mem.rss_bytes === undefined ? {} : { rssBytes: mem.rss_bytes }) }),
      };
    });
    const takeovers = takeoversByOrigin(this.#nodes);
    for (const n of this.#nodes) if (n.replicationName !== undefined) n.takenOverBy = takeovers.get(n.replicationName) ?? [];

    for (const node of s.nodes) {
      if (!node.ok || node.stats === undefined) {
        // keep the down node's counters, so its rates resume cleanly when it answers again
        for (const [k, v] of this.#prev) if (k.startsWith(`${node.address}|`)) nextPrev.set(k, v);
        continue;
      }
      const start = node.stats.start_time ?? 0;
      for (const t of node.stats.topics ?? []) {
        const tKey = `${node.address}|${t.topic_name}`;
        const tCounters = topicCounters(t);
        const tPrev = this.#prev.get(tKey);
        const tRates = rates(tPrev !== undefined && tPrev.start === start ? tPrev : undefined, tCounters, tPrev === undefined ? 0 : (s.at - tPrev.at) / 1000);
        nextPrev.set(tKey, { ...tCounters, start, at: s.at });
        let row = topics.get(t.topic_name);
        if (row === undefined) {
          row = { name: t.topic_name, depth: 0, backendDepth: 0, inFlight: 0, deferred: 0, messageCount: 0, deadLettered: 0, consumers: 0, paused: false, nodes: [], channels: [], history: [], stalled: false, deadGrowing: false, perNode: [], ...ZERO_RATES };
          topics.set(t.topic_name, row);
        }
        const share: TopicNodeRow = { node: node.address, depth: t.depth, backendDepth: t.backend_depth ?? 0, inRate: tRates.inRate, outRate: 0, messageCount: t.message_count, channels: (t.channels ?? []).length, consumers: 0, paused: t.paused === true };
        row.perNode.push(share);
        row.depth += t.depth;
        row.backendDepth += t.backend_depth ?? 0;
        row.messageCount += t.message_count;
        row.paused ||= t.paused === true;
        row.nodes.push(node.address);
        row.inRate += tRates.inRate;
        if (t.retained_bytes !== undefined) addRetained(row, t.retained_from ?? 0, t.retained_bytes);
        for (const c of t.channels ?? []) {
          const cKey = `${tKey}|${c.channel_name}`;
          const cCounters = channelCounters(c);
          const cPrev = this.#prev.get(cKey);
          const cRates = rates(cPrev !== undefined && cPrev.start === start ? cPrev : undefined, cCounters, cPrev === undefined ? 0 : (s.at - cPrev.at) / 1000);
          nextPrev.set(cKey, { ...cCounters, start, at: s.at });
          const rowKey = `${t.topic_name}|${c.channel_name}`;
          let ch = channels.get(rowKey);
          if (ch === undefined) {
            ch = {
              topic: t.topic_name,
              name: c.channel_name,
              depth: 0,
              memoryDepth: 0,
              backendDepth: 0,
              inFlight: 0,
              deferred: 0,
              messageCount: 0,
              requeueCount: 0,
              timeoutCount: 0,
              deadLettered: 0,
              consumers: 0,
              paused: false,
              nodes: [],
              history: [],
              stalled: false,
              ordered: false,
              headAttempts: 0,
              headId: '',
              ...ZERO_RATES,
            };
            channels.set(rowKey, ch);
            row.channels.push(ch);
          }
          ch.depth += c.depth;
          ch.backendDepth += c.backend_depth ?? 0;
          ch.memoryDepth += c.depth - (c.backend_depth ?? 0);
          ch.inFlight += c.in_flight_count;
          ch.deferred += c.deferred_count;
          ch.messageCount += c.message_count;
          ch.requeueCount += c.requeue_count;
          ch.timeoutCount += c.timeout_count;
          ch.deadLettered += c.dead_lettered_count ?? 0;
          if ((c.max_attempts ?? 0) > 0 && c.dead_letter_topic !== undefined) deadTopics.add(c.dead_letter_topic);
          ch.consumers += c.client_count ?? c.clients?.length ?? 0;
          ch.paused ||= c.paused === true;
          if (c.ordered === true) {
            ch.ordered = true;
            if ((c.head_attempts ?? 0) > ch.headAttempts) {
              ch.headAttempts = c.head_attempts ?? 0;
              ch.headId = c.head_id ?? '';
            }
          }
          ch.nodes.push(node.address);
          addRates(ch, cRates);
          share.outRate += cRates.outRate;
          share.consumers += c.client_count ?? c.clients?.length ?? 0;
          ch.stalled ||= cPrev !== undefined && c.depth > cPrev.depth && (c.client_count ?? 0) === 0;
          const clients = this.#clients.get(rowKey) ?? [];
          for (const cl of c.clients ?? []) clients.push({ ...cl, node: node.address });
          this.#clients.set(rowKey, clients);
        }
        row.stalled ||= tPrev !== undefined && t.depth > tPrev.depth && (t.channels ?? []).length === 0;
      }
    }

    this.#polls++;
    for (const row of topics.values()) {
      // a dead-letter topic that grows: messages are failing somewhere
      row.deadGrowing = (deadTopics.has(row.name) || row.name.endsWith('.dead')) && row.inRate > 0;
      for (const ch of row.channels) {
        row.deadLettered += ch.deadLettered;
        row.inFlight += ch.inFlight;
        row.deferred += ch.deferred;
        row.consumers += ch.consumers;
        row.outRate += ch.outRate;
        row.requeueRate += ch.requeueRate;
        row.timeoutRate += ch.timeoutRate;
        row.stalled ||= ch.stalled;
        if (seconds > 0) ch.history = this.#pushHistory(`${row.name}|${ch.name}`, ch.outRate);
        else ch.history = this.#history.get(`${row.name}|${ch.name}`)?.values ?? [];
        this.#record(`${row.name}|${ch.name}`, ch, seconds > 0);
      }
      if (seconds > 0) row.history = this.#pushHistory(row.name, row.inRate);
      else row.history = this.#history.get(row.name)?.values ?? [];
    }
    // a channel not seen for as long as its charts reach back is gone (deleted, or its node is)
    for (const [k, v] of this.#series) if (this.#polls - v.seen > this.channelHistory) this.#series.delete(k);
    for (const [k, v] of this.#history) if (this.#polls - v.seen > this.channelHistory) this.#history.delete(k);
    this.#prev = nextPrev;
    this.#topics = [...topics.values()];
    if (seconds > 0) {
      const t = this.totals();
      this.cluster.inRate.push(t.inRate);
      this.cluster.outRate.push(t.outRate);
      this.cluster.depth.push(t.depth);
    }
  }

  /** A channel's samples for its charts: its depth and in-flight count at every poll, its rates once there are two polls. */
  #record(key: string, ch: ChannelRow, withRates: boolean): void {
    let s = this.#series.get(key);
    if (s === undefined) {
      const n = this.channelHistory;
      s = { depth: new HistoryRing(n), inFlight: new HistoryRing(n), requeueRate: new HistoryRing(n), timeoutRate: new HistoryRing(n), seen: 0 };
      this.#series.set(key, s);
    }
    s.seen = this.#polls;
    s.depth.push(ch.depth);
    s.inFlight.push(ch.inFlight);
    if (withRates) {
      s.requeueRate.push(ch.requeueRate);
      s.timeoutRate.push(ch.timeoutRate);
    }
  }

  /** A channel's charts over the last polls; undefined for a channel not seen. */
  channelSeries(topic: string, channel: string): ChannelSeries | undefined {
    return this.#series.get(`${topic}|${channel}`);
  }

  #pushHistory(key: string, value: number): number[] {
    let h = this.#history.get(key);
    if (h === undefined) this.#history.set(key, (h = { values: [], seen: 0 }));
    h.seen = this.#polls;
    h.values.push(value);
    if (h.values.length > this.historyLength) h.values.splice(0, h.values.length - this.historyLength);
    return h.values;
  }


  get nodes(): NodeStatus[] {
    return this.#nodes;
  }

  /** the lookupds asked for the nodes in the last poll (none without --lookupd-http-address) */
  get lookupds(): LookupdSnapshot[] {
    return this.#lastSnapshot?.lookupds ?? [];
  }

  /** Topics (with their channels) matching `filter` (a substring of the topic or a channel name), sorted. */
  topics(filter = '', sort: SortKey = 'name'): TopicRow[] {
    const f = filter.toLowerCase();
    const out: TopicRow[] = [];
    for (const t of this.#topics) {
      const topicMatches = f === '' || t.name.toLowerCase().includes(f);
      const chans = topicMatches ? t.channels : t.channels.filter((c) => c.name.toLowerCase().includes(f));
      if (!topicMatches && chans.length === 0) continue;
      out.push({ ...t, channels: [...chans].sort(comparator(sort)) });
    }
    return out.sort(comparator(sort));
  }

  topic(name: string): TopicRow | undefined {
    return this.#topics.find((t) => t.name === name);
  }

  clients(topic: string, channel: string): ClientRow[] {
    return this.#clients.get(`${topic}|${channel}`) ?? [];
  }

  /** Totals for the header line; the node counts are of nsqd nodes only, never lookupds. */
  totals(): { nodesUp: number; nodesDown: number; inRate: number; outRate: number; depth: number; topics: number } {
    let inRate = 0;
    let outRate = 0;
    let depth = 0;
    for (const t of this.#topics) {
      inRate += t.inRate;
      outRate += t.outRate;
      depth += t.depth;
      for (const c of t.channels) depth += c.depth;
    }
    const nodesUp = this.#nodes.filter((n) => n.up).length;
    return { nodesUp, nodesDown: this.#nodes.length - nodesUp, inRate, outRate, depth, topics: this.#topics.length };
  }
}

function addRetained(row: TopicRow, fromMs: number, bytes: number): void {
  const r = (row.retained ??= { fromMs: 0, bytes: 0 });
  r.bytes += bytes;
  if (fromMs > 0 && (r.fromMs === 0 || fromMs < r.fromMs)) r.fromMs = fromMs;
}

function topicCounters(t: TopicStats): Counters {
  return { messageCount: t.message_count, depth: t.depth, requeueCount: 0, timeoutCount: 0 };
}

function channelCounters(c: ChannelStats): Counters {
  return { messageCount: c.message_count, depth: c.depth, requeueCount: c.requeue_count, timeoutCount: c.timeout_count };
}

function comparator(sort: SortKey): (a: { name: string; depth: number; inRate: number; outRate: number }, b: { name: string; depth: number; inRate: number; outRate: number }) => number {
  const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  switch (sort) {
    case 'depth':
      return (a, b) => b.depth - a.depth || byName(a, b);
    case 'in':
      return (a, b) => b.inRate - a.inRate || byName(a, b);
    case 'out':
      return (a, b) => b.outRate - a.outRate || byName(a, b);
    default:
      return byName;
  }
}

// Test helpers for looking at a running engine from outside: /stats over HTTP, and polling.

import type { NSQD } from '../../src/nsqd/nsqd.js';
import type { ReplicationStats } from '../../src/nsqd/replication.js';

export interface ClientJson {
  client_id: string;
  hostname: string;
  version: string;
  remote_address: string;
  state: number;
  ready_count: number;
  in_flight_count: number;
  message_count: number;
  finish_count: number;
  requeue_count: number;
  user_agent: string;
  pub_counts?: { topic: string; count: number }[];
}

export interface ChannelJson {
  channel_name: string;
  depth: number;
  backend_depth: number;
  in_flight_count: number;
  deferred_count: number;
  message_count: number;
  requeue_count: number;
  timeout_count: number;
  client_count: number;
  clients: ClientJson[] | null;
  paused: boolean;
}

export interface TopicJson {
  topic_name: string;
  channels: ChannelJson[];
  depth: number;
  backend_depth: number;
  message_count: number;
  message_bytes: number;
  paused: boolean;
}

export interface StatsJson {
  version: string;
  health: string;
  start_time: number;
  topics: TopicJson[] | null;
  producers: ClientJson[] | null;
  /** a node that replicates or holds copies (docs/replication.md, Visibility) */
  replication?: ReplicationStats;
}

export function httpBase(nsqd: NSQD): string {
  return `http://127.0.0.1:${nsqd.httpEndpoint.port}`;
}

/** GET /stats?format=json (plus any extra query). */
export async function getStats(nsqd: NSQD, query = ''): Promise<StatsJson> {
  const res = await fetch(`${httpBase(nsqd)}/stats?format=json${query}`, { signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`/stats answered ${res.status}`);
  return (await res.json()) as StatsJson;
}

export async function topicStats(nsqd: NSQD, topic: string): Promise<TopicJson | undefined> {
  const s = await getStats(nsqd);
  return (s.topics ?? []).find((t) => t.topic_name === topic);
}

export async function channelStats(nsqd: NSQD, topic: string, channel: string): Promise<ChannelJson | undefined> {
  return (await topicStats(nsqd, topic))?.channels.find((c) => c.channel_name === channel);
}

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 5000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await delay(everyMs);
  }
}

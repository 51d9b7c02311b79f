// Test helpers for looking at a running engine from outside: /stats over HTTP, and polling.

import type { NSQD } from '../../src/nsqd/nsqd.js';

/** /stats JSON as the engine writes it (one definition: src/protocol/stats-json.ts). */
export type { ChannelStats as ChannelJson, ClientStats as ClientJson, Stats as StatsJson, TopicStats as TopicJson } from '../../src/protocol/stats-json.js';
import type { ChannelStats as ChannelJson, Stats as StatsJson, TopicStats as TopicJson } from '../../src/protocol/stats-json.js';

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

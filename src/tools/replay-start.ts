// `nsq tail --since/--from-start` and `nsq to-file --from` (docs/retention.md): the channel is created
// on every node of the topic with /channel/create?from= before the consumer subscribes, so it starts
// from the node's retained journal instead of from now.

import { httpAddressOf, httpBase, lookupTopicProducers } from '../client/discovery.js';
import { answerMessage } from '../client/admin.js';
import { fetchWithin } from '../client/http.js';
import { UserError } from '../util/errors.js';

export interface ReplayStartOptions {
  topics: string[];
  channel: string;
  /** what /channel/create's from= takes: earliest, latest, an RFC 3339 time or unix ms */
  from: string;
  /** the nodes' HTTP addresses (used without lookupds) */
  nsqdHttpAddresses: string[];
  /** when given, each topic's nodes are the ones these lookupds list */
  lookupdHttpAddresses: string[];
  authSecret: string;
  /** the tool's name for the messages: `nsq tail` says --since, `nsq to-file` --from */
  flag: string;
  timeoutMs?: number;
}

/** What a node answered the create: where the channel starts, and the topic's limits when it says them. */
interface CreateAnswer {
  start_id?: string;
  retention_ms?: number;
  retention_size?: number;
}

/** What the server's codes mean to someone who typed the flag, in one line each. */
const WHY: Record<string, string> = {
  NOT_DURABLE: 'the topic is not durable there, and a plain topic keeps nothing once delivered; start nsq serve with --durable or --durable-topic, and --retention',
  CHANNEL_EXISTS: 'the channel exists there, and a start point is only for a new channel; give another --channel, or leave the flag out to carry on where the channel is',
  TOPIC_HOLDS_MESSAGES: 'the topic holds messages for its first channel there, which would go to nobody; create its first channel without a start point first',
  TOPIC_NOT_FOUND: 'the topic does not exist there',
  INVALID_ARG_FROM: 'the node does not understand the start point',
};

/** What createChannelsFrom did: warnings to print, and how to take the channels away again. */
export interface ReplayStart {
  /** a topic without retention on a node: only what some channel has not finished is replayed */
  warnings: string[];
  /**
   * Deletes the channels it created (best effort): for when the consumer cannot start. A replaying
   * channel nobody consumes would hold its topic's journal (compaction keeps what it has not read)
   * until the node restarts, for an ephemeral one, or for ever.
   */
  undo(): Promise<void>;
}

/**
 * Creates `channel` at `from` on every node of every topic; throws a one-line UserError naming the
 * node and the reason when one refuses, after deleting the ones it had created.
 */
export async function createChannelsFrom(o: ReplayStartOptions): Promise<ReplayStart> {
  const warnings: string[] = [];
  const created: { node: string; topic: string }[] = [];
  const undo = async (): Promise<void> => {
    const headers: Record<string, string> = o.authSecret ? { Authorization: `Bearer ${o.authSecret}` } : {};
    await Promise.all(
      created.map(({ node, topic }) =>
        fetchWithin(`${httpBase(node)}/channel/delete?${new URLSearchParams({ topic, channel: o.channel })}`, { method: 'POST', headers }, o.timeoutMs ?? 5000, node).catch(() => {}),
      ),
    );
  };
  try {
    await createAll(o, created, warnings);
  } catch (err) {
    await undo();
    throw err;
  }
  return { warnings, undo };
}

async function createAll(o: ReplayStartOptions, created: { node: string; topic: string }[], warnings: string[]): Promise<void> {
  const query = (topic: string): string => `/channel/create?${new URLSearchParams({ topic, channel: o.channel, from: o.from })}`;
  for (const topic of o.topics) {
    let nodes = o.nsqdHttpAddresses;
    if (o.lookupdHttpAddresses.length > 0) {
      try {
        nodes = (await lookupTopicProducers(o.lookupdHttpAddresses, topic, o.timeoutMs)).map(httpAddressOf);
      } catch (err) {
        throw new UserError(`${o.flag}: cannot ask lookupd for the nodes of ${topic}: ${(err as Error).message}`, 'E_LOOKUPD', 1);
      }
      if (nodes.length === 0) throw new UserError(`${o.flag}: lookupd knows no node with topic ${topic}: there is nothing retained to start from`, 'E_NO_NODE', 1);
    }
    for (const node of nodes) {
      const answer = await create(node, query(topic), o);
      created.push({ node, topic });
      if (answer.retention_ms === 0 && answer.retention_size === 0) {
        warnings.push(`${topic} @ ${node}: the topic has no retention (--retention, or POST /topic/config): only what some channel has not finished yet is kept to replay`);
      }
    }
  }
}

async function create(node: string, path: string, o: ReplayStartOptions): Promise<CreateAnswer> {
  const headers: Record<string, string> = o.authSecret ? { Authorization: `Bearer ${o.authSecret}` } : {};
  let status: number;
  let text: string;
  try {
    ({ status, text } = await fetchWithin(`${httpBase(node)}${path}`, { method: 'POST', headers }, o.timeoutMs ?? 5000, node));
  } catch (err) {
    throw new UserError(`${o.flag}: cannot create channel ${o.channel}: ${(err as Error).message}`, 'E_CONNECT', 1);
  }
  if (status < 200 || status >= 300) {
    const code = answerMessage(text);
    const why = WHY[code];
    throw new UserError(`${o.flag}: ${node} refused to create channel ${o.channel}: ${status} ${code}${why === undefined ? '' : `: ${why}`}`, /^[A-Z_]+$/.test(code) ? `E_${code}` : 'E_HTTP', 1);
  }
  try {
    return JSON.parse(text) as CreateAnswer;
  } catch {
    // a node that created the channel but answered something else (an older nsq): nothing to tell
    return {};
  }
}

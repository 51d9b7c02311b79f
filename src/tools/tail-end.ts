// `nsq tail -e`: whether the tail has reached the end of its channels. nsqd has no end-of-stream,
// so every node is asked over HTTP (/stats for the topic and channel): the end is nothing ready
// (in memory or on disk, in the topic or the channel) and nothing in flight, on every node.
// Deferred messages not yet due are not waited for.

import { httpAddressOf, httpBase, lookupTopicProducers } from '../client/discovery.js';
import { fetchWithin } from '../client/http.js';
import { NsqError } from '../client/connection.js';
import { parseAddress } from '../client/producer.js';

export interface EndCheckOptions {
  topics: string[];
  channel: string;
  /** the nodes' HTTP addresses, paired in order with `nsqdTcpAddresses` */
  nsqdHttpAddresses: string[];
  nsqdTcpAddresses: string[];
  /** when given, the topic's nodes are the ones these lookupds list */
  lookupdHttpAddresses: string[];
  /** sent as the bearer of the requests (nodes started with --auth-http-api) */
  authSecret: string;
  timeoutMs?: number;
}

interface StatsAnswer {
  topics?: { topic_name: string; depth: number; channels?: { channel_name: string; depth: number; in_flight_count: number }[] }[];
}

export class EndCheck {
  #o: EndCheckOptions;
  #verified = false;

  constructor(o: EndCheckOptions) {
    this.#o = o;
  }

  /** True when every node has nothing ready and nothing in flight for every topic's channel; throws when a node cannot be asked. */
  async atEnd(): Promise<boolean> {
    if (!this.#verified) await this.#verifyPairs();
    for (const topic of this.#o.topics) {
      const nodes = await this.#nodes(topic);
      const answers = await Promise.all(nodes.map((node) => this.#left(node, topic)));
      if (answers.some((n) => n > 0)) return false;
    }
    return true;
  }

  async #nodes(topic: string): Promise<string[]> {
    const o = this.#o;
    if (o.lookupdHttpAddresses.length === 0) return o.nsqdHttpAddresses;
    return (await lookupTopicProducers(o.lookupdHttpAddresses, topic, o.timeoutMs)).map(httpAddressOf);
  }

  async #get(node: string, path: string): Promise<Record<string, unknown>> {
    const headers: Record<string, string> = this.#o.authSecret ? { Authorization: `Bearer ${this.#o.authSecret}` } : {};
    const { status, text } = await fetchWithin(`${httpBase(node)}${path}`, { headers }, this.#o.timeoutMs ?? 5000, node);
    if (status !== 200) throw new NsqError('E_HTTP', `${node}${path.replace(/\?.*/, '')} answered ${status} ${text.trim()}`.trimEnd());
    const body = JSON.parse(text) as Record<string, unknown>;
    // nsqd before 1.0 wrapped its answers in {status_code, data}
    return (typeof body['data'] === 'object' && body['data'] !== null ? body['data'] : body) as Record<string, unknown>;
  }

  /** Messages ready or in flight for the channel on one node (a topic or channel it does not have: 0). */
  async #left(node: string, topic: string): Promise<number> {
    const q = new URLSearchParams({ format: 'json', topic, channel: this.#o.channel, include_clients: 'false' });
    const s = (await this.#get(node, `/stats?${q}`)) as StatsAnswer;
    const t = s.topics?.find((x) => x.topic_name === topic);
    if (t === undefined) return 0;
    const c = t.channels?.find((x) => x.channel_name === this.#o.channel);
    return t.depth + (c === undefined ? 0 : c.depth + c.in_flight_count);
  }

  /** --nsqd-http-address values are paired with --nsqd-tcp-address in order: each must be the same node (its /info says its TCP port). */
  async #verifyPairs(): Promise<void> {
    const o = this.#o;
    if (o.lookupdHttpAddresses.length === 0) {
      await Promise.all(
        o.nsqdHttpAddresses.map(async (http, i) => {
          const tcp = o.nsqdTcpAddresses[i];
          if (tcp === undefined) return;
          const info = await this.#get(http, '/info');
          const port = parseAddress(tcp).port;
          if (typeof info['tcp_port'] === 'number' && info['tcp_port'] !== port) {
            throw new NsqError('E_BAD_PAIR', `--nsqd-http-address ${http} is the node with TCP port ${info['tcp_port']}, not --nsqd-tcp-address ${tcp} (give them in the same order)`);
          }
        }),
      );
    }
    this.#verified = true;
  }
}

// Pushes nsqd's statsd metrics over UDP every --statsd-interval, with nsqd's names:
// topic.<t>.message_count (counter), topic.<t>.depth (gauge), topic.<t>.channel.<c>.in_flight_count ...
// and, on a node that replicates or holds copies, /metrics' replication figures as replication.*.

import { createSocket, type Socket } from 'node:dgram';
import type { NSQD } from './nsqd.js';

interface Last {
  messageCount: number;
  messageBytes: number;
  requeueCount: number;
  timeoutCount: number;
  deadLetteredCount: number;
}

/** A host:port as one statsd key segment: `127.0.0.1:4150` → `127_0_0_1_4150` (dots would nest, `:` ends the key). */
export function statName(address: string): string {
  return address.replace(/[^A-Za-z0-9_-]/g, '_');
}

export class StatsdPusher {
  #nsqd: NSQD;
  #socket: Socket;
  #host: string;
  #port: number;
  #timer: NodeJS.Timeout;
  #last = new Map<string, Last>();
  #lastTakenOver = 0;

  constructor(nsqd: NSQD) {
    this.#nsqd = nsqd;
    const o = nsqd.options;
    const i = o.statsdAddress.lastIndexOf(':');
    this.#host = o.statsdAddress.slice(0, i).replace(/^\[|\]$/g, '') || '127.0.0.1';
    this.#port = Number(o.statsdAddress.slice(i + 1));
    this.#socket = createSocket(this.#host.includes(':') ? 'udp6' : 'udp4');
    this.#socket.on('error', (err) => nsqd.logger.error(`STATSD: ${err.message}`));
    this.#socket.unref();
    this.#timer = setInterval(() => this.push(), o.statsdInterval);
    this.#timer.unref();
  }

  /** nsq.%s with %s = <broadcast address>_<http port>, dots made underscores, ending in a dot. */
  prefix(): string {
    const o = this.#nsqd.options;
    const host = `${o.broadcastAddress}_${o.broadcastHttpPort || this.#nsqd.httpEndpoint.port}`.replace(/\./g, '_');
    const p = o.statsdPrefix.replace('%s', host);
    return p === '' || p.endsWith('.') ? p : `${p}.`;
  }

  #delta(key: string, cur: Last): Last {
    const prev = this.#last.get(key) ?? { messageCount: 0, messageBytes: 0, requeueCount: 0, timeoutCount: 0, deadLetteredCount: 0 };
    this.#last.set(key, cur);
    return {
      messageCount: Math.max(0, cur.messageCount - prev.messageCount),
      messageBytes: Math.max(0, cur.messageBytes - prev.messageBytes),
      requeueCount: Math.max(0, cur.requeueCount - prev.requeueCount),
      timeoutCount: Math.max(0, cur.timeoutCount - prev.timeoutCount),
      deadLetteredCount: Math.max(0, cur.deadLetteredCount - prev.deadLetteredCount),
    };
  }

  /** The metric lines of one push. */
  lines(): string[] {
    const o = this.#nsqd.options;
    const p = this.prefix();
    const out: string[] = [];
    const c = (stat: string, v: number): void => void out.push(`${p}${stat}:${v}|c`);
    const g = (stat: string, v: number): void => void out.push(`${p}${stat}:${v}|g`);
    for (const t of this.#nsqd.topics.values()) {
      if (o.statsdExcludeEphemeral && t.ephemeral) continue;
      const d = this.#delta(t.name, { messageCount: t.messageCount, messageBytes: t.messageBytes, requeueCount: 0, timeoutCount: 0, deadLetteredCount: 0 });
      c(`topic.${t.name}.message_count`, d.messageCount);
      c(`topic.${t.name}.message_bytes`, d.messageBytes);
      g(`topic.${t.name}.depth`, t.depth);
      g(`topic.${t.name}.backend_depth`, t.backendDepth);
      for (const ch of t.channels.values()) {
        if (o.statsdExcludeEphemeral && ch.ephemeral) continue;
        const k = `topic.${t.name}.channel.${ch.name}`;
        const cd = this.#delta(k, { messageCount: ch.messageCount, messageBytes: 0, requeueCount: ch.requeueCount, timeoutCount: ch.timeoutCount, deadLetteredCount: ch.deadLetteredCount });
        c(`${k}.message_count`, cd.messageCount);
        g(`${k}.depth`, ch.depth);
        g(`${k}.backend_depth`, ch.backendDepth);
        g(`${k}.in_flight_count`, ch.inFlightCount);
        g(`${k}.deferred_count`, ch.deferredCount);
        c(`${k}.requeue_count`, cd.requeueCount);
        c(`${k}.timeout_count`, cd.timeoutCount);
        c(`${k}.dead_lettered_count`, cd.deadLetteredCount);
        g(`${k}.clients`, ch.clients.length);
      }
    }
    // the same figures and the same condition as /metrics (metrics.ts): none on a node without replication
    const r = this.#nsqd.replication?.statsIfActive();
    if (r !== undefined) {
      g('replication.in_sync', r.in_sync);
      g('replication.needed', r.needed);
      g('replication.lag_bytes', r.links.reduce((n, l) => n + l.lag_bytes, 0));
      g('replication.lag_messages', r.links.reduce((n, l) => Math.max(n, l.lag_messages), 0));
      for (const l of r.links) {
        const k = `replication.replica.${statName(l.address)}`;
        g(`${k}.in_sync`, l.state === 'in_sync' ? 1 : 0);
        g(`${k}.lag_bytes`, l.lag_bytes);
        g(`${k}.lag_messages`, l.lag_messages);
      }
      c('replication.taken_over', Math.max(0, r.taken_over_messages - this.#lastTakenOver));
      this.#lastTakenOver = r.taken_over_messages;
    }
    if (o.statsdMemStats) {
      const m = process.memoryUsage();
      g('mem.heap_in_use_bytes', m.heapUsed);
      g('mem.heap_idle_bytes', Math.max(0, m.heapTotal - m.heapUsed));
      g('mem.next_gc_bytes', m.heapTotal);
    }
    return out;
  }

  /** Sends the metrics, packed into datagrams of at most --statsd-udp-packet-size bytes. */
  push(): void {
    const size = this.#nsqd.options.statsdUdpPacketSize;
    let packet = '';
    const send = (): void => {
      if (packet !== '') this.#socket.send(packet, this.#port, this.#host);
      packet = '';
    };
    for (const line of this.lines()) {
      if (packet !== '' && Buffer.byteLength(packet) + 1 + Buffer.byteLength(line) > size) send();
      packet = packet === '' ? line : `${packet}\n${line}`;
    }
    send();
  }

  close(): void {
    clearInterval(this.#timer);
    this.#socket.close();
  }
}

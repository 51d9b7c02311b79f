// `nsq to-http` (nsq_to_http): consume a topic and GET or POST every message to HTTP endpoints.
// A message is finished only once the endpoint (every endpoint, with --mode=multicast) answered
// 2xx; any other answer, an error or a timeout requeues it (go-nsq's delay: the attempts times
// default_requeue_delay) and slows the consumer down (backoff), so nothing is lost while an
// endpoint is down. At most --n requests run at once; the other delivered messages wait here.

import { performance } from 'node:perf_hooks';
import type { Message } from '../client/connection.js';
import type { Consumer } from '../client/consumer.js';
import { useTlsForHttps } from '../client/http.js';
import type { Logger } from '../util/log.js';
import { HostPool } from './relay/host-pool.js';
import { RelayMetrics, runRelay, sourceConsumer, type Relay } from './relay/run.js';
import type { ToHttpOptions } from './to-http/options.js';
import { getUrl, Sender } from './to-http/request.js';

interface Job {
  msg: Message;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class ToHttp implements Relay {
  #o: ToHttpOptions;
  #log: Logger;
  #consumer: Consumer;
  #sender: Sender;
  #pool: HostPool;
  #metrics: RelayMetrics;
  #active = 0;
  #waiting: Job[] = [];
  #stopping = false;
  #started = false;
  /** which messages this process sent, by outcome (for tests and the stop line) */
  readonly counts = { sent: 0, failed: 0, skipped: 0 };

  constructor(opts: ToHttpOptions, logger: Logger) {
    this.#o = opts;
    this.#log = logger;
    this.#sender = new Sender({ connectTimeout: opts.connectTimeout, requestTimeout: opts.requestTimeout, maxSockets: opts.concurrency, headers: opts.headers });
    this.#pool = new HostPool(opts.urls, opts.mode === 'multicast' ? 'round-robin' : opts.mode);
    this.#metrics = new RelayMetrics(opts.statusEvery, opts.urls, logger);
    this.#consumer = sourceConsumer(opts, opts.topic, this.#handle, logger, () => !this.#started || this.#stopping);
  }

  async start(): Promise<void> {
    await useTlsForHttps(this.#o.transport);
    try {
      await this.#consumer.start();
    } catch (err) {
      this.#sender.close();
      throw err;
    }
    this.#started = true;
  }

  #handle = (msg: Message): Promise<void> | void => {
    if (this.#stopping) {
      // delivered while CLS travels: let another consumer have it now
      msg.requeue(0);
      return;
    }
    if (this.#o.sample < 1 && Math.random() > this.#o.sample) {
      this.counts.skipped++;
      return;
    }
    return new Promise<void>((resolve, reject) => {
      const job: Job = { msg, resolve, reject };
      if (this.#active < this.#o.concurrency) void this.#run(job);
      else this.#waiting.push(job);
    });
  };

  async #run(job: Job): Promise<void> {
    this.#active++;
    const started = performance.now();
    try {
      await this.#deliver(job.msg);
      this.counts.sent++;
      this.#metrics.message(performance.now() - started);
      job.resolve();
    } catch (err) {
      this.counts.failed++;
      job.reject(err as Error);
    } finally {
      this.#active--;
      this.#next();
    }
  }

  #next(): void {
    while (!this.#stopping && this.#active < this.#o.concurrency && this.#waiting.length > 0) void this.#run(this.#waiting.shift()!);
  }

  /** One endpoint (round-robin, hostpool) or every endpoint (multicast); throws unless all answered 2xx. */
  async #deliver(msg: Message): Promise<void> {
    if (this.#o.mode === 'multicast') {
      const results = await Promise.allSettled(this.#o.urls.map((u) => this.#send(u, msg)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      return;
    }
    const url = this.#pool.pick();
    try {
      await this.#send(url, msg);
      this.#pool.mark(url, true);
    } catch (err) {
      this.#pool.mark(url, false);
      throw err;
    }
  }

  async #send(url: string, msg: Message): Promise<void> {
    const o = this.#o;
    const started = performance.now();
    try {
      if (o.method === 'GET') await this.#sender.send('GET', getUrl(url, msg.body), null);
      else await this.#sender.send('POST', url, msg.body);
    } catch (err) {
      // the address as given: a GET URL with the body filled in would log the message
      this.#log.warn(`[${o.topic}/${o.channel}] ${o.method} ${url}: ${(err as Error).message}; message ${msg.id} requeued (attempt ${msg.attempts})`);
      throw err;
    }
    this.#metrics.destination(url, performance.now() - started);
  }

  /**
   * RDY 0 and CLS; messages waiting for a free request slot go back at once (REQ, no delay), the
   * requests under way get up to --http-client-request-timeout to be answered (then FIN or REQ).
   */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    for (const job of this.#waiting.splice(0)) {
      job.msg.requeue(0);
      job.resolve();
    }
    await this.#consumer.stop(this.#o.requestTimeout + 1000);
    this.#sender.close();
  }
}

export async function runToHttp(opts: ToHttpOptions, logger: Logger): Promise<void> {
  await runRelay(new ToHttp(opts, logger), logger);
}

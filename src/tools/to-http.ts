// `nsq to-http` (nsq_to_http): consume a topic and GET or POST every message to HTTP endpoints.
// A message is finished only once the endpoint (every endpoint, with --mode=multicast) answered
// 2xx; any other answer, an error or a timeout requeues it (go-nsq's delay: the attempts times
// default_requeue_delay) and slows the consumer down (backoff), so nothing is lost while an
// endpoint is down. At most --n requests run at once; the other delivered messages wait here.

import { performance } from 'node:perf_hooks';
import type { Message } from '../client/connection.js';
import { Consumer } from '../client/consumer.js';
import { useTlsForHttps } from '../client/http.js';
import type { Logger } from '../util/log.js';
import { HostPool } from './relay/host-pool.js';
import { runRelay, type Relay } from './relay/run.js';
import { TimerMetrics } from './relay/timer-metrics.js';
import type { ToHttpOptions } from './to-http/options.js';
import { getUrl, Sender } from './to-http/request.js';
import { isNonFatal } from '../protocol/errors.js';

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
  #aggregate: TimerMetrics;
  #perAddress = new Map<string, TimerMetrics>();
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
    const status = (line: string): void => logger.info(line);
    this.#aggregate = new TimerMetrics(opts.statusEvery, '[aggregate]:', status);
    // one endpoint: the aggregate says it all
    if (opts.urls.length > 1) for (const u of opts.urls) this.#perAddress.set(u, new TimerMetrics(opts.statusEvery, `[${u}]:`, status));
    this.#consumer = new Consumer(
      {
        ...opts.transport,
        ...opts.consumer,
        topic: opts.topic,
        channel: opts.channel,
        nsqdTcpAddresses: opts.nsqdTcpAddresses,
        lookupdHttpAddresses: opts.lookupdHttpAddresses,
        lookupdPollInterval: opts.lookupdPollInterval,
        userAgent: opts.userAgent,
        authSecret: opts.authSecret,
        // FIN once the handler's promise resolves, REQ (with go-nsq's delay) when it rejects
        autoFinish: true,
        maxAttempts: opts.consumer.maxAttempts ?? 0,
      },
      this.#handle,
    );
    const where = `[${opts.topic}/${opts.channel}]`;
    this.#consumer.events = {
      connected: (address) => logger.info(`${where} consuming from ${address}`),
      error: (err, address) => {
        // a message that timed out at nsqd and came back: nothing to tell
        if (!this.#started || this.#stopping || isNonFatal(err)) return;
        logger.warn(`${where} ${address}: ${err.message} (retrying)`);
      },
      waiting: (why) => logger.warn(`${where} waiting: ${why}`),
      giveUp: (msg) => logger.error(`${where} message ${msg.id} attempted ${msg.attempts} times, giving up (max_attempts)`),
    };
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
      this.#aggregate.add(performance.now() - started);
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
    this.#perAddress.get(url)?.add(performance.now() - started);
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

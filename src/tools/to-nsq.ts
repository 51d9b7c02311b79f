// `nsq to-nsq` (nsq_to_nsq): consume topics from one set of nodes and publish every message to
// another. A source message is finished only once the destination nsqd answered OK to its
// publish; an error or a lost connection requeues it (go-nsq's delay: the attempts times
// default_requeue_delay) and slows the consumer down, so nothing is lost while the destination is
// down: the messages wait in the source channel. Publishes of one event-loop turn to the same
// destination and topic go out as one MPUB (atomic: all of them are accepted, or none).

import { performance } from 'node:perf_hooks';
import type { Message } from '../client/connection.js';
import { Consumer } from '../client/consumer.js';
import { Producer } from '../client/producer.js';
import { useTlsForHttps } from '../client/http.js';
import type { Logger } from '../util/log.js';
import { HostPool } from './relay/host-pool.js';
import { runRelay, type Relay } from './relay/run.js';
import { TimerMetrics } from './relay/timer-metrics.js';
import { JsonFilter } from './to-nsq/json-filter.js';
import type { ToNsqOptions } from './to-nsq/options.js';
import { isNonFatal } from '../protocol/errors.js';

/** How long the stop waits for the destinations to acknowledge what was sent. */
const CLOSE_TIMEOUT_MS = 5000;

export class ToNsq implements Relay {
  #o: ToNsqOptions;
  #log: Logger;
  #producers = new Map<string, Producer>();
  #consumers: Consumer[] = [];
  #pool: HostPool;
  #filter: JsonFilter;
  #aggregate: TimerMetrics;
  #perAddress = new Map<string, TimerMetrics>();
  #started = false;
  #stopping = false;
  readonly counts = { published: 0, failed: 0, filtered: 0 };

  constructor(opts: ToNsqOptions, logger: Logger) {
    this.#o = opts;
    this.#log = logger;
    this.#pool = new HostPool(opts.destinations, opts.mode);
    this.#filter = new JsonFilter(opts.json);
    const status = (line: string): void => logger.info(line);
    this.#aggregate = new TimerMetrics(opts.statusEvery, '[aggregate]:', status);
    if (opts.destinations.length > 1) for (const d of opts.destinations) this.#perAddress.set(d, new TimerMetrics(opts.statusEvery, `[${d}]:`, status));
    for (const d of opts.destinations) {
      this.#producers.set(d, new Producer(d, { ...opts.destinationTransport, ...opts.producer, userAgent: opts.userAgent, authSecret: opts.destinationAuthSecret }));
    }
    for (const topic of opts.topics) {
      const destTopic = opts.destinationTopic ?? topic;
      const where = `[${topic}/${opts.channel}]`;
      const consumer = new Consumer(
        {
          ...opts.transport,
          ...opts.consumer,
          topic,
          channel: opts.channel,
          nsqdTcpAddresses: opts.nsqdTcpAddresses,
          lookupdHttpAddresses: opts.lookupdHttpAddresses,
          lookupdPollInterval: opts.lookupdPollInterval,
          userAgent: opts.userAgent,
          authSecret: opts.authSecret,
          // FIN once the publish was acknowledged, REQ (with go-nsq's delay) when it failed
          autoFinish: true,
          maxAttempts: opts.consumer.maxAttempts ?? 0,
        },
        (msg) => this.#handle(msg, destTopic, where),
      );
      consumer.events = {
        connected: (address) => logger.info(`${where} consuming from ${address}`),
        error: (err, address) => {
          if (!this.#started || this.#stopping || isNonFatal(err)) return;
          logger.warn(`${where} ${address}: ${err.message} (retrying)`);
        },
        waiting: (why) => logger.warn(`${where} waiting: ${why}`),
        giveUp: (msg) => logger.error(`${where} message ${msg.id} attempted ${msg.attempts} times, giving up (max_attempts)`),
      };
      this.#consumers.push(consumer);
    }
  }

  /**
   * Connects to the destinations first (none reachable: an error, there would be nowhere to put
   * the messages; some: a warning, they are retried with every publish), then to the sources.
   */
  async start(): Promise<void> {
    await useTlsForHttps(this.#o.transport);
    const addresses = [...this.#producers.keys()];
    const dest = await Promise.allSettled([...this.#producers.values()].map((p) => p.connect()));
    const down = dest.flatMap((r, i) => (r.status === 'rejected' ? [{ address: addresses[i]!, err: r.reason as Error & { code?: string } }] : []));
    if (down.length === dest.length) {
      await this.#closeProducers();
      const { err } = down[0]!;
      throw Object.assign(new Error(`no destination nsqd can be reached: ${err.message}`), { code: err.code ?? 'E_CONNECT' });
    }
    for (const { address, err } of down) {
      // the hostpool leaves it out for a while, as after a failed publish
      this.#pool.mark(address, false);
      this.#log.warn(`destination: ${err.message} (tried again later)`);
    }
    try {
      await Promise.all(this.#consumers.map((c) => c.start()));
    } catch (err) {
      await Promise.all(this.#consumers.map((c) => c.stop(0)));
      await this.#closeProducers();
      throw err;
    }
    this.#started = true;
  }

  #handle(msg: Message, destTopic: string, where: string): Promise<void> | void {
    if (this.#stopping) {
      msg.requeue(0);
      return;
    }
    let body = msg.body;
    if (this.#filter.active) {
      const r = this.#filter.apply(body);
      if (!r.pass) {
        // left out on purpose: finished, as nsq_to_nsq does
        this.counts.filtered++;
        if (r.why !== null) this.#log.error(`${where} message ${msg.id} left out: ${r.why}`);
        return;
      }
      body = r.body;
    }
    const address = this.#pool.pick();
    const started = performance.now();
    return this.#producers
      .get(address)!
      .publish(destTopic, body)
      .then(
        () => {
          this.#pool.mark(address, true);
          this.counts.published++;
          const ms = performance.now() - started;
          this.#perAddress.get(address)?.add(ms);
          this.#aggregate.add(ms);
        },
        (err: Error) => {
          this.#pool.mark(address, false);
          this.counts.failed++;
          if (!this.#stopping) this.#log.warn(`${where} publish to ${address}/${destTopic}: ${err.message}; message ${msg.id} requeued (attempt ${msg.attempts})`);
          throw err;
        },
      );
  }

  /** Closes the producers, waiting (bounded) for their acknowledgements. */
  async #closeProducers(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.#producers.values()].map((p) => p.close())),
      new Promise((r) => (timer = setTimeout(r, CLOSE_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
  }

  /** RDY 0 and CLS on every source; publishes under way get up to 5 s to be acknowledged (then FIN or REQ). */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await Promise.all(this.#consumers.map((c) => c.stop(CLOSE_TIMEOUT_MS)));
    await this.#closeProducers();
  }
}

export async function runToNsq(opts: ToNsqOptions, logger: Logger): Promise<void> {
  await runRelay(new ToNsq(opts, logger), logger);
}

// What nsq to-http and nsq to-nsq share around their work: the source they consume (its nodes,
// transport and go-nsq settings from --consumer-opt) and its consumer, their status lines, and
// the life of the process — start (exit 1 when no node can be reached), run until SIGINT/SIGTERM,
// stop cleanly (CLS, wait for what is in flight), exit 0.

import type { TransportOptions } from '../../client/connection.js';
import { Consumer, type ConsumerOptions, type Handler } from '../../client/consumer.js';
import { isNonFatal } from '../../protocol/errors.js';
import { UserError } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import { TimerMetrics } from './timer-metrics.js';

/** The consumer settings of go-nsq's Config these tools take (--max-in-flight, --consumer-opt). */
export type ConsumerTuning = Pick<
  ConsumerOptions,
  | 'maxInFlight'
  | 'maxAttempts'
  | 'requeueDelay'
  | 'maxBackoff'
  | 'msgTimeout'
  | 'heartbeatInterval'
  | 'connectTimeout'
  | 'sampleRate'
  | 'outputBufferSize'
  | 'outputBufferTimeout'
  | 'clientId'
  | 'hostname'
>;

/** Where a relay consumes from, and how. */
export interface RelaySource {
  channel: string;
  nsqdTcpAddresses: string[];
  lookupdHttpAddresses: string[];
  lookupdPollInterval: number;
  /** sent to nsqd in IDENTIFY */
  userAgent: string;
  /** the source's TLS and compression */
  transport: TransportOptions;
  authSecret: string;
  consumer: ConsumerTuning;
}

/**
 * A consumer of `topic` that finishes a message once `handler`'s promise resolves and requeues it
 * (with go-nsq's delay) when it rejects; it logs its connections and retries, except while
 * `quiet()` (before the start has succeeded, and while stopping).
 */
export function sourceConsumer(src: RelaySource, topic: string, handler: Handler, logger: Logger, quiet: () => boolean): Consumer {
  const consumer = new Consumer(
    {
      ...src.transport,
      ...src.consumer,
      topic,
      channel: src.channel,
      nsqdTcpAddresses: src.nsqdTcpAddresses,
      lookupdHttpAddresses: src.lookupdHttpAddresses,
      lookupdPollInterval: src.lookupdPollInterval,
      userAgent: src.userAgent,
      authSecret: src.authSecret,
      autoFinish: true,
      maxAttempts: src.consumer.maxAttempts ?? 0,
    },
    handler,
  );
  const where = `[${topic}/${src.channel}]`;
  consumer.events = {
    connected: (address) => logger.info(`${where} consuming from ${address}`),
    error: (err, address) => {
      // a message that timed out at nsqd and came back: nothing to tell
      if (quiet() || isNonFatal(err)) return;
      logger.warn(`${where} ${address}: ${err.message} (retrying)`);
    },
    waiting: (why) => logger.warn(`${where} waiting: ${why}`),
    giveUp: (msg) => logger.error(`${where} message ${msg.id} attempted ${msg.attempts} times, giving up (max_attempts)`),
  };
  return consumer;
}

/** Timings of every send, and of each destination's when there are several (one says it all). */
export class RelayMetrics {
  readonly #aggregate: TimerMetrics;
  readonly #perDestination = new Map<string, TimerMetrics>();

  constructor(statusEvery: number, destinations: readonly string[], logger: Logger) {
    const status = (line: string): void => logger.info(line);
    this.#aggregate = new TimerMetrics(statusEvery, '[aggregate]:', status);
    if (destinations.length > 1) for (const d of destinations) this.#perDestination.set(d, new TimerMetrics(statusEvery, `[${d}]:`, status));
  }

  /** one destination's answer, `ms` after the send */
  destination(d: string, ms: number): void {
    this.#perDestination.get(d)?.add(ms);
  }

  /** a message done (every destination answered), `ms` after the first send */
  message(ms: number): void {
    this.#aggregate.add(ms);
  }
}

export interface Relay {
  /** connects; rejects (after cleaning up) when nothing can be reached */
  start(): Promise<void>;
  /** stops taking messages, finishes or requeues what is in flight, closes */
  stop(): Promise<void>;
}

/** Runs `relay` until SIGINT/SIGTERM (a second one exits at once, 1) and exits 0 once it has stopped. */
export async function runRelay(relay: Relay, logger: Logger): Promise<void> {
  let stopRequested!: (sig: NodeJS.Signals) => void;
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => (stopRequested = resolve));
  let stopping = false;
  const onStop = (sig: NodeJS.Signals): void => {
    if (stopping) {
      // what is unanswered goes back to nsqd when the connections drop
      logger.warn(`received ${sig} again, exiting without waiting`);
      process.exit(1);
    }
    stopping = true;
    logger.info(`received ${sig}, finishing in-flight messages`);
    stopRequested(sig);
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  try {
    try {
      await relay.start();
    } catch (err) {
      throw new UserError(err instanceof Error ? err.message : String(err), (err as { code?: string }).code ?? 'E_CONNECT', 1);
    }
    await stopSignal;
    await relay.stop();
    logger.info('done');
  } finally {
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
  }
  // everything is answered and closed; don't wait for stray timers (keep-alive sockets, reconnects)
  process.exit(0);
}

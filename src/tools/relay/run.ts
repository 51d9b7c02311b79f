// What nsq to-http and nsq to-nsq share around their work: the go-nsq consumer settings they take
// (--consumer-opt), and the life of the process — start (exit 1 when no node can be reached), run
// until SIGINT/SIGTERM, stop cleanly (CLS, wait for what is in flight), exit 0.

import type { ConsumerOptions } from '../../client/consumer.js';
import { UserError } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';

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

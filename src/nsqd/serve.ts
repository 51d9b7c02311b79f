// `nsq serve`: run the engine in the foreground until SIGINT/SIGTERM.

import { optionsFromFlags } from './flags.js';
import { NSQD } from './nsqd.js';

export async function runServe(flags: Record<string, unknown>): Promise<void> {
  const nsqd = new NSQD(optionsFromFlags(flags));
  await nsqd.start();
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      nsqd.logger.info(`received ${sig}, shutting down`);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      nsqd.stop().then(resolve, resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

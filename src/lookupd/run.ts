// `nsq lookupd`: run the discovery server in the foreground until SIGINT/SIGTERM.

import { lookupdOptionsFromFlags } from './flags.js';
import { NSQLookupd } from './lookupd.js';

export async function runLookupd(flags: Record<string, unknown>): Promise<void> {
  const lookupd = new NSQLookupd(lookupdOptionsFromFlags(flags));
  await lookupd.start();
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      lookupd.logger.info(`received ${sig}, shutting down`);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      lookupd.stop().then(resolve, resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

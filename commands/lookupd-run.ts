// `nsq lookupd`: run the discovery server in the foreground until SIGINT/SIGTERM.

import { NSQLookupd } from '../src/lookupd/lookupd.js';
import type { LookupdOptions } from '../src/lookupd/options.js';

export async function runLookupd(options: Partial<LookupdOptions>): Promise<void> {
  const lookupd = new NSQLookupd(options);
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

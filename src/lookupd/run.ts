// `nsq lookupd`: run the discovery server in the foreground until SIGINT/SIGTERM.

import { withConfigFile } from '../util/flag-values.js';
import { lookupdConfigFlag, lookupdOptionsFromFlags } from './flags.js';
import { NSQLookupd } from './lookupd.js';
import type { LookupdOptions } from './options.js';

/** The server's options from the command line and its --config file; a bad value is a UserError. */
export async function lookupdOptions(cli: Record<string, unknown>): Promise<Partial<LookupdOptions>> {
  return lookupdOptionsFromFlags(await withConfigFile(cli, lookupdConfigFlag));
}

export async function runLookupd(cli: Record<string, unknown>): Promise<void> {
  const lookupd = new NSQLookupd(await lookupdOptions(cli));
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

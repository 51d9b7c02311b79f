// `nsq lookupd` (also `nsqlookupd`): the discovery server nsqd registers with and consumers query.

import type { CommandModule } from 'yargs';
import { lookupdFlags, lookupdFlagShapes } from './flags/lookupd.js';
import { readPlainFlags } from './flags/plain-argv.js';

async function lookupdWith(argv: Record<string, unknown>): Promise<void> {
  const { readLookupdOptions } = await import('./flags/lookupd.js');
  const options = await readLookupdOptions(argv);
  const { runLookupd } = await import('./lookupd-run.js');
  await runLookupd(options);
}

/** The start-up path without yargs, as serveWithoutYargs (commands/serve.ts). */
export async function lookupdWithoutYargs(args: readonly string[]): Promise<boolean> {
  const argv = readPlainFlags(args, lookupdFlagShapes());
  if (argv === null) return false;
  await lookupdWith(argv);
  return true;
}

export const lookupd: CommandModule = {
  command: 'lookupd',
  describe: 'Run the nsqlookupd-compatible discovery server (TCP protocol V1 + HTTP API)',
  builder: (y) =>
    lookupdFlags(y)
      .example('$0 lookupd', 'listen on 127.0.0.1:4160 (TCP, for nsqd) and 127.0.0.1:4161 (HTTP, for consumers)')
      .example('$0 lookupd --tcp-address=0.0.0.0:4160 --http-address=0.0.0.0:4161', ''),
  handler: (argv) => lookupdWith(argv as Record<string, unknown>),
};

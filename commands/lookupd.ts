// `nsq lookupd` (also `nsqlookupd`): the discovery server nsqd registers with and consumers query.

import type { CommandModule } from 'yargs';
import { lookupdFlags } from './flags/lookupd.js';

export const lookupd: CommandModule = {
  command: 'lookupd',
  describe: 'Run the nsqlookupd-compatible discovery server (TCP protocol V1 + HTTP API)',
  builder: (y) =>
    lookupdFlags(y)
      .example('$0 lookupd', 'listen on 127.0.0.1:4160 (TCP, for nsqd) and 127.0.0.1:4161 (HTTP, for consumers)')
      .example('$0 lookupd --tcp-address=0.0.0.0:4160 --http-address=0.0.0.0:4161', ''),
  handler: async (argv) => {
    const { readLookupdOptions } = await import('./flags/lookupd.js');
    const options = await readLookupdOptions(argv as Record<string, unknown>);
    const { runLookupd } = await import('./lookupd-run.js');
    await runLookupd(options);
  },
};

// `nsq lookupd` (also `nsqlookupd`): the discovery server nsqd registers with and consumers query.

import type { CommandModule } from 'yargs';
import { LOOKUPD_FLAGS, lookupdFlagDefault } from '../src/lookupd/flags.js';

export const lookupd: CommandModule = {
  command: 'lookupd',
  describe: 'run the nsqlookupd-compatible discovery server (TCP protocol V1 + HTTP API)',
  builder: (y) => {
    for (const [flag, spec] of Object.entries(LOOKUPD_FLAGS)) {
      // no yargs default: a value left unset can still come from --config (command line > config > default)
      y.option(flag, { type: 'string', describe: spec.describe, ...(spec.key === null ? {} : { defaultDescription: JSON.stringify(lookupdFlagDefault(spec)) }), group: 'nsqlookupd options:' });
    }
    y.option('config', { type: 'string', describe: "path to a config file in nsqlookupd's TOML format (underscored option names)", group: 'nsqlookupd options:' });
    return y
      .example('$0 lookupd', 'listen on 127.0.0.1:4160 (TCP, for nsqd) and 127.0.0.1:4161 (HTTP, for consumers)')
      .example('$0 lookupd --tcp-address=0.0.0.0:4160 --http-address=0.0.0.0:4161', '');
  },
  handler: async (argv) => {
    const { runLookupd } = await import('../src/lookupd/run.js');
    await runLookupd(argv as Record<string, unknown>);
  },
};

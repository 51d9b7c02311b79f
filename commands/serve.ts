// `nsq serve` (also `nsqd`): the message engine.

import type { CommandModule } from 'yargs';
import { flagDefault, isListKind, NSQD_FLAGS } from '../src/nsqd/flags.js';

export const serve: CommandModule = {
  command: 'serve',
  describe: 'run the nsqd-compatible daemon (TCP protocol V2 + HTTP API)',
  builder: (y) => {
    for (const [flag, spec] of Object.entries(NSQD_FLAGS)) {
      if (isListKind(spec.kind)) y.option(flag, { type: 'string', array: true, nargs: 1, describe: spec.describe, group: 'nsqd options:' });
      // no yargs default: a value left unset can still come from --config (command line > config > default)
      else y.option(flag, { type: 'string', describe: spec.describe, ...(spec.key === null ? {} : { defaultDescription: JSON.stringify(String(flagDefault(spec))) }), group: 'nsqd options:' });
    }
    y.option('config', { type: 'string', describe: "path to a config file in nsqd's TOML format (underscored option names)", group: 'nsqd options:' });
    y.option('with-lookupd', { type: 'boolean', default: false, describe: 'also run a lookupd in this process and register with it', group: 'beyond nsqd:' });
    y.option('with-lookupd-tcp-address', { type: 'string', default: '127.0.0.1:4160', describe: 'TCP address of the --with-lookupd lookupd', group: 'beyond nsqd:' });
    y.option('with-lookupd-http-address', { type: 'string', default: '127.0.0.1:4161', describe: 'HTTP address of the --with-lookupd lookupd', group: 'beyond nsqd:' });
    return y.example('$0 serve', 'listen on 127.0.0.1:4150 (TCP) and 127.0.0.1:4151 (HTTP)').example('$0 serve --tcp-address=0.0.0.0:4150 --mem-queue-size=100000', '');
  },
  handler: async (argv) => {
    const { runServe } = await import('../src/nsqd/serve.js');
    await runServe(argv as Record<string, unknown>);
  },
};

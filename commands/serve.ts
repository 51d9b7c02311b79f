// `nsq serve` (also `nsqd`): the message engine.

import type { CommandModule } from 'yargs';
import { nsqdFlags } from './flags/nsqd.js';
import { hostPortFlag } from './flags/values.js';

export const serve: CommandModule = {
  command: 'serve',
  describe: 'Run the nsqd-compatible daemon (TCP protocol V2 + HTTP API)',
  builder: (y) =>
    nsqdFlags(y)
      .option('with-lookupd', { type: 'boolean', default: false, describe: 'also run a lookupd in this process and register with it', group: 'beyond nsqd:' })
      .option('with-lookupd-tcp-address', { type: 'string', default: '127.0.0.1:4160', describe: 'TCP address of the --with-lookupd lookupd', group: 'beyond nsqd:' })
      .option('with-lookupd-http-address', { type: 'string', default: '127.0.0.1:4161', describe: 'HTTP address of the --with-lookupd lookupd', group: 'beyond nsqd:' })
      .example('$0 serve', 'listen on 127.0.0.1:4150 (TCP) and 127.0.0.1:4151 (HTTP)')
      .example('$0 serve --tcp-address=0.0.0.0:4150 --mem-queue-size=100000', ''),
  handler: async (argv) => {
    const { readNsqdOptions } = await import('./flags/nsqd.js');
    const nsqd = await readNsqdOptions(argv as Record<string, unknown>);
    const withLookupd =
      argv['with-lookupd'] === true
        ? { tcpAddress: hostPortFlag('with-lookupd-tcp-address', String(argv['with-lookupd-tcp-address'])), httpAddress: hostPortFlag('with-lookupd-http-address', String(argv['with-lookupd-http-address'])) }
        : null;
    const { runServe } = await import('./serve-run.js');
    await runServe({ nsqd, withLookupd });
  },
};

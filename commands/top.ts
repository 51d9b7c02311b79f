// `nsq top` (also `nsq_stat`, which means `nsq top --plain`): live statistics of nsqd nodes.

import type { CommandModule } from 'yargs';
import { packageVersion } from '../src/version.js';
import { authFlag, clientFlags, httpsFlags, readClientFlags, readTransportFlags } from './flags/client.js';
import { durationFlag, integerFlag, lastValue, POSITIVE, valueOption } from './flags/values.js';

export const top: CommandModule = {
  command: 'top',
  describe: 'Live dashboard of nsqd topics, channels and consumers (with pause/empty/delete)',
  builder: (y) =>
    httpsFlags(authFlag(clientFlags(y, { http: true }), true))
      .option('interval', valueOption('duration', { default: '1s', describe: 'time between polls (Go duration)' }))
      .option('timeout', valueOption('duration', { default: '2s', describe: 'how long to wait for each node' }))
      .option('history', valueOption('duration', { default: '10m', describe: 'how far back the overview charts keep samples (one each --interval; a wide terminal shows up to two a column)' }))
      .option('http-client-connect-timeout', valueOption('duration', { describe: "nsq_stat's: timeout for HTTP connect; with --http-client-request-timeout, replaces --timeout (their sum bounds each poll)" }))
      .option('http-client-request-timeout', valueOption('duration', { describe: "nsq_stat's: timeout for HTTP request" }))
      .option('status-every', { type: 'string', hidden: false, describe: '[deprecated in nsq_stat] accepted, no effect' })
      .option('once', { type: 'boolean', default: false, describe: 'print one table of the current state and exit (the default without a terminal)' })
      .option('plain', { type: 'boolean', default: false, describe: 'nsq_stat output: one line per interval for --topic/--channel' })
      .option('topic', { type: 'string', describe: 'topic for --plain' })
      .option('channel', { type: 'string', describe: 'channel for --plain' })
      .option('count', valueOption('number', { default: 0, describe: '--plain: number of reports (0: until interrupted)' }))
      .option('filter', { type: 'string', default: '', describe: 'start with this name filter' })
      .option('color', { type: 'boolean', default: true, describe: 'colours (--no-color or NO_COLOR turns them off)' })
      .epilog('Keys: ↑/↓ j/k move · Enter open · Esc back · / filter · s sort · p pause/unpause · e empty · d delete · v next messages · n nodes · space freeze · ? help · q quit')
      .example('$0 top', 'watch the local node')
      .example('$0 top --nsqd-http-address=a:4151 --nsqd-http-address=b:4151', 'watch two nodes')
      .example('$0 top --plain --topic orders --channel billing', 'nsq_stat-style lines')
      .example('$0 top --nsqd-http-address=https://a:4152 --tls-root-ca-file=ca.pem', 'a node that requires TLS, over HTTPS'),
  handler: async (argv) => {
    if (argv['color'] === false || process.env['NO_COLOR']) process.env['FORCE_COLOR'] = '0';
    const a = argv as Record<string, unknown>;
    const flags = readClientFlags(a, 'top', packageVersion());
    const transport = readTransportFlags(a);
    const options = {
      nsqdHttpAddresses: flags.nsqdHttpAddresses,
      lookupdHttpAddresses: flags.lookupdHttpAddresses,
      intervalMs: durationFlag('interval', argv['interval'], POSITIVE),
      historyMs: durationFlag('history', argv['history'], POSITIVE),
      // nsq_stat's two HTTP timeouts, when given, make one deadline per poll (as --timeout)
      timeoutMs:
        argv['http-client-connect-timeout'] !== undefined || argv['http-client-request-timeout'] !== undefined
          ? durationFlag('http-client-connect-timeout', argv['http-client-connect-timeout'] ?? '2s', POSITIVE) + durationFlag('http-client-request-timeout', argv['http-client-request-timeout'] ?? '5s', POSITIVE)
          : durationFlag('timeout', argv['timeout'], POSITIVE),
      once: argv['once'] === true,
      plain: argv['plain'] === true,
      topic: argv['topic'] === undefined ? undefined : lastValue(argv['topic']),
      channel: argv['channel'] === undefined ? undefined : lastValue(argv['channel']),
      count: integerFlag('count', argv['count'] ?? 0, 0),
      filter: lastValue(argv['filter'] ?? ''),
      authSecret: flags.authSecret,
    };
    const [{ runTop }, { useTlsForHttps }] = await Promise.all([import('../src/top/run.js'), import('../src/client/http.js')]);
    await useTlsForHttps(transport);
    await runTop(options);
  },
};

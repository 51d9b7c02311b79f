// `nsq to-file` (also `nsq_to_file`): write a topic's messages to rotated, optionally gzipped files.

import type { CommandModule } from 'yargs';
import { authFlag, clientFlags, transportFlags } from '../src/util/client-flags.js';

const G = 'nsq_to_file options:';

export const toFile: CommandModule = {
  command: 'to-file',
  describe: 'write messages of one or more topics to files, one line per message (nsq_to_file)',
  builder: (y) =>
    transportFlags(authFlag(clientFlags(y)), 'consumer-opt')
      // --topic and --nsqd-tcp-address repeat; a repeated single-value flag takes its last value
      .parserConfiguration({ 'duplicate-arguments-array': true })
      .option('topic', { type: 'string', array: true, describe: 'nsq topic (may be given multiple times) [required]', group: G })
      .option('channel', { type: 'string', default: 'nsq_to_file', describe: 'nsq channel', group: G })
      .option('topic-pattern', { type: 'string', describe: 'also write every topic lookupd knows that matches this regular expression (needs --lookupd-http-address)', group: G })
      .option('topic-refresh', { type: 'string', default: '1m', describe: 'how often to look for new topics matching --topic-pattern', group: G })
      .option('max-in-flight', { type: 'string', default: '200', describe: 'max number of messages to allow in flight (and to hold per sync)', group: G })
      .option('output-dir', { type: 'string', default: '/tmp', describe: 'directory to write output files to', group: G })
      .option('work-dir', { type: 'string', describe: 'directory for in-progress files before moving to output-dir [default: output-dir]', group: G })
      .option('filename-format', {
        type: 'string',
        default: '<TOPIC>.<HOST><REV>.<DATETIME>.log',
        describe: 'output filename format (<TOPIC>, <HOST>, <PID>, <DATETIME>, <REV> are replaced. <REV> is increased when file already exists)',
        group: G,
      })
      .option('datetime-format', { type: 'string', default: '%Y-%m-%d_%H', describe: 'strftime compatible format for <DATETIME> in filename format', group: G })
      .option('host-identifier', { type: 'string', describe: 'value to output in log filename in place of hostname. <SHORT_HOST> and <HOSTNAME> are valid replacement tokens', group: G })
      .option('gzip', { type: 'boolean', default: false, describe: 'gzip output files', group: G })
      .option('gzip-level', { type: 'string', default: '6', describe: 'gzip compression level (1-9, 1=BestSpeed, 9=BestCompression)', group: G })
      .option('skip-empty-files', { type: 'boolean', default: false, describe: 'skip writing empty files', group: G })
      .option('rotate-size', { type: 'string', default: '0', describe: 'rotate the file when it grows bigger than this many bytes (0: never)', group: G })
      .option('rotate-interval', { type: 'string', default: '0s', describe: 'rotate the file every duration (0s: never)', group: G })
      .option('sync-interval', { type: 'string', default: '30s', describe: 'sync files to disk (and FIN what they hold) every duration', group: G })
      .option('log-level', { type: 'string', default: 'info', describe: 'log verbosity: debug, info, warn, error or fatal', group: G })
      .example('$0 to-file --topic=events --output-dir=/var/log/nsq', 'one file per hour: events.<host>.2026-01-31_14.log')
      .example('$0 to-file --topic=events --gzip --rotate-size=104857600 --work-dir=/data/tmp --output-dir=/data/done', ''),
  handler: async (argv) => {
    const { runToFile } = await import('../src/tools/to-file.js');
    await runToFile(argv as Record<string, unknown>);
    // everything is written, FINed and closed; don't wait for stray client timers to run out
    process.exit(0);
  },
};

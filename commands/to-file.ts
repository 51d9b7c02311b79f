// `nsq to-file` (also `nsq_to_file`): write a topic's messages to rotated, optionally gzipped files.

import { resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { isValidChannelName, isValidTopicName } from '../src/protocol/names.js';
import { needsRevision, TO_FILE_DEFAULTS, type ToFileOptions } from '../src/tools/to-file/options.js';
import { packageVersion } from '../src/version.js';
import { parseReplayFrom } from '../src/protocol/replay-from.js';
import { authFlag, clientFlags, readClientFlags, readTransportFlags, transportFlags } from './flags/client.js';
import { badFlag, boolFlag, durationFlag, integerFlag, lastValue, levelFlag, listValue, POSITIVE, usageError, valueOption } from './flags/values.js';

const G = 'nsq_to_file options:';

export const toFile: CommandModule = {
  command: 'to-file',
  describe: 'Write messages of one or more topics to files, one line per message (nsq_to_file)',
  builder: (y) =>
    transportFlags(authFlag(clientFlags(y, { tcp: true, poll: true, userAgent: true })), 'consumer-opt')
      // --topic and --nsqd-tcp-address repeat; a repeated single-value flag takes its last value
      .parserConfiguration({ 'duplicate-arguments-array': true })
      .option('topic', { type: 'string', array: true, describe: 'nsq topic (may be given multiple times) [required]', group: G })
      .option('channel', { type: 'string', default: 'nsq_to_file', describe: 'nsq channel', group: G })
      .option('topic-pattern', { type: 'string', describe: 'also write every topic lookupd knows that matches this regular expression (needs --lookupd-http-address)', group: G })
      .option('from', { type: 'string', describe: 'backfill: create the channel on each node starting at earliest, an RFC 3339 time or unix ms of the retained journal (durable topics; the channel must be new; asks --nsqd-http-address or lookupd)', group: G })
      .option('nsqd-http-address', { type: 'string', array: true, nargs: 1, group: 'Connection:', describe: 'with --from: the HTTP address of each --nsqd-tcp-address node, in the same order [default: 127.0.0.1:4151]' })
      .option('topic-refresh', valueOption('duration', { default: '1m', describe: 'how often to look for new topics matching --topic-pattern', group: G }))
      .option('max-in-flight', valueOption('number', { default: '200', describe: 'max number of messages to allow in flight (and to hold per sync)', group: G }))
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
      .option('gzip-level', valueOption('number', { default: '6', describe: 'gzip compression level (1-9, 1=BestSpeed, 9=BestCompression)', group: G }))
      .option('skip-empty-files', { type: 'boolean', default: false, describe: 'skip writing empty files', group: G })
      .option('rotate-size', valueOption('number', { default: '0', describe: 'rotate the file when it grows bigger than this many bytes (0: never)', group: G }))
      .option('rotate-interval', valueOption('duration', { default: '0s', describe: 'rotate the file every duration (0s: never)', group: G }))
      .option('sync-interval', valueOption('duration', { default: '30s', describe: 'sync files to disk (and FIN what they hold) every duration', group: G }))
      .option('log-prefix', { type: 'string', default: '[nsq_to_file] ', describe: 'log message prefix', group: G })
      .option('http-client-connect-timeout', valueOption('duration', { default: '2s', describe: 'timeout for HTTP connect (lookupd queries for --topic-pattern; with the request timeout, one deadline per query)', group: G }))
      .option('http-client-request-timeout', valueOption('duration', { default: '5s', describe: 'timeout for HTTP request (lookupd queries for --topic-pattern)', group: G }))
      .option('log-level', { type: 'string', default: 'info', describe: 'log verbosity: debug, info, warn, error or fatal', group: G })
      .example('$0 to-file --topic=events --output-dir=/var/log/nsq', 'one file per hour: events.<host>.2026-01-31_14.log')
      .example('$0 to-file --topic=events --channel=backfill --from=earliest', 'everything a durable topic retained, then new messages')
      .example('$0 to-file --topic=events --gzip --rotate-size=104857600 --work-dir=/data/tmp --output-dir=/data/done', ''),
  handler: async (argv) => {
    const options = readToFileOptions(argv as Record<string, unknown>);
    const { runToFile } = await import('../src/tools/to-file.js');
    await runToFile(options);
    // everything is written, FINed and closed; don't wait for stray client timers to run out
    process.exit(0);
  },
};

const bad = badFlag;

/** A single-value flag: its last value, or `fallback` when not given. */
function str(argv: Record<string, unknown>, flag: string, fallback: string): string {
  return argv[flag] === undefined ? fallback : lastValue(argv[flag]);
}

const int = (argv: Record<string, unknown>, flag: string, fallback: number, min: number, max?: number): number =>
  argv[flag] === undefined ? fallback : integerFlag(flag, argv[flag], min, max);

const duration = (argv: Record<string, unknown>, flag: string, fallback: number, allowZero: boolean): number =>
  argv[flag] === undefined ? fallback : durationFlag(flag, argv[flag], allowZero ? 0 : POSITIVE);

const bool = (argv: Record<string, unknown>, flag: string, fallback: boolean): boolean => (argv[flag] === undefined ? fallback : boolFlag(flag, argv[flag]));

/** The tool's options from the parsed command line. */
export function readToFileOptions(argv: Record<string, unknown>): ToFileOptions {
  const d = TO_FILE_DEFAULTS;
  const topics = listValue(argv['topic']);
  const rawPattern = argv['topic-pattern'];
  let topicPattern: RegExp | null = null;
  if (rawPattern !== undefined && String(rawPattern) !== '') {
    try {
      topicPattern = new RegExp(String(rawPattern));
    } catch (err) {
      throw bad('topic-pattern', String(rawPattern), (err as Error).message);
    }
    if (argv['lookupd-http-address'] === undefined) throw usageError('--topic-pattern needs --lookupd-http-address (topics are found through lookupd)', 'E_BAD_FLAG');
  }
  if (topics.length === 0 && topicPattern === null) throw usageError('--topic is required (may be given multiple times), or --topic-pattern with --lookupd-http-address', 'E_BAD_FLAG');
  for (const topic of topics) if (!isValidTopicName(topic)) throw bad('topic', topic, 'not a valid topic name');
  const channel = str(argv, 'channel', d.channel);
  if (!isValidChannelName(channel)) throw bad('channel', channel, 'not a valid channel name');

  let from: string | null = null;
  if (argv['from'] !== undefined) {
    from = lastValue(argv['from']);
    if (parseReplayFrom(from) === null) throw bad('from', from, 'want earliest, an RFC 3339 time such as 2026-12-03T10:00:00Z, or unix milliseconds');
    if (topicPattern !== null) throw usageError('--from does not go with --topic-pattern: a start point is for the channels created now, of the --topic topics', 'E_BAD_FLAG');
  }
  const httpGiven = listValue(argv['nsqd-http-address']);
  if (httpGiven.length > 0 && from === null) throw usageError('--nsqd-http-address is only used with --from (to create the channel there)', 'E_BAD_FLAG');
  const tcpGiven = listValue(argv['nsqd-tcp-address']);
  if (from !== null && argv['lookupd-http-address'] === undefined && tcpGiven.length > 0 && httpGiven.length !== tcpGiven.length) {
    throw usageError(`--from creates the channel with each nsqd's HTTP API: give one --nsqd-http-address for each --nsqd-tcp-address, in the same order (${tcpGiven.length} TCP, ${httpGiven.length} HTTP)`, 'E_BAD_FLAG');
  }

  const outputDir = resolve(str(argv, 'output-dir', d.outputDir));
  const rawWork = str(argv, 'work-dir', '');
  const opts: ToFileOptions = {
    topics,
    topicPattern,
    topicRefresh: duration(argv, 'topic-refresh', 60_000, false),
    channel,
    from,
    maxInFlight: int(argv, 'max-in-flight', d.maxInFlight, 1),
    outputDir,
    workDir: rawWork === '' ? outputDir : resolve(rawWork),
    datetimeFormat: str(argv, 'datetime-format', d.datetimeFormat),
    filenameFormat: str(argv, 'filename-format', d.filenameFormat),
    hostIdentifier: str(argv, 'host-identifier', d.hostIdentifier),
    gzip: bool(argv, 'gzip', d.gzip),
    gzipLevel: int(argv, 'gzip-level', d.gzipLevel, 1, 9),
    skipEmptyFiles: bool(argv, 'skip-empty-files', d.skipEmptyFiles),
    rotateSize: int(argv, 'rotate-size', d.rotateSize, 0),
    rotateInterval: duration(argv, 'rotate-interval', d.rotateInterval, true),
    syncInterval: duration(argv, 'sync-interval', d.syncInterval, false),
    logLevel: argv['log-level'] === undefined ? d.logLevel : levelFlag('log-level', argv['log-level']),
    logPrefix: str(argv, 'log-prefix', d.logPrefix),
    lookupdTimeout: duration(argv, 'http-client-connect-timeout', d.httpClientConnectTimeout, false) + duration(argv, 'http-client-request-timeout', d.httpClientRequestTimeout, false),
    client: readClientFlags(argv, 'to_file', packageVersion()),
    transport: readTransportFlags(argv),
  };
  if (opts.filenameFormat === '') throw bad('filename-format', '', 'must not be empty');
  if (needsRevision(opts) && !opts.filenameFormat.includes('<REV>')) {
    throw bad('filename-format', opts.filenameFormat, 'missing <REV>, needed when --gzip, rotation or --work-dir is enabled');
  }
  return opts;
}

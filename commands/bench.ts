// `nsq bench [pub|sub]`: measure an nsqd's publish and consume throughput and latency; with no
// mode, a publisher and a subscriber together.

import type { Argv, CommandModule } from 'yargs';
import { isValidChannelName, isValidTopicName } from '../src/protocol/names.js';
import type { PubOptions } from '../src/tools/bench/pub.js';
import type { CombinedOptions } from '../src/tools/bench/combined.js';
import type { BenchReport } from '../src/tools/bench/run.js';
import type { CommonOptions } from '../src/tools/bench/shared.js';
import type { SubOptions } from '../src/tools/bench/sub.js';
import { packageVersion } from '../src/version.js';
import { authFlag, clientFlags, readClientFlags, readTransportFlags, transportFlags } from './flags/client.js';
import { badFlag, durationFlag, integerFlag, lastValue, POSITIVE, usageError, valueOption } from './flags/values.js';

const G = 'bench options:';
// kept in step with BENCH_DEFAULTS in src/tools/bench/shared.ts, which this module must not import (start-up)
const D = { topic: 'bench', channel: 'bench', duration: '10s', size: '200', batch: '200', rate: '0', maxInFlight: '2500' };

function shared(y: Argv, connections: 'producers' | 'consumers'): Argv {
  return transportFlags(authFlag(clientFlags(y, { tcp: true, poll: true, userAgent: true })))
    .option('topic', { type: 'string', default: D.topic, describe: 'topic to publish to / consume from', group: G })
    .option('duration', valueOption('duration', { default: D.duration, describe: 'how long to run (Go duration: 10s, 1m30s)', group: G }))
    .option('count', valueOption('number', { default: '0', describe: 'stop after this many messages (0: run for --duration)', group: G }))
    .option(connections, valueOption('number', { default: '1', describe: 'connections to each nsqd', group: G }))
    .option('json', { type: 'boolean', default: false, describe: 'print the results as one JSON object', group: G })
    .option('csv', { type: 'boolean', default: false, describe: 'print the results as CSV: a header line, then one row per role (pub, sub)', group: G });
}

const pubFlags = (y: Argv): Argv =>
  y
    .option('size', valueOption('number', { default: D.size, describe: 'message body size in bytes (16 or more carry a send time for `bench sub`)', group: G }))
    .option('batch', valueOption('number', { default: D.batch, describe: 'messages per MPUB (1: PUB)', group: G }))
    .option('rate', valueOption('number', { default: D.rate, describe: 'messages per second over all connections (0: full speed)', group: G }));

const subFlags = (y: Argv, channel: { default?: string; defaultDescription?: string }): Argv =>
  y
    .option('channel', { type: 'string', ...channel, describe: 'channel to consume from', group: G })
    .option('max-in-flight', valueOption('number', { default: D.maxInFlight, describe: 'messages in flight over all connections (RDY)', group: G }));

const pubCmd: CommandModule = {
  command: 'pub',
  describe: 'Publish as fast as nsqd acknowledges (or at --rate) and report msgs/s, MiB/s and ack latency',
  builder: (y) =>
    pubFlags(shared(y, 'producers'))
      .example('$0 bench pub --duration 30s', 'MPUBs of 200 × 200 B to topic bench on 127.0.0.1:4150')
      .example('$0 bench pub --batch 1 --rate 10000 --json', 'PUB at 10k msgs/s, results as JSON')
      .example('$0 bench pub --count 100000 --csv >> runs.csv', 'a header and a row of figures for a spreadsheet'),
  handler: async (argv) => {
    const a = argv as Record<string, unknown>;
    const options = readPubOptions(a);
    const { runBench } = await import('../src/tools/bench/run.js');
    await runBench({ mode: 'pub', ...options }, readReport(a));
  },
};

const subCmd: CommandModule = {
  command: 'sub',
  describe: 'Consume and FIN as fast as nsqd delivers; report msgs/s, MiB/s and end-to-end latency',
  builder: (y) =>
    subFlags(shared(y, 'consumers'), { default: D.channel })
      .example('$0 bench sub --duration 30s', 'consume topic bench, channel bench')
      .example('$0 bench sub --consumers 4 --max-in-flight 10000', ''),
  handler: async (argv) => {
    const a = argv as Record<string, unknown>;
    const options = readSubOptions(a);
    const { runBench } = await import('../src/tools/bench/run.js');
    await runBench({ mode: 'sub', ...options }, readReport(a));
  },
};

export const bench: CommandModule = {
  command: 'bench',
  describe: 'Benchmark an nsqd: publish and consume together, or `bench pub` / `bench sub` alone',
  builder: (y) => {
    y = y.command(pubCmd).command(subCmd);
    // yargs' getOptions and global(keys, false) are not in its types
    const loose = (): { getOptions(): { key: Record<string, unknown> }; global(keys: string[], global: boolean): Argv } => y as never;
    const before = new Set(Object.keys(loose().getOptions().key));
    y = subFlags(pubFlags(shared(y, 'producers')), { default: D.channel })
      .option('consumers', valueOption('number', { default: '1', describe: 'consumer connections to each nsqd', group: G }))
      .usage('nsq bench [pub|sub] [options]\n\nWith no mode, publishes and consumes together on one topic and reports both sides: rates, totals, ack and end-to-end latency.')
      .example('$0 bench --duration 5s', 'publish for 5 s to topic bench and consume its channel bench; one report')
      .example('$0 bench --count 100000 --rate 20000 --csv', 'a CSV header and a row for each side')
      .strict();
    // the combined run's flags are its own: `bench pub --help` does not list --consumers
    const own = Object.keys(loose().getOptions().key).filter((k) => !before.has(k));
    return loose().global(own, false);
  },
  handler: async (argv) => {
    // a word that is not a mode is an unknown argument (strict)
    const a = argv as Record<string, unknown>;
    const options = readCombinedOptions(a);
    const { runBench } = await import('../src/tools/bench/run.js');
    await runBench({ mode: 'pubsub', ...options }, readReport(a));
  },
};

// ---- reading -----------------------------------------------------------------------------------

function common(argv: Record<string, unknown>, connectionsFlag: string): CommonOptions {
  const topic = lastValue(argv['topic'] ?? D.topic);
  if (!isValidTopicName(topic)) throw badFlag('topic', topic, 'not a valid topic name');
  const flags = readClientFlags(argv, 'bench', packageVersion());
  return {
    addresses: flags.nsqdTcpAddresses,
    userAgent: flags.userAgent,
    transport: readTransportFlags(argv),
    authSecret: flags.authSecret,
    topic,
    connections: integerFlag(connectionsFlag, argv[connectionsFlag] ?? 1, 1),
    durationMs: durationFlag('duration', argv['duration'] ?? D.duration, POSITIVE),
    count: integerFlag('count', argv['count'] ?? 0, 0),
  };
}

export function readPubOptions(argv: Record<string, unknown>): PubOptions {
  return {
    ...common(argv, 'producers'),
    size: integerFlag('size', argv['size'] ?? D.size, 1),
    batch: integerFlag('batch', argv['batch'] ?? D.batch, 1),
    rate: integerFlag('rate', argv['rate'] ?? D.rate, 0),
  };
}

export function readSubOptions(argv: Record<string, unknown>): SubOptions {
  const channel = lastValue(argv['channel'] ?? D.channel);
  if (!isValidChannelName(channel)) throw badFlag('channel', channel, 'not a valid channel name');
  return { ...common(argv, 'consumers'), channel, maxInFlight: integerFlag('max-in-flight', argv['max-in-flight'] ?? D.maxInFlight, 1) };
}

/**
 * The combined run: pub's flags, sub's, and --consumers. The channel is an ordinary one (bench's
 * `bench`, not an ephemeral one): past --mem-queue-size an ephemeral channel drops messages, which
 * would count as missing; older messages in it are told apart by their send time.
 */
export function readCombinedOptions(argv: Record<string, unknown>): CombinedOptions {
  const pub = readPubOptions(argv);
  // it tells this run's messages from a channel's older ones by the send time in their bodies
  if (pub.size < 16) throw badFlag('size', pub.size, 'the combined run needs 16 or more (its bodies carry their send time)');
  const channel = lastValue(argv['channel'] ?? D.channel);
  if (!isValidChannelName(channel)) throw badFlag('channel', channel, 'not a valid channel name');
  return {
    ...pub,
    channel,
    maxInFlight: integerFlag('max-in-flight', argv['max-in-flight'] ?? D.maxInFlight, 1),
    consumers: integerFlag('consumers', argv['consumers'] ?? 1, 1),
  };
}

function readReport(argv: Record<string, unknown>): BenchReport {
  const c = readClientFlags(argv, 'bench', packageVersion());
  if (argv['json'] === true && argv['csv'] === true) throw usageError('give either --json or --csv, not both');
  return { lookupdHttpAddresses: c.lookupdHttpAddresses, lookupdPollInterval: c.lookupdPollInterval, format: argv['json'] === true ? 'json' : argv['csv'] === true ? 'csv' : 'text' };
}

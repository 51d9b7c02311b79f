// `nsq to-nsq` (also `nsq_to_nsq`): nsq_to_nsq 1.3's flags, read into ToNsqOptions; the work is
// in src/tools/to-nsq.ts.

import type { CommandModule } from 'yargs';
import { isValidChannelName, isValidTopicName } from '../src/protocol/names.js';
import { parseHostPort } from '../src/util/host-port.js';
import { Logger } from '../src/util/log.js';
import { MODES } from '../src/tools/relay/host-pool.js';
import { TO_NSQ_DEFAULTS, type ToNsqOptions } from '../src/tools/to-nsq/options.js';
import { packageVersion } from '../src/version.js';
import { authFlag, clientFlags, readClientFlags, readTransportFlags, transportFlags } from './flags/client.js';
import { GO_NSQ_OPTION_NAMES, readGoNsqOptions } from './flags/go-nsq.js';
import { addressesFlag, badFlag, choiceFlag, integerFlag, lastValue, listValue, usageError, valueOption } from './flags/values.js';

const G = 'nsq_to_nsq options:';

const HELP = `Every message goes to one destination: --mode round-robin, or hostpool (round-robin over
the destinations that did not just fail; a failed one is tried again after 30s, then
longer, up to 15m; epsilon-greedy picks as hostpool does).

A source message is finished only after the destination answered OK to its publish. An
error or a lost connection requeues it, after default_requeue_delay (90s) times its
attempts, and the consumer backs off (up to max_backoff_duration, 2m): while the
destination is down the messages wait in the source channel. Both are go-nsq options:
  --consumer-opt=default_requeue_delay,5s --consumer-opt=max_backoff_duration,30s
It never gives up on a message unless --consumer-opt=max_attempts,N is given (go-nsq's
default is 5: nsq_to_nsq drops a message after 5 failed attempts).

--require-json-field passes only JSON objects with that field (--require-json-value: with
that value, compared as text, or as a number when it reads as one); --whitelist-json-field
passes only those fields (as JSON with sorted keys, as Go writes it). Messages that do not
pass are finished and not published; a message that is not a JSON object does not pass.

--consumer-opt (the source) and --producer-opt (the destinations) take these go-nsq
options: ${GO_NSQ_OPTION_NAMES.join(', ')}; go-nsq's own tuning (read_timeout,
backoff_strategy, ...) is accepted with no effect. The --tls*, --snappy, --deflate and
--auth-secret flags apply to both sides; tls_v1,false and the like in --producer-opt or
--consumer-opt override them for one side.

At start it exits 1 when no destination or no source nsqd can be reached; once running, a
destination that goes away is retried. SIGINT/SIGTERM: RDY 0 and CLS, publishes under way
get up to 5s to be acknowledged (then FIN or REQ), exit 0.`;

/** Whether two dialled host:port addresses name the same node (as far as their text tells). */
function sameNode(a: string, b: string): boolean {
  const x = parseHostPort(a, 4150);
  const y = parseHostPort(b, 4150);
  const host = (h: string): string => (h === '' || h === 'localhost' ? '127.0.0.1' : h);
  return x !== null && y !== null && x.port === y.port && host(x.host) === host(y.host);
}

/** The command line → ToNsqOptions, and notes about options that change nothing. */
export function toNsqOptions(argv: Record<string, unknown>): { options: ToNsqOptions; notes: string[] } {
  const d = TO_NSQ_DEFAULTS;
  const consumerGo = readGoNsqOptions(argv, 'consumer-opt');
  const producerGo = readGoNsqOptions(argv, 'producer-opt');
  // each side: the shared flags and its own go-nsq options
  const sourceArgv = { ...consumerGo.argv, 'producer-opt': undefined };
  const destArgv = { ...producerGo.argv, 'consumer-opt': undefined };

  const topics = listValue(argv['topic']);
  if (topics.length === 0) throw usageError('--topic is required (may be given multiple times)');
  for (const t of topics) if (!isValidTopicName(t)) throw badFlag('topic', t, 'not a valid topic name');
  const channel = argv['channel'] === undefined ? d.channel : lastValue(argv['channel']);
  if (!isValidChannelName(channel)) throw badFlag('channel', channel, 'not a valid channel name');
  const destinationTopic = argv['destination-topic'] === undefined || lastValue(argv['destination-topic']) === '' ? null : lastValue(argv['destination-topic']);
  if (destinationTopic !== null && !isValidTopicName(destinationTopic)) throw badFlag('destination-topic', destinationTopic, 'not a valid topic name');

  const destinations = addressesFlag('destination-nsqd-tcp-address', argv['destination-nsqd-tcp-address'], [], { defaultPort: 4150 });
  if (destinations.length === 0) throw usageError('--destination-nsqd-tcp-address is required (may be given multiple times)');
  const mode = argv['mode'] === undefined ? d.mode : choiceFlag('mode', argv['mode'], MODES);

  const requireField = argv['require-json-field'] === undefined || lastValue(argv['require-json-field']) === '' ? null : lastValue(argv['require-json-field']);
  const requireValue = argv['require-json-value'] === undefined || lastValue(argv['require-json-value']) === '' ? null : lastValue(argv['require-json-value']);
  if (requireValue !== null && requireField === null) throw usageError('--require-json-value needs --require-json-field (the field whose value to check)');

  const source = readClientFlags(sourceArgv, 'to_nsq', packageVersion());
  for (const topic of topics) {
    const dest = destinationTopic ?? topic;
    const loop = source.lookupdHttpAddresses.length === 0 && dest === topic && destinations.find((a) => source.nsqdTcpAddresses.some((s) => sameNode(a, s)));
    if (loop) throw usageError(`--destination-nsqd-tcp-address ${loop} is also a source of topic "${topic}": every message would be published back where it came from (give --destination-topic)`);
  }
  const userAgent = typeof argv['user-agent'] === 'string' ? argv['user-agent'] : undefined;
  // the connection settings of --producer-opt (readGoNsqOptions noted the consumer-only ones)
  const connection: ToNsqOptions['producer'] = {};
  for (const k of ['heartbeatInterval', 'connectTimeout', 'outputBufferSize', 'outputBufferTimeout', 'clientId', 'hostname', 'msgTimeout'] as const) {
    if (producerGo.tuning[k] !== undefined) (connection as Record<string, unknown>)[k] = producerGo.tuning[k];
  }

  const options: ToNsqOptions = {
    topics,
    channel,
    nsqdTcpAddresses: source.nsqdTcpAddresses,
    lookupdHttpAddresses: source.lookupdHttpAddresses,
    lookupdPollInterval: argv['lookupd-poll-interval'] === undefined ? (consumerGo.lookupdPollInterval ?? source.lookupdPollInterval) : source.lookupdPollInterval,
    userAgent: userAgent ?? consumerGo.userAgent ?? source.userAgent,
    transport: readTransportFlags(sourceArgv),
    authSecret: source.authSecret,
    consumer: { ...consumerGo.tuning, maxInFlight: argv['max-in-flight'] === undefined ? (consumerGo.tuning.maxInFlight ?? d.maxInFlight) : integerFlag('max-in-flight', argv['max-in-flight'], 1) },
    destinations,
    destinationTopic,
    destinationTransport: readTransportFlags(destArgv),
    destinationAuthSecret: readClientFlags(destArgv, 'to_nsq', packageVersion()).authSecret,
    producer: connection,
    mode,
    json: { requireField, requireValue, whitelist: listValue(argv['whitelist-json-field']) },
    statusEvery: argv['status-every'] === undefined ? d.statusEvery : integerFlag('status-every', argv['status-every'], 0),
  };
  return { options, notes: [...consumerGo.notes, ...producerGo.notes] };
}

export const toNsq: CommandModule = {
  command: 'to-nsq',
  describe: 'Republish every message of topics to other nsqd nodes, at least once (nsq_to_nsq)',
  builder: (y) =>
    transportFlags(authFlag(clientFlags(y, { tcp: true, poll: true, userAgent: true })), 'consumer-opt')
      .usage('nsq to-nsq --topic=<topic> --destination-nsqd-tcp-address=<host:port> [options]\n\nConsumes topics and publishes every message to other nsqd nodes, finishing it once the destination acknowledged it.')
      .parserConfiguration({ 'duplicate-arguments-array': true })
      .option('consumer-opt', { describe: 'go-nsq option for the source, as <name>,<value> (may be given multiple times): max_attempts, default_requeue_delay, max_backoff_duration, tls_v1, ... (see below)' })
      .option('producer-opt', { type: 'string', array: true, nargs: 1, describe: 'go-nsq option for the destinations, as <name>,<value> (may be given multiple times): tls_v1, snappy, auth_secret, dial_timeout, ...', group: 'Transport:' })
      .option('topic', { type: 'string', array: true, nargs: 1, describe: 'nsq topic (may be given multiple times) [required]', group: G })
      .option('channel', { type: 'string', describe: `nsq channel [default: ${TO_NSQ_DEFAULTS.channel}]`, group: G })
      .option('destination-nsqd-tcp-address', { type: 'string', array: true, nargs: 1, describe: 'destination nsqd TCP address (may be given multiple times) [required]', group: G })
      .option('destination-topic', { type: 'string', describe: 'use this destination topic for all consumed topics [default: the consumed topic name]', group: G })
      .option('mode', { type: 'string', describe: `the upstream request mode: round-robin, hostpool, epsilon-greedy [default: ${TO_NSQ_DEFAULTS.mode}]`, group: G })
      .option('max-in-flight', valueOption('number', { describe: `max number of messages to allow in flight (per topic) [default: ${TO_NSQ_DEFAULTS.maxInFlight}]`, group: G }))
      .option('status-every', valueOption('number', { describe: `the # of publishes between logging status (per destination), 0 disables [default: ${TO_NSQ_DEFAULTS.statusEvery}]`, group: G }))
      .option('require-json-field', { type: 'string', describe: 'for JSON messages: only pass messages that contain this field', group: G })
      .option('require-json-value', { type: 'string', describe: 'for JSON messages: only pass messages in which the required field has this value', group: G })
      .option('whitelist-json-field', { type: 'string', array: true, nargs: 1, describe: 'for JSON messages: pass this field (may be given multiple times)', group: G })
      .example('$0 to-nsq --topic=events --nsqd-tcp-address=10.0.0.1:4150 --destination-nsqd-tcp-address=10.0.1.1:4150', 'copy "events" from one node to another')
      .example('$0 to-nsq --topic=events --destination-topic=logins --require-json-field=action --require-json-value=login --destination-nsqd-tcp-address=127.0.0.1:4250', 'only the logins, into their own topic')
      .epilog(HELP),
  handler: async (argv) => {
    const { options, notes } = toNsqOptions(argv as Record<string, unknown>);
    const logger = new Logger('info', '[nsq_to_nsq] ');
    for (const n of notes) logger.warn(n);
    const { runToNsq } = await import('../src/tools/to-nsq.js');
    await runToNsq(options, logger);
  },
};

// `nsq tail` (also `nsq_tail`): print the messages of one or more topics as they arrive.
// Flags and their checks live here; the work is in src/tools/tail.ts.

import type { CommandModule } from 'yargs';
import { isValidChannelName, isValidTopicName } from '../src/protocol/names.js';
import { authFlag, clientFlags, readClientFlags, readTransportFlags, transportFlags } from './flags/client.js';
import { durationFlag, integerFlag, lastValue, listValue, POSITIVE, usageError, valueOption } from './flags/values.js';
import { packageVersion } from '../src/version.js';

const TEMPLATE_HELP = `Formats (--format):
  raw       the body and a newline, exactly as nsq_tail prints it (default)
  json      one JSON object a line: topic, channel, id, timestamp (ISO-8601, UTC,
            nanoseconds), attempts, body (UTF-8 text; a body that is not valid UTF-8
            is base64, with "encoding":"base64")
  template  text with fields in double braces, one line per message:
              {{topic}} {{channel}} {{id}} {{timestamp}} {{timestamp_ns}}
              {{attempts}} {{size}} {{body}} {{body_base64}} {{body_hex}} {{nsqd}}
            Go-style spellings work too: {{.Body}}, {{.Timestamp}}, {{.ID}}.
            \\n, \\t and \\\\ in the text are a newline, a tab and a backslash.

--requeue puts every message back on the channel (REQ, no delay) instead of
finishing it, to look at a live channel without taking its messages away. It is
not invisible: each message shown counts one more attempt (consumers with a
max-attempts setting give up on it sooner), and the messages put back are
delivered again in a different order. With -n, the messages shown are put back
together when the tail stops (or after 1s without a new one), so each is shown once
and counts exactly one attempt. A message this tail has shown is not shown again if
it comes back to it: it is put back with a growing delay (up to 30s).
--requeue needs --channel: the default channel is this tail's own.

-e (--exit-at-end) prints what the channel holds and exits 0 once it is drained:
nothing ready (in memory or on disk, in the topic or the channel) and nothing in
flight, on every node, seen twice in a row. nsqd has no end-of-stream, so tail asks
each node's HTTP API (/stats): the nodes lookupd lists, or --nsqd-http-address, one
for each --nsqd-tcp-address in the same order (the local node's 4151 by default).
Deferred messages not yet due are not waited for; messages in flight to another
consumer of the channel are (they may come back). A new channel, such as the
default one, gets only what is published after it exists (unless it is the topic's
first): to take what a channel holds, give --channel. -e and --requeue do not go
together: what is put back is never drained.

--since 1h and --from-start (durable topics, docs/retention.md) start the channel in
the past: before subscribing, tail creates it on every node with
/channel/create?from= (the nodes lookupd lists, or --nsqd-http-address as for -e),
so it gets the retained messages published since then (or all of them), then the
new ones. The channel must be new (the default one is). What a node keeps depends
on its --retention: a topic without it keeps only what some channel still needs.

Stops after -n messages; with -e, at the end of the channel; on SIGINT/SIGTERM
(CLS, waits up to 3s for the messages in flight, exit 0); or when the reader of
stdout goes away (\`| head\`: exit 0, quietly, within about a second even when no
message comes; on a pipe this needs GNU tail, which watches it, else at the next
message). A message that could not be written is put back, never finished.`;

// `command` is plain 'tail' so the nsq_tail alias finds it; topics are read from argv._, which lets
// `nsq tail a b`, `nsq_tail a b` and `nsq_tail --topic=a --topic=b` all work.
export const tail: CommandModule = {
  command: 'tail',
  describe: 'Print messages from topics as they arrive (nsq_tail): nsq tail <topic...>',
  builder: (y) =>
    transportFlags(authFlag(clientFlags(
      y
        .usage('nsq tail <topic...> [options]\nnsq_tail --topic=<topic> [--topic=<topic> ...] [options]\n\nPrints the messages of one or more topics on stdout as they arrive.')
        // positionals are the topics; unknown --flags are still errors
        .strict(false)
        .strictOptions()
        .option('topic', { type: 'string', array: true, describe: 'topic to tail (may be given multiple times; same as a positional topic)' })
        .option('channel', { type: 'string', describe: 'channel to consume [default: tail<6 random digits>#ephemeral]' })
        .option('count', valueOption('number', { alias: 'n', default: 0, describe: 'exit after this many messages in all (0: never; waits if starved)' }))
        .option('print-topic', { type: 'boolean', default: false, describe: 'prefix each line with "<topic> | " (raw and template formats)' })
        .option('format', { alias: 'f', type: 'string', default: 'raw', describe: 'raw, json or a template such as \'{{timestamp}} {{body}}\' (see below)' })
        .option('requeue', { type: 'boolean', default: false, describe: 'put every message back (REQ, no delay) instead of finishing it; changes attempts counts and order (see below)' })
        // tail speaks TCP; only -e asks the nodes' HTTP API
        .option('nsqd-http-address', { type: 'string', array: true, nargs: 1, group: 'Connection:', describe: 'with --exit-at-end, --since or --from-start: the HTTP address of each --nsqd-tcp-address node, in the same order [default: 127.0.0.1:4151]' })
        .option('since', valueOption('duration', { describe: 'start with the retained messages published this long ago (durable topics with --retention; a new channel; see below)' }))
        .option('from-start', { type: 'boolean', default: false, describe: 'start with every retained message of the topic (durable topics; a new channel; see below)' })
        .option('exit-at-end', { alias: 'e', type: 'boolean', default: false, describe: "exit 0 once the channel is drained: nothing ready or in flight on any node (asks each nsqd's HTTP /stats; see below)" })
        .option('max-in-flight', valueOption('number', { default: 200, describe: 'messages in flight per topic' }))
        .example('$0 tail events', 'print every message of "events" as it arrives')
        .example('$0 tail events clicks --print-topic -n 10', 'the next 10 messages of two topics, each line prefixed by its topic')
        .example("$0 tail events -f '{{timestamp}} {{body}}'", 'a template')
        .example('$0 tail events --channel=archive --requeue -n 5', 'show 5 messages waiting in a channel, leave them there')
        .example('$0 tail events --channel=archive -e > events.txt', 'take everything waiting in a channel, then exit')
        .example('$0 tail events --since 1h', 'the last hour of a durable topic, then new messages')
        .epilog(TEMPLATE_HELP),
      { tcp: true, poll: true, userAgent: true },
    )), 'consumer-opt'),
  handler: async (argv) => {
    const positional = argv._.map(String);
    // as `nsq tail`, argv._ starts with the command itself; as `nsq_tail` it holds only topics
    if (argv['$0'] !== 'nsq_tail' && positional[0] === 'tail') positional.shift();
    const topics = [...new Set([...positional, ...listValue(argv['topic'])])];
    if (topics.length === 0) throw usageError('no topic given: nsq tail <topic...> (or --topic=<topic>)');
    for (const topic of topics) {
      if (!isValidTopicName(topic)) throw usageError(`invalid topic name ${JSON.stringify(topic)}: 1-64 characters of [.a-zA-Z0-9_-], optionally ending in #ephemeral`, 'E_BAD_TOPIC');
    }
    const channelFlag = argv['channel'] === undefined ? undefined : lastValue(argv['channel']);
    if (channelFlag !== undefined && !isValidChannelName(channelFlag)) {
      throw usageError(`invalid channel name ${JSON.stringify(channelFlag)}: 1-64 characters of [.a-zA-Z0-9_-], optionally ending in #ephemeral`, 'E_BAD_CHANNEL');
    }
    const requeue = argv['requeue'] === true;
    if (requeue && channelFlag === undefined) throw usageError('--requeue needs --channel: the channel whose messages to look at');
    const exitAtEnd = argv['exit-at-end'] === true;
    if (exitAtEnd && requeue) throw usageError('--exit-at-end and --requeue do not go together: the messages put back keep the channel from ever being drained');
    const fromStart = argv['from-start'] === true;
    if (fromStart && argv['since'] !== undefined) throw usageError('--since and --from-start do not go together: give one start point');
    // /channel/create's from=: unix ms, so the point is this machine's clock now, not the node's at its arrival
    const from = fromStart ? 'earliest' : argv['since'] === undefined ? undefined : String(Date.now() - durationFlag('since', argv['since'], POSITIVE));
    const tcpGiven = listValue(argv['nsqd-tcp-address']);
    const httpGiven = listValue(argv['nsqd-http-address']);
    const asksHttp = exitAtEnd || from !== undefined;
    if (httpGiven.length > 0 && !asksHttp) throw usageError('--nsqd-http-address is only used with --exit-at-end (to ask the nodes whether the channel is drained), --since and --from-start (to create the channel there)');
    if (asksHttp && listValue(argv['lookupd-http-address']).length === 0 && tcpGiven.length > 0 && httpGiven.length !== tcpGiven.length) {
      throw usageError(
        `${exitAtEnd ? "--exit-at-end asks each nsqd's HTTP API whether the channel is drained" : `${fromStart ? '--from-start' : '--since'} creates the channel with each nsqd's HTTP API`}: give one --nsqd-http-address for each --nsqd-tcp-address, in the same order (${tcpGiven.length} TCP, ${httpGiven.length} HTTP)`,
      );
    }
    const count = integerFlag('n', argv['count'], 0);
    const maxInFlight = integerFlag('max-in-flight', argv['max-in-flight'], 1);
    const client = readClientFlags(argv as Record<string, unknown>, 'tail', packageVersion());
    const transport = readTransportFlags(argv as Record<string, unknown>);

    const [{ randomChannel, runTail }, { FormatError, makeFormatter }] = await Promise.all([import('../src/tools/tail.js'), import('../src/tools/message-format.js')]);
    const format = lastValue(argv['format']);
    const printTopic = argv['print-topic'] === true;
    try {
      makeFormatter(format, printTopic); // a bad template is a usage error before connecting
    } catch (err) {
      throw err instanceof FormatError ? usageError(err.message, 'E_BAD_FLAG') : err;
    }
    await runTail({
      topics,
      channel: channelFlag ?? randomChannel(),
      nsqdTcpAddresses: client.nsqdTcpAddresses,
      lookupdHttpAddresses: client.lookupdHttpAddresses,
      lookupdPollInterval: client.lookupdPollInterval,
      userAgent: client.userAgent,
      transport,
      authSecret: client.authSecret,
      maxInFlight,
      count,
      printTopic,
      format,
      requeue,
      exitAtEnd,
      from,
      nsqdHttpAddresses: client.nsqdHttpAddresses,
    });
  },
};

// `nsq peek <topic>[/<channel>]`: the next messages a channel (or a topic without channels, or
// paused) holds, read-only, from one nsqd's HTTP API. Flags here; the work is src/tools/peek.ts.

import type { CommandModule } from 'yargs';
import { checkName, httpAdminFlags, readHttpAdminFlags } from './admin.js';
import { integerFlag, lastValue, usageError, valueOption } from './flags/values.js';

/** PEEK_MAX of src/nsqd/peek.ts, which this module must not import at start-up */
const PEEK_MAX = 1000;

const EPILOGUE = `Shows without taking them: nothing changes on the node (no attempt is counted,
nothing is delivered, moved or reordered; a disk queue's read position stays). In the
order of delivery: messages in flight first, then queued ones (memory, then disk),
then deferred ones by due time. <topic> alone shows what the topic holds itself (it
has no channel yet, or it is paused). See docs/peek.md.

Formats (--format), as nsq tail's:
  raw       the body and a newline (default)
  json      nsq tail's JSON line plus "state" (in_flight, queued, deferred) and its
            fields: "due_at" (deferred), "client_id", "client_address", "timeout_at"
            (in flight)
  template  nsq tail's fields in double braces, such as '{{id}} {{attempts}} {{body}}'

Asks one node, --nsqd-http-address (127.0.0.1:4151 by default); nodes started with
--auth-http-api need --auth-secret (subscribe and publish on the topic and channel).

Exit status:
  0  the node answered (also when it holds nothing)
  1  the node could not be reached, or answered an error (TOPIC_NOT_FOUND, ...)
  2  usage error`;

export const peek: CommandModule = {
  command: 'peek <target>',
  describe: 'Show the next messages of a channel (topic/channel) or topic without taking them',
  builder: (y) =>
    httpAdminFlags(y, true)
      .parserConfiguration({ 'parse-positional-numbers': false })
      .positional('target', { type: 'string', describe: '<topic>/<channel>, or <topic> for what the topic holds itself' })
      .option('count', valueOption('number', { alias: 'n', default: 10, describe: `how many messages, 1-${PEEK_MAX}` }))
      .option('format', { alias: 'f', type: 'string', default: 'raw', describe: "raw, json or a template such as '{{id}} {{body}}' (see below)" })
      .example('$0 peek orders/billing', 'the next 10 messages of channel billing')
      .example('$0 peek orders/billing -n 100 -f json', 'the next 100, with their state, as JSON lines')
      .example('$0 peek orders', 'what topic orders holds while it has no channel')
      .epilog(EPILOGUE),
  handler: async (argv) => {
    const target = String(argv['target']);
    const slash = target.indexOf('/');
    const topic = checkName('topic', slash === -1 ? target : target.slice(0, slash));
    const channel = slash === -1 ? undefined : checkName('channel', target.slice(slash + 1));
    const count = integerFlag('n', argv['count'], 1, PEEK_MAX);
    const connection = await readHttpAdminFlags(argv as Record<string, unknown>, 'peek');
    if (connection.lookupdHttpAddresses.length > 0) throw usageError('nsq peek asks one node: give --nsqd-http-address, not --lookupd-http-address');
    if (connection.nsqdHttpAddresses.length !== 1) throw usageError('nsq peek asks one node: give one --nsqd-http-address');
    const format = lastValue(argv['format']);
    const [{ runPeek }, { FormatError, makeFormatter }] = await Promise.all([import('../src/tools/peek.js'), import('../src/tools/message-format.js')]);
    if (format !== 'json') {
      try {
        makeFormatter(format, false); // a bad template is a usage error before asking
      } catch (err) {
        throw err instanceof FormatError ? usageError(err.message, 'E_BAD_FLAG') : err;
      }
    }
    await runPeek({ nsqdHttpAddress: connection.nsqdHttpAddresses[0]!, topic, ...(channel === undefined ? {} : { channel }), count, format, authSecret: connection.authSecret, timeoutMs: connection.timeoutMs });
  },
};

// `nsq redrive <topic>.dead [--destination-topic T]`: moves a dead-letter topic's messages back to
// their topic. Flags here; the work is src/tools/redrive.ts.

import type { CommandModule } from 'yargs';
import { packageVersion } from '../src/version.js';
import { checkName } from './admin.js';
import { authFlag, clientFlags, readClientFlags } from './flags/client.js';
import { durationFlag, lastValue, POSITIVE, usageError, valueOption } from './flags/values.js';

const EPILOGUE = `Consumes <topic> on channel nsq_redrive and publishes each message to the
destination (the name without ".dead" unless --destination-topic is given), through
the same nsqd (--nsqd-tcp-address; --nsqd-http-address for the depth at start). A
message is FINed only after its publish was answered OK: at least once, never lost.
It moves what the channel nsq_redrive holds at start (when it does not exist yet:
what the topic holds itself, which a topic's first channel takes), then stops.
See docs/dead-letters.md.

Exit status:
  0  every message there at start was moved
  1  fewer moved before --idle-timeout (E_REDRIVE_INCOMPLETE moved N of M), the
     topic does not exist, or the node could not be reached
  2  usage error (a name without .dead and no --destination-topic)`;

export const redrive: CommandModule = {
  command: 'redrive <topic>',
  describe: 'Move the messages of a dead-letter topic (T.dead) back to their topic',
  builder: (y) =>
    authFlag(clientFlags(y, { tcp: true, http: true }), true)
      .parserConfiguration({ 'parse-positional-numbers': false })
      // one node: it consumes and publishes through the same nsqd
      .hide('lookupd-http-address')
      .positional('topic', { type: 'string', describe: 'the dead-letter topic, such as orders.dead' })
      .option('destination-topic', { type: 'string', describe: 'where the messages go (default: <topic> without .dead)' })
      .option('idle-timeout', valueOption('duration', { default: '5s', describe: 'stop when no message came for this long (Go duration)' }))
      .option('timeout', valueOption('duration', { default: '5s', describe: 'how long to wait for the node’s HTTP answer (Go duration)' }))
      .example('$0 redrive orders.dead', 'move every message of orders.dead back to orders')
      .example('$0 redrive orders.dead --destination-topic orders.retry', 'move them to another topic')
      .epilog(EPILOGUE),
  handler: async (argv) => {
    const topic = checkName('topic', String(argv['topic']));
    const given = argv['destination-topic'] === undefined ? undefined : lastValue(argv['destination-topic']);
    if (given === undefined && !topic.endsWith('.dead')) throw usageError(`nsq redrive: ${topic} does not end in .dead: give --destination-topic`);
    const destination = checkName('topic', given ?? topic.slice(0, -'.dead'.length));
    if (destination === topic) throw usageError('nsq redrive: the destination is the topic itself');
    const flags = readClientFlags(argv as Record<string, unknown>, 'redrive', packageVersion());
    if (flags.nsqdTcpAddresses.length !== 1 || flags.nsqdHttpAddresses.length !== 1) throw usageError('nsq redrive works with one node: give one --nsqd-tcp-address and one --nsqd-http-address');
    const idleTimeoutMs = durationFlag('idle-timeout', argv['idle-timeout'], POSITIVE);
    const timeoutMs = durationFlag('timeout', argv['timeout'], POSITIVE);
    const { runRedrive } = await import('../src/tools/redrive.js');
    await runRedrive({ topic, destination, nsqdTcpAddress: flags.nsqdTcpAddresses[0]!, nsqdHttpAddress: flags.nsqdHttpAddresses[0]!, idleTimeoutMs, timeoutMs, authSecret: flags.authSecret });
  },
};

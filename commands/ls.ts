// `nsq ls [topic]`: the nodes, and every topic and channel on them with depth, in flight, deferred,
// consumers and paused, as a table or --json. The work is src/tools/ls.ts.

import type { CommandModule } from 'yargs';
import { checkName, httpAdminFlags, readHttpAdminFlags } from './admin.js';

const EPILOGUE = `Lists the local node (127.0.0.1:4151) by default, every --nsqd-http-address given, and with
--lookupd-http-address every node registered with lookupd. One row per topic on each node, with its
channels' rows under it; --json prints the same as one object: {"nodes": [...], "topics": [...]}.

Exit status:
  0  every node answered
  1  a node did not answer (the others are listed, and a warning per node goes to stderr),
     no node or lookupd answered, or no node has the topic asked for
  2  usage error`;

export const ls: CommandModule = {
  command: 'ls [topic]',
  describe: 'List nodes, topics and channels with their depth, in flight, deferred, consumers and paused',
  builder: (y) =>
    httpAdminFlags(y, false)
      .parserConfiguration({ 'parse-positional-numbers': false })
      .positional('topic', { type: 'string', describe: 'only this topic' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object instead of the table' })
      .example('$0 ls', 'the local node')
      .example('$0 ls --lookupd-http-address=127.0.0.1:4161', 'every node registered with lookupd')
      .example('$0 ls orders --json', 'one topic, as JSON')
      .epilog(EPILOGUE),
  handler: async (argv) => {
    const topic = argv['topic'] === undefined ? undefined : checkName('topic', String(argv['topic']));
    const connection = await readHttpAdminFlags(argv as Record<string, unknown>, 'ls');
    const { runLs } = await import('../src/tools/ls.js');
    process.exitCode = await runLs({
      nsqdHttpAddresses: connection.nsqdHttpAddresses,
      lookupdHttpAddresses: connection.lookupdHttpAddresses,
      timeoutMs: connection.timeoutMs,
      json: argv['json'] === true,
      ...(topic === undefined ? {} : { topic }),
    });
  },
};

// `nsq pub <topic> [message...]` (also `to_nsq`): publish arguments or stdin records to a topic.

import { basename } from 'node:path';
import type { CommandModule } from 'yargs';
import { authFlag, clientFlags, transportFlags } from '../src/util/client-flags.js';

const EPILOGUE = `Without messages on the command line, stdin is read and split at the delimiter; the last record
is published even without a delimiter after it, and empty records are skipped unless --allow-empty.
Records go to every nsqd given. With --lookupd-http-address, each record goes to one node instead,
in turn: the topic's nodes as lookupd lists them (every registered node for a new topic), and to
another node when one fails. Over TCP, records that arrive together are sent as one MPUB.

Exit status:
  0    every message was acknowledged by every nsqd
  1    a connection failed (refused, lost and not regained): the rest were not published;
       through lookupd: no lookupd answered, no nsqd known, or none left
  2    usage error (bad flag or value)
  3    some records were rejected (bigger than the server's max message size, or empty);
       every other record was published
  130  interrupted (SIGINT; 143 for SIGTERM): reading stopped and outstanding messages were
       acknowledged first; a second signal exits at once`;

export const pub: CommandModule = {
  command: 'pub',
  describe: 'publish messages from arguments or stdin to a topic (to_nsq)',
  builder: (y) => {
    // as to_nsq (a symlink or the package's bin entry), the command is the whole program
    const self = /^to_nsq(\.c?js)?$/.test(basename(process.argv[1] ?? '')) ? '$0' : '$0 pub';
    const built = y
      .usage(`${self} <topic> [message...]\n${self} --topic=<topic> < file\n\nPublish each message argument, or each record of stdin, to a topic.`)
      // positional messages are free text ("007" stays "007"), and only options are checked strictly
      .parserConfiguration({ 'parse-positional-numbers': false, 'populate--': true })
      .strict(false)
      .strictOptions()
      .option('topic', { type: 'string', describe: 'topic to publish to (instead of the first argument)', group: 'Publishing:' })
      .option('delimiter', { type: 'string', describe: 'record separator for stdin; escapes \\n \\t \\r \\0 \\xHH \\\\; may be several bytes [default: "\\n"]', group: 'Publishing:' })
      .option('null', { alias: '0', type: 'boolean', describe: 'records are separated by NUL bytes (as find -print0)', group: 'Publishing:' })
      .option('allow-empty', { type: 'boolean', describe: 'publish empty records too (nsqd refuses them: they are reported)', group: 'Publishing:' })
      .option('rate', { type: 'number', describe: 'at most this many records per second (0: no limit)', default: 0, group: 'Publishing:' })
      .option('defer', { type: 'string', describe: 'deliver each message after this long (DPUB; Go duration: 500ms, 1m30s)', group: 'Publishing:' })
      .option('http', { type: 'boolean', describe: 'publish over HTTP (/mpub, /pub) to --nsqd-http-address instead of TCP', group: 'Publishing:' })
      .option('progress', { type: 'boolean', describe: 'report progress and a summary even when stderr is not a terminal', group: 'Output:' })
      .option('quiet', { alias: 'q', type: 'boolean', describe: 'no progress line and no summary (errors still print)', group: 'Output:' })
      .example(`${self} events 'hello' 'world'`, 'two messages')
      .example(`${self} events < events.log`, 'one message per line')
      .example(`find . -print0 | ${self} files -0 --rate=100`, 'NUL-separated, 100 per second')
      .example(`${self} jobs --defer=5m --nsqd-tcp-address=a:4150 --nsqd-tcp-address=b:4150`, 'each record to both nodes, delivered 5 minutes later')
      .epilogue(EPILOGUE);
    // one value per flag: an array option would otherwise swallow the topic and messages after it
    return transportFlags(authFlag(clientFlags(built), true), 'producer-opt').nargs('nsqd-tcp-address', 1).nargs('nsqd-http-address', 1);
  },
  handler: async (argv) => {
    const { runPub } = await import('../src/tools/pub.js');
    await runPub(argv as Record<string, unknown>);
  },
};

// `nsq pub <topic> [message...]` (also `to_nsq`): publish arguments or stdin records to a topic.

import { basename } from 'node:path';
import type { CommandModule } from 'yargs';
import { isValidTopicName } from '../src/protocol/names.js';
import type { PubConfig } from '../src/tools/pub/run.js';
import { compileTemplate, TemplateError } from '../src/tools/pub/templates.js';
import type { UserError } from '../src/util/errors.js';
import { packageVersion } from '../src/version.js';
import { authFlag, clientFlags, readClientFlags, readTransportFlags, transportFlags } from './flags/client.js';
import { durationFlag, integerFlag, numberFlag, usageError, valueOption } from './flags/values.js';

const EPILOGUE = `Without messages on the command line, stdin is read and split at the delimiter; the last record
is published even without a delimiter after it (and without the input's final newline, unless
records are NUL-separated), and empty records are skipped unless --allow-empty.
With --count N, the message arguments are published N times over, and in each one {{count}} is its
number (from 1), {{time}} the time (ISO 8601, UTC, milliseconds), {{random}} 16 random letters and
digits ({{random N}} or {{random MIN MAX}}: that many). nats pub's {{Count}}, {{Cnt}}, {{TimeStamp}},
{{Time}}, {{Unix}}, {{UnixNano}}, {{ID}} and {{Random MIN MAX}} work too.
Records go to every nsqd given. With --lookupd-http-address, each record goes to one node instead,
in turn: the topic's nodes as lookupd lists them (every registered node for a new topic), and to
another node when one fails. Over TCP, records that arrive together are sent as one MPUB.

Exit status:
  0    every message was acknowledged by every nsqd
  1    a connection failed (refused, lost and not regained; with --retry: not regained within
       --retry-timeout after the input ended): the rest were not published;
       through lookupd: no lookupd answered, no nsqd known, or none left
  2    usage error (bad flag or value; a --defer over the server's --max-req-timeout)
  3    some records were rejected (bigger than the server's max message size, or empty);
       every other record was published
  130  interrupted (SIGINT; 143 for SIGTERM): reading stopped and outstanding messages were
       acknowledged first; a second signal exits at once`;

export const pub: CommandModule = {
  command: 'pub',
  describe: 'Publish messages from arguments or stdin to a topic (to_nsq)',
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
      .option('rate', valueOption('number', { describe: 'at most this many records per second (0: no limit)', default: 0, group: 'Publishing:' }))
      .option('count', valueOption('number', { describe: 'publish the message arguments N times, filling in {{count}}, {{time}}, {{random}} (see below)', group: 'Publishing:' }))
      .option('defer', { type: 'string', describe: 'deliver each message after this long (DPUB; Go duration: 500ms, 1m30s)', group: 'Publishing:' })
      .option('retry', { type: 'boolean', describe: 'when nsqd goes away, reconnect (with backoff) and re-send what it did not acknowledge, however long it takes while input comes', group: 'Publishing:' })
      .option('retry-timeout', valueOption('duration', { describe: 'with --retry: once the input has ended, give up on a lost nsqd after this long', default: '1m', group: 'Publishing:' }))
      .option('http', { type: 'boolean', describe: 'publish over HTTP (/mpub, /pub) to --nsqd-http-address instead of TCP', group: 'Publishing:' })
      .option('progress', { type: 'boolean', describe: 'report progress and a summary even when stderr is not a terminal', group: 'Output:' })
      .option('quiet', { alias: 'q', type: 'boolean', describe: 'no progress line and no summary (errors still print)', group: 'Output:' })
      .example(`${self} events 'hello' 'world'`, 'two messages')
      .example(`${self} events < events.log`, 'one message per line')
      .example(`${self} ticks 'tick {{count}} at {{time}}' --count=100`, '100 numbered, timestamped messages')
      .example(`tail -F app.log | ${self} logs --retry`, 'every line, through nsqd restarts')
      .example(`find . -print0 | ${self} files -0 --rate=100`, 'NUL-separated, 100 per second')
      .example(`${self} jobs --defer=5m --nsqd-tcp-address=a:4150 --nsqd-tcp-address=b:4150`, 'each record to both nodes, delivered 5 minutes later')
      .epilogue(EPILOGUE);
    // one value per flag: an array option would otherwise swallow the topic and messages after it
    return transportFlags(authFlag(clientFlags(built, { tcp: true, http: true, userAgent: true }), true), 'producer-opt').nargs('nsqd-tcp-address', 1).nargs('nsqd-http-address', 1);
  },
  handler: async (argv) => {
    const options = readPubOptions(argv as Record<string, unknown>);
    const { runPub } = await import('../src/tools/pub/run.js');
    await runPub(options);
  },
};

const usage = (message: string): UserError => usageError(message);

const ESCAPES: Record<string, number> = { '0': 0, a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, e: 27, '\\': 92 };

/** A --delimiter value: text with C-style escapes (\n, \t, \0, \xHH, \\); any number of bytes. */
export function parseDelimiter(text: string): Buffer {
  const bytes: Buffer[] = [];
  let lit = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '\\') {
      lit += c;
      continue;
    }
    const e = text[i + 1];
    if (e === undefined) throw usage(`invalid value "${text}" for flag --delimiter: ends with a lone backslash (write \\\\ for one)`);
    let byte: number;
    if (e === 'x') {
      const hex = text.slice(i + 2, i + 4);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw usage(`invalid value "${text}" for flag --delimiter: \\x takes two hex digits`);
      byte = parseInt(hex, 16);
      i += 3;
    } else if (e in ESCAPES) {
      byte = ESCAPES[e]!;
      i += 1;
    } else {
      throw usage(`invalid value "${text}" for flag --delimiter: unknown escape \\${e}`);
    }
    if (lit !== '') bytes.push(Buffer.from(lit));
    lit = '';
    bytes.push(Buffer.from([byte]));
  }
  if (lit !== '') bytes.push(Buffer.from(lit));
  const out = Buffer.concat(bytes);
  if (out.length === 0) throw usage('flag --delimiter must not be empty');
  return out;
}

/** The tool's options from the parsed command line. */
export function readPubOptions(argv: Record<string, unknown>): PubConfig {
  const name = typeof argv['$0'] === 'string' && argv['$0'] !== '' ? argv['$0'] : 'nsq';
  // under `nsq`, argv._ starts with the command word; under to_nsq the command is the default one
  const positional = [...(((argv['_'] as unknown[] | undefined) ?? []).slice(name === 'to_nsq' ? 0 : 1)), ...((argv['--'] as unknown[] | undefined) ?? [])].map(String);
  let topic = typeof argv['topic'] === 'string' ? argv['topic'] : undefined;
  if (topic === undefined) topic = positional.shift();
  if (topic === undefined || topic === '') throw usage('a topic is required: nsq pub <topic> [message...] (or --topic)');
  if (!isValidTopicName(topic)) throw usage(`invalid topic name "${topic}": 1-64 characters of [.a-zA-Z0-9_-], optionally ending in #ephemeral`);

  if (argv['null'] === true && argv['delimiter'] !== undefined) throw usage('give either -0 or --delimiter, not both');
  const delimiter = argv['null'] === true ? Buffer.from([0]) : parseDelimiter(typeof argv['delimiter'] === 'string' ? argv['delimiter'] : '\\n');

  const rate = argv['rate'] === undefined ? 0 : numberFlag('rate', argv['rate'], 0);
  const deferMs = argv['defer'] === undefined ? 0 : Math.round(durationFlag('defer', argv['defer'], 0));

  let count: number | null = null;
  if (argv['count'] !== undefined) {
    count = integerFlag('count', argv['count'], 1);
    if (positional.length === 0) throw usage(`--count repeats the messages given as arguments, and there are none: ${name === 'to_nsq' ? 'to_nsq' : 'nsq pub'} <topic> <message> --count N (stdin is published once, as read)`);
    for (const m of positional) {
      try {
        compileTemplate(m);
      } catch (err) {
        if (err instanceof TemplateError) throw usage(err.message);
        throw err;
      }
    }
  }

  const retry = argv['retry'] === true;
  const retryTimeoutMs = Math.round(durationFlag('retry-timeout', argv['retry-timeout'] ?? '1m', 0));

  if (argv['quiet'] === true && argv['progress'] === true) throw usage('give either --quiet or --progress, not both');
  const client = readClientFlags(argv, 'pub', packageVersion());
  return {
    name,
    topic,
    messages: positional.length > 0 ? positional.map((m) => Buffer.from(m)) : null,
    count,
    delimiter,
    // text input ends with a newline that is not part of its last record; NUL-separated records
    // are binary (find -print0 ends each one with its NUL), so theirs are kept byte for byte
    trimFinalNewline: !delimiter.includes(0),
    allowEmpty: argv['allow-empty'] === true,
    rate,
    deferMs,
    http: argv['http'] === true,
    nsqdTcpAddresses: client.nsqdTcpAddresses,
    nsqdHttpAddresses: client.nsqdHttpAddresses,
    lookupdHttpAddresses: client.lookupdHttpAddresses,
    userAgent: client.userAgent,
    transport: readTransportFlags(argv),
    authSecret: client.authSecret,
    progress: argv['quiet'] === true ? 'never' : argv['progress'] === true ? 'always' : 'auto',
    retry,
    retryTimeoutMs,
  };
}


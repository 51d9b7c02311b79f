// The yargs program: every subcommand from commands/, strict flags, one-line errors (exit 2).

import yargs from 'yargs';
import { commands } from './index.js';
import { UserError } from '../src/util/errors.js';
import { closest } from './flags/suggest.js';
import { withGoOptions } from './flags/client.js';
import { READS_OWN_GO_OPTIONS } from './flags/go-nsq.js';
import { packageVersion } from '../src/version.js';
import { helpWidth } from './help-text.js';

/**
 * Go's flag package: a flag given twice takes the last value. Repeatable flags (declared
 * `array: true`) keep every value.
 */
function lastValueWins(argv: Record<string, unknown>, y: unknown): void {
  const arrays = new Set((y as { getOptions(): { array: string[] } }).getOptions().array);
  for (const [key, value] of Object.entries(argv)) {
    if (Array.isArray(value) && key !== '_' && !arrays.has(key) && value.length > 0) argv[key] = value[value.length - 1];
  }
}

/**
 * go-nsq's --consumer-opt/--producer-opt name,value pairs become the flags they stand for; the
 * commands that read them per side themselves (to-nsq: the source's and the destinations') are left alone.
 */
function foldGoOptions(command: string | undefined): (argv: Record<string, unknown>) => void {
  return (argv) => {
    if (argv['consumer-opt'] === undefined && argv['producer-opt'] === undefined) return;
    if (READS_OWN_GO_OPTIONS.has(command ?? String((argv['_'] as unknown[] | undefined)?.[0] ?? ''))) return;
    Object.assign(argv, withGoOptions(argv));
  };
}

/**
 * Stand-ins for a check of the command line without running it (tests): `handler` gets the parsed
 * flags instead of the command's handler, `fail` the one-line error and exit code instead of exit.
 */
export interface CliHooks {
  handler(argv: Record<string, unknown>): void | Promise<void>;
  fail(message: string, exitCode: number): never;
}

const exitWith = (message: string, exitCode: number): never => {
  process.stderr.write(`${message}\n`);
  process.exit(exitCode);
};

/** `alias` is the subcommand a Go tool name stands for: it becomes the only, default command. */
export async function runCli(args: string[], name: string, alias?: string, hooks?: CliHooks): Promise<void> {
  const fail = hooks?.fail ?? exitWith;
  // flags are read by their spelled names; camelCase copies only made unknown flags reported twice
  let cli = yargs(args).scriptName(name).parserConfiguration({ 'camel-case-expansion': false, 'parse-numbers': false }).middleware(lastValueWins as never, true)
    .middleware(foldGoOptions(alias) as never);
  if (hooks !== undefined) cli = cli.exitProcess(false);
  if (alias !== undefined) {
    const cmd = commands.find((c) => c.command === alias || (Array.isArray(c.command) && c.command[0] === alias));
    if (cmd === undefined) throw new UserError(`${name} is not available yet`);
    cli = cli.command({ ...cmd, command: '$0', ...(hooks === undefined ? {} : { handler: hooks.handler }) });
  } else {
    cli = cli
      .usage('nsq <command> [options]\n\nNSQ, the realtime distributed message queue, in one program.')
      .command(hooks === undefined ? commands : commands.map((c) => ({ ...c, handler: hooks.handler })))
      .demandCommand(1, 'no command given; see --help');
  }
  cli = cli
    .strict()
    .help()
    .alias('help', 'h')
    .version(packageVersion())
    .wrap(helpWidth())
    .fail((msg, err) => {
      if (err instanceof UserError) fail(`${name}: ${err.message}`, err.exitCode);
      // yargs' parser reports some mistakes as errors (a flag given without its value): usage too
      if (err && err.name === 'YError') fail(`${name}: ${err.message}`, 2);
      if (err) throw err;
      // yargs is now set up for the command that failed: its options are the ones to suggest
      fail(`${name}: ${explain(msg, args, alias === undefined, cli)}`, 2);
    });
  await cli.parseAsync();
}

const commandNames = (): string[] => commands.map((c) => String(Array.isArray(c.command) ? c.command[0] : c.command).split(' ')[0]!);

/**
 * yargs' complaint as one line a user can act on: an unknown command or flag is named once, with
 * the nearest known one.
 */
function explain(msg: string, args: string[], topLevel: boolean, y: unknown): string {
  const unknown = /^Unknown arguments?: (.*)$/s.exec(msg);
  if (unknown === null) return msg;
  const words = unknown[1]!.split(', ');
  const firstWord = args.find((a) => !a.startsWith('-'));
  if (topLevel && firstWord !== undefined && words.includes(firstWord) && !commandNames().includes(firstWord)) {
    const guess = closest(firstWord, commandNames());
    return `unknown command "${firstWord}"${guess === null ? '; see nsq --help' : `; did you mean "${guess}"?`}`;
  }
  const spelled = (w: string): string | undefined =>
    [`--${w}`, `-${w}`, `--no-${w}`].find((f) => args.some((a) => a === f || a.startsWith(`${f}=`)));
  const flag = words.find((w) => spelled(w) !== undefined);
  if (flag === undefined) {
    // a word where a subcommand was expected (`nsq bench pubb`)
    const subs = (y as { getInternalMethods(): { getCommandInstance(): { getCommands(): string[] } } }).getInternalMethods().getCommandInstance().getCommands();
    const guess = closest(words[0]!, subs);
    return `unknown argument "${words[0]}"${guess === null ? '' : `; did you mean "${guess}"?`}`;
  }
  const known = Object.keys((y as { getOptions(): { key: Record<string, unknown> } }).getOptions().key).filter((k) => k.length > 1 && k !== '$0');
  // as typed (--no-x stays --no-x), with Go's single dash made double
  const typed = spelled(flag)!.replace(/^-(?=[^-])/, flag.length === 1 ? '-' : '--');
  const guess = closest(typed.replace(/^-+/, ''), known) ?? closest(flag, known);
  return `unknown flag ${typed}${guess === null ? '' : ` (did you mean --${guess}?)`}`;
}

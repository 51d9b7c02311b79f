// The yargs program: every subcommand from commands/, strict flags, one-line errors (exit 2).

import yargs from 'yargs';
import { commands } from '../commands/index.js';
import { UserError } from './util/errors.js';
import { packageVersion } from './version.js';

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

/** `alias` is the subcommand a Go tool name stands for: it becomes the only, default command. */
export async function runCli(args: string[], name: string, alias?: string): Promise<void> {
  let cli = yargs(args).scriptName(name).middleware(lastValueWins as never, true);
  if (alias !== undefined) {
    const cmd = commands.find((c) => c.command === alias || (Array.isArray(c.command) && c.command[0] === alias));
    if (cmd === undefined) throw new UserError(`${name} is not available yet`);
    cli = cli.command({ ...cmd, command: '$0' });
  } else {
    cli = cli
      .usage('nsq <command> [options]\n\nNSQ, the realtime distributed message queue, in one program.')
      .command(commands)
      .demandCommand(1, 'no command given; see --help')
      .recommendCommands();
  }
  cli = cli
    .strict()
    .help()
    .alias('help', 'h')
    .version(packageVersion())
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err instanceof UserError) {
        process.stderr.write(`${name}: ${err.message}\n`);
        process.exit(err.exitCode);
      }
      if (err) throw err;
      process.stderr.write(`${name}: ${msg}\n`);
      process.exit(2);
    });
  await cli.parseAsync();
}

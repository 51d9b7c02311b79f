// Entry point: picks the command from the name the program was invoked under (nsq, nsqd, ...)
// and hands the arguments to yargs. `--version` is answered before anything heavy loads, and the
// daemons start without yargs when their command line is plainly their own flags.

import { basename } from 'node:path';
import { ALIAS_ARGS, ALIASES, COMMAND_NAMES } from './aliases.js';
import { normalizeGoFlags } from './flags/go-argv.js';
import { NSQ_VERSION, packageVersion } from '../src/version.js';
import { helpInvocation, helpWidth, prerenderedHelp } from './help-text.js';

function invokedAs(): string {
  const name = basename(process.argv[1] ?? 'nsq').replace(/\.(c|m)?js$/, '');
  return name in ALIASES ? name : 'nsq';
}

async function main(): Promise<void> {
  const name = invokedAs();
  let args = normalizeGoFlags(process.argv.slice(2));
  const isVersion = (a: string | undefined): boolean => a === '--version' || a === '-v' || a === '-V';
  // `nsq --version`, `nsqd --version`, and `nsq serve --version` (the same answer): no yargs
  if ((args.length === 1 && isVersion(args[0])) || (name === 'nsq' && args.length === 2 && COMMAND_NAMES.includes(args[0]!) && args[1] === '--version')) {
    process.stdout.write(
      name === 'nsq' ? `nsq v${packageVersion()} (nsqd protocol ${NSQ_VERSION}, node ${process.version})\n` : `${name} v${NSQ_VERSION} (nsq v${packageVersion()}, node ${process.version})\n`,
    );
    return;
  }
  // `--help` as yargs rendered it at this width (help/, written by npm run completions)
  const help = helpInvocation(name, args);
  const text = help === null ? null : prerenderedHelp(help, helpWidth());
  if (text !== null) {
    process.stdout.write(text);
    return;
  }
  // the daemons' start-up path: yargs only for a line it has to judge (a mistake, --help)
  const daemon = name === 'nsq' ? args[0] : ALIASES[name];
  const flags = name === 'nsq' ? args.slice(1) : args;
  if (daemon === 'serve' && (await (await import('./serve.js')).serveWithoutYargs(flags))) return;
  if (daemon === 'lookupd' && (await (await import('./lookupd.js')).lookupdWithoutYargs(flags))) return;
  const { runCli } = await import('./program.js');
  await runCli([...(ALIAS_ARGS[name] ?? []), ...args], name, ALIASES[name]);
}

main().catch((err: unknown) => {
  // a user's mistake found outside yargs' own checks (a flag folded in by middleware) keeps its exit code
  const code = err instanceof Error && typeof (err as { exitCode?: unknown }).exitCode === 'number' ? (err as unknown as { exitCode: number }).exitCode : 1;
  process.stderr.write(`${invokedAs()}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(code);
});

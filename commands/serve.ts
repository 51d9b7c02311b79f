// `nsq serve` (also `nsqd`): the message engine.

import type { CommandModule } from 'yargs';
import { nsqdFlags, nsqdFlagShapes } from './flags/nsqd.js';
import { readPlainFlags, type FlagShape } from './flags/plain-argv.js';
import { hostPortFlag } from './flags/values.js';
import { normalizeGoFlags } from './flags/go-argv.js';

/** The flags beyond nsqd's, declared once for yargs and for the start-up path without it. */
const BEYOND_NSQD = {
  'with-lookupd': { type: 'boolean', default: false, describe: 'also run a lookupd in this process and register with it' },
  'with-lookupd-tcp-address': { type: 'string', default: '127.0.0.1:4160', describe: 'TCP address of the --with-lookupd lookupd' },
  'with-lookupd-http-address': { type: 'string', default: '127.0.0.1:4161', describe: 'HTTP address of the --with-lookupd lookupd' },
  'with-admin': { type: 'boolean', default: false, describe: 'also serve nsq admin (the nsqadmin API and page) over this node, or over its --with-lookupd' },
  'with-admin-http-address': { type: 'string', default: '127.0.0.1:4171', describe: 'HTTP address of the --with-admin page' },
  nodes: { type: 'string', defaultDescription: '1', describe: 'run N nodes (auto: one per core), each its own process: node i listens on each port + i * --port-step, keeps <data-path>/node-<i>, has node ID + i; consumers must find them through lookupd' },
  'port-step': { type: 'string', defaultDescription: '2', describe: 'with --nodes: node i listens on each given port + i * this' },
} as const;

/** Reads the parsed flags into the engine's options and runs it. */
async function serveWith(argv: Record<string, unknown>): Promise<void> {
  // --nodes 2 or more: a supervisor of ordinary nodes (commands/serve-nodes.ts), loaded only then
  if (argv['nodes'] !== undefined) {
    const nodes = await import('./serve-nodes.js');
    const count = nodes.nodeCount(argv['nodes']);
    if (count > 1) return nodes.superviseNodes(argv, count, typedCommandLine());
  }
  const { readNsqdOptions } = await import('./flags/nsqd.js');
  const nsqd = await readNsqdOptions(argv);
  const withLookupd =
    argv['with-lookupd'] === true
      ? { tcpAddress: hostPortFlag('with-lookupd-tcp-address', String(argv['with-lookupd-tcp-address'])), httpAddress: hostPortFlag('with-lookupd-http-address', String(argv['with-lookupd-http-address'])) }
      : null;
  const withAdmin = argv['with-admin'] === true ? hostPortFlag('with-admin-http-address', String(argv['with-admin-http-address'])) : null;
  const { runServe } = await import('./serve-run.js');
  await runServe({ nsqd, withLookupd, withAdmin });
}

/**
 * serve's flags as typed (Go's single dashes made double), and the words before them that make the
 * same command again (`serve` under `nsq`, nothing under `nsqd`): what --nodes gives each node.
 */
function typedCommandLine(): { command: string[]; flags: string[] } {
  const args = normalizeGoFlags(process.argv.slice(2));
  return args[0] === 'serve' ? { command: ['serve'], flags: args.slice(1) } : { command: [], flags: args };
}

/**
 * The start-up path (commands/main.ts): runs the engine when the command line is plainly serve's
 * flags, read without yargs; false when it is not, and yargs is to read it (and say what is wrong).
 */
export async function serveWithoutYargs(args: readonly string[]): Promise<boolean> {
  const argv = readPlainFlags(args, serveFlagShapes());
  if (argv === null) return false;
  await serveWith(argv);
  return true;
}

export function serveFlagShapes(): Record<string, FlagShape> {
  const shapes = nsqdFlagShapes();
  for (const [flag, o] of Object.entries(BEYOND_NSQD)) shapes[flag] = o.type === 'boolean' ? { boolean: true, default: o.default } : 'default' in o ? { default: o.default } : {};
  return shapes;
}

export const serve: CommandModule = {
  command: 'serve',
  describe: 'Run the nsqd-compatible daemon (TCP protocol V2 + HTTP API)',
  builder: (y) => {
    let b = nsqdFlags(y);
    for (const [flag, o] of Object.entries(BEYOND_NSQD)) b = b.option(flag, { ...o, group: 'beyond nsqd:' });
    return b
      .example('$0 serve', 'listen on 127.0.0.1:4150 (TCP) and 127.0.0.1:4151 (HTTP)')
      .example('$0 serve --tcp-address=0.0.0.0:4150 --mem-queue-size=100000', '')
      .example('$0 serve --nodes 2 --with-lookupd', 'two nodes (TCP 4150 and 4152, HTTP 4151 and 4153) and a lookupd');
  },
  handler: (argv) => serveWith(argv as Record<string, unknown>),
};

// The daemons' start-up path (commands/flags/plain-argv.ts): a line of their own flags is read
// without yargs into what yargs would have read; any other line is left to yargs, whose refusals
// stay the program's one wording. Checked in-process against the yargs program, and on the binary.

import t from 'tap';
import { runCli } from '../../commands/program.js';
import { readPlainFlags } from '../../commands/flags/plain-argv.js';
import { readNsqdOptions } from '../../commands/flags/nsqd.js';
import { lookupdFlagShapes, readLookupdOptions } from '../../commands/flags/lookupd.js';
import { serveFlagShapes } from '../../commands/serve.js';
import { serverPorts, spawnNsq } from '../helpers/nsqd.js';

/** The flags yargs hands `nsq <command>`'s handler, without the names yargs adds. */
async function yargsFlags(command: string, args: string[]): Promise<Record<string, unknown>> {
  let argv: Record<string, unknown> | null = null;
  await runCli([command, ...args], 'nsq', undefined, {
    handler: (a) => {
      argv = a;
    },
    fail: (message) => {
      throw new Error(message);
    },
  });
  const { _: _positional, $0: _name, ...flags } = argv! as Record<string, unknown>;
  return flags;
}

const SERVE_LINES: string[][] = [
  [],
  ['--tcp-address=127.0.0.1:0', '--http-address', '127.0.0.1:0'],
  ['--mem-queue-size', '5', '--mem-queue-size=6'],
  ['--durable', '--snappy=false', '--deflate', '--max-deflate-level', '3'],
  ['--lookupd-tcp-address=127.0.0.1:4160', '--lookupd-tcp-address', '127.0.0.2:4160,127.0.0.3:4160'],
  ['--e2e-processing-latency-percentile=0.99', '--e2e-processing-latency-percentile=0.5,1'],
  ['--with-lookupd', '--with-lookupd-tcp-address=127.0.0.1:0', '--log-prefix=[x] '],
  ['--verbose', '--worker-id', '--log-level=warn', '--msg-timeout', '30s'],
  ['--tls-required=tcp-https', '--data-path=', '--node-id=-1'],
];

t.test('nsq serve: the start-up path reads what yargs reads', async (t) => {
  for (const line of SERVE_LINES) {
    const plain = readPlainFlags(line, serveFlagShapes());
    if (plain === null) {
      t.fail(`${line.join(' ')}: left to yargs`);
      continue;
    }
    const viaYargs = await yargsFlags('serve', line);
    t.same(plain, viaYargs, `serve ${line.join(' ')}: the same flags`);
    // and the same options or the same refusal (node-id=-1 is out of range)
    const read = (flags: Record<string, unknown>): Promise<unknown> => readNsqdOptions(flags).catch((err: Error) => err.message);
    t.same(await read(plain), await read(viaYargs), `serve ${line.join(' ')}: the same options`);
  }
});

t.test('nsq lookupd: the start-up path reads what yargs reads', async (t) => {
  for (const line of [[], ['--verbose', '--tcp-address', '127.0.0.1:0', '--tombstone-lifetime=10s', '--tombstone-lifetime=20s'], ['--log-level=debug', '--broadcast-address=a']]) {
    const plain = readPlainFlags(line, lookupdFlagShapes());
    t.not(plain, null, `lookupd ${line.join(' ')}: read`);
    t.same(await readLookupdOptions(plain!), await readLookupdOptions(await yargsFlags('lookupd', line)), `lookupd ${line.join(' ')}: the same options`);
  }
});

t.test('a line that is not plainly the command’s flags is left to yargs', async (t) => {
  const cases: string[][] = [
    ['extra'],
    ['--tcp-adress=127.0.0.1:0'],
    ['--no-durable'],
    ['--help'],
    ['-h'],
    ['--version'],
    ['--mem-queue-size'],
    ['--mem-queue-size', '--durable'],
    ['--node-id', '-1'],
    ['--data-path'],
    ['--durable', 'yes'],
    ['--with-lookupd=false'],
    ['--log-prefix="x"'],
    ['--', '--durable'],
    ['--constructor=1'],
  ];
  for (const line of cases) t.equal(readPlainFlags(line, serveFlagShapes()), null, `serve ${line.join(' ')}`);
});

t.test('the binary: flags read on the start-up path reach the engine; mistakes get yargs’ line', async (t) => {
  const p = spawnNsq(t, ['serve', '--tcp-address=127.0.0.1:0', '--http-address', '127.0.0.1:0', '--mem-queue-size', '7', '--lookupd-tcp-address=127.0.0.1:1', '--lookupd-tcp-address', '127.0.0.1:2', '--log-level=info']);
  const ports = await serverPorts(p);
  const get = async (opt: string): Promise<unknown> => (await fetch(`http://127.0.0.1:${ports.http}/config/${opt}`)).json();
  t.equal(await get('mem_queue_size'), 7);
  t.same(await get('nsqlookupd_tcp_addresses'), ['127.0.0.1:1', '127.0.0.1:2']);
  p.child.kill('SIGTERM');
  t.equal((await p.exit).code, 0, 'stops cleanly on SIGTERM');

  const cases: [string[], number, string][] = [
    [['serve', '--mem-queue-size', 'lots'], 2, 'nsq: invalid value "lots" for flag --mem-queue-size: want an integer\n'],
    [['serve', '--tcp-adress=127.0.0.1:0'], 2, 'nsq: unknown flag --tcp-adress (did you mean --tcp-address?)\n'],
    [['serve', 'extra'], 2, 'nsq: unknown argument "extra"\n'],
    [['lookupd', '--tcp-address=abc'], 2, 'nsq: invalid value "abc" for flag --tcp-address: want host:port\n'],
  ];
  const runs = cases.map(([args]) => spawnNsq(t, args));
  for (const [i, [args, code, line]] of cases.entries()) {
    t.equal((await runs[i]!.exit).code, code, args.join(' '));
    t.equal(runs[i]!.stderr(), line);
  }
});

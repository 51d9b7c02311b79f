// Every flag of nsqd 1.3 and nsqlookupd 1.3 (their Go flag sets, apps/nsqd/options.go nsqdFlagSet and
// apps/nsqlookupd/main.go nsqlookupdFlagSet), in Go's single-dash spelling: accepted by `nsq serve`/
// `nsqd` and `nsq lookupd`/`nsqlookupd`, or refused with the one line and exit 2 the README documents.
// The whole list goes through the command line's own parser in-process (the same yargs program and
// option functions the commands run); a handful of spawned runs show the real binary agrees.

import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type * as Tap from 'tap';
import { runCli } from '../../commands/program.js';
import { readLookupdOptions } from '../../commands/flags/lookupd.js';
import { LOOKUPD_FLAGS } from '../../src/lookupd/flags.js';
import { NSQD_FLAGS } from '../../src/nsqd/flags.js';
import { readNsqdOptions } from '../../commands/flags/nsqd.js';
import { normalizeGoFlags } from '../../commands/flags/go-argv.js';
import { readPlainFlags } from '../../commands/flags/plain-argv.js';
import { serveFlagShapes } from '../../commands/serve.js';
import { lookupdFlagShapes } from '../../commands/flags/lookupd.js';
import { BIN, serverPorts, spawnNsq, tempDir } from '../helpers/nsqd.js';

const dir = tempDir(t, 'nsq-go-flags-');

/** [flag, a valid example value ('' = the bare boolean flag)] */
type FlagCase = [string, string];

const NSQD_13: FlagCase[] = [
  ['version', ''],
  ['config', join(dir, 'nsqd.toml')],
  ['log-level', 'warn'],
  ['log-prefix', '[x] '],
  ['verbose', ''],
  ['node-id', '7'],
  ['worker-id', ''],
  ['https-address', '127.0.0.1:0'],
  ['http-address', '127.0.0.1:0'],
  ['tcp-address', '127.0.0.1:0'],
  ['auth-http-address', '127.0.0.1:4181'],
  ['auth-http-request-method', 'post'],
  ['broadcast-address', 'node1'],
  // parsed, never listened on or dialled (every listener here is :0); off NSQ's default ports all the same
  ['broadcast-tcp-port', '14150'],
  ['broadcast-http-port', '14151'],
  ['lookupd-tcp-address', '127.0.0.1:14160'],
  ['http-client-connect-timeout', '2s'],
  ['http-client-request-timeout', '5s'],
  ['data-path', dir],
  ['mem-queue-size', '100'],
  ['max-bytes-per-file', '1048576'],
  ['sync-every', '100'],
  ['sync-timeout', '2s'],
  ['queue-scan-worker-pool-max', '4'],
  ['queue-scan-selection-count', '20'],
  ['msg-timeout', '30s'],
  ['max-msg-timeout', '10m'],
  ['max-msg-size', '2048'],
  ['max-req-timeout', '1h'],
  ['max-body-size', '4096'],
  ['max-heartbeat-interval', '30s'],
  ['max-rdy-count', '100'],
  ['max-output-buffer-size', '65536'],
  ['max-output-buffer-timeout', '30s'],
  ['min-output-buffer-timeout', '25ms'],
  ['output-buffer-timeout', '250ms'],
  ['max-channel-consumers', '10'],
  ['statsd-address', '127.0.0.1:8125'],
  ['statsd-interval', '30s'],
  ['statsd-mem-stats', 'false'],
  ['statsd-prefix', 'nsq.%s'],
  ['statsd-udp-packet-size', '1400'],
  ['statsd-exclude-ephemeral', ''],
  ['e2e-processing-latency-percentile', '0.99,0.95'],
  ['e2e-processing-latency-window-time', '5m'],
  ['tls-cert', join(dir, 'cert.pem')],
  ['tls-key', join(dir, 'key.pem')],
  ['tls-client-auth-policy', 'require-verify'],
  ['tls-root-ca-file', join(dir, 'ca.pem')],
  ['tls-required', 'tcp-https'],
  ['tls-min-version', 'tls1.2'],
  ['deflate', ''],
  ['max-deflate-level', '6'],
  ['snappy', 'true'],
];

const NSQLOOKUPD_13: FlagCase[] = [
  ['config', join(dir, 'nsqlookupd.toml')],
  ['version', ''],
  ['log-level', 'warn'],
  ['log-prefix', '[x] '],
  ['verbose', ''],
  ['tcp-address', '127.0.0.1:0'],
  ['http-address', '127.0.0.1:0'],
  ['broadcast-address', 'lookup1'],
  ['inactive-producer-timeout', '1m'],
  ['tombstone-lifetime', '30s'],
];

/** Flags refused on purpose: the one line (after the program name) they get. None today. */
const REFUSED: Record<string, string> = {};

writeFileSync(join(dir, 'nsqd.toml'), 'mem_queue_size = 5\nnsqlookupd_tcp_addresses = ["127.0.0.1:14160"]\n');
writeFileSync(join(dir, 'nsqlookupd.toml'), 'log_prefix = "[from config] "\ntombstone_lifetime = "10s"\n');

const goArg = ([flag, value]: FlagCase): string => (value === '' ? `-${flag}` : `-${flag}=${value}`);

class Refused extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Parses a command line as the program does (Go flags normalised, strict yargs, option functions), without running it. */
async function check(args: string[], name: string, alias: string | undefined): Promise<Record<string, unknown>> {
  let options: Record<string, unknown> | null = null;
  const command = alias ?? args[0];
  await runCli(normalizeGoFlags(args), name, alias, {
    handler: async (argv) => {
      options = command === 'serve' ? await readNsqdOptions(argv) : await readLookupdOptions(argv);
    },
    fail: (message, exitCode) => {
      throw new Refused(message, exitCode);
    },
  });
  if (options === null) throw new Error('the command was not run');
  // the daemons' start-up path reads the same line without yargs, into the same options
  const plain = readPlainFlags(normalizeGoFlags(alias === undefined ? args.slice(1) : args), command === 'serve' ? serveFlagShapes() : lookupdFlagShapes());
  if (plain === null) throw new Error(`${args.join(' ')}: the start-up path left this line to yargs`);
  const fast = command === 'serve' ? await readNsqdOptions(plain) : await readLookupdOptions(plain);
  if (JSON.stringify(fast) !== JSON.stringify(options)) throw new Error(`${args.join(' ')}: the start-up path read ${JSON.stringify(fast)}, yargs ${JSON.stringify(options)}`);
  return options;
}

const programs: { go: string; command: string; list: FlagCase[]; keyOf: (flag: string) => string | null | undefined }[] = [
  { go: 'nsqd', command: 'serve', list: NSQD_13, keyOf: (f) => NSQD_FLAGS[f]?.key },
  { go: 'nsqlookupd', command: 'lookupd', list: NSQLOOKUPD_13, keyOf: (f) => LOOKUPD_FLAGS[f]?.key },
];

/** What an accepted flag should have done to the options. */
function accepted(t: Tap.Test, what: string, flag: string, options: Record<string, unknown>, keyOf: (flag: string) => string | null | undefined): void {
  if (REFUSED[flag] !== undefined) return void t.fail(`${what}: accepted, but documented as refused`);
  if (flag === 'config') return void t.ok(Object.keys(options).length > 0, `${what}: accepted, the file's options taken`);
  const key = keyOf(flag);
  // null: accepted for compatibility, no effect here
  t.ok(key === null || (key !== undefined && options[key] !== undefined), `${what}: accepted${key === null ? ' (no effect)' : `, sets ${key}`}`);
}

for (const { go, command, list, keyOf } of programs) {
  // version prints and exits: spawned below
  const flags = list.filter(([f]) => f !== 'version');
  t.test(`every ${go} 1.3 flag, one at a time, as ${go}`, async (t) => {
    for (const fc of flags) {
      const what = `${go} ${goArg(fc)}`;
      try {
        accepted(t, what, fc[0], await check([goArg(fc)], go, command), keyOf);
      } catch (err) {
        if (!(err instanceof Refused)) throw err;
        const documented = REFUSED[fc[0]];
        if (documented === undefined) t.fail(`${what}: refused: ${err.message}`);
        else t.same([err.message, err.exitCode], [`${go}: ${documented}`, 2], `${what}: refused as documented`);
      }
    }
  });
  // the nsq path is the same flag table under another command name: one command line with every accepted flag
  t.test(`every accepted ${go} 1.3 flag at once, as nsq ${command}`, async (t) => {
    const ok = flags.filter(([f]) => REFUSED[f] === undefined);
    const options = await check([command, ...ok.map(goArg)], 'nsq', undefined);
    for (const fc of ok) accepted(t, `nsq ${command} ${goArg(fc)}`, fc[0], options, keyOf);
  });
}

t.test('docs/nsqd-compatibility.md lists exactly these flags, accepted or refused as the code does', async (t) => {
  const readme = readFileSync(new URL('../../../docs/nsqd-compatibility.md', import.meta.url), 'utf8');
  const start = readme.indexOf('## nsqd and nsqlookupd flags');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  t.ok(start !== -1, 'the section exists');
  for (const { go, list } of programs) {
    const table = new RegExp(`\\| ${go} flag \\|[^\\n]*\\n\\|[-|]+\\|\\n((?:\\|[^\\n]*\\n)+)`).exec(section);
    t.ok(table, `a table for ${go}`);
    const accepted: string[] = [];
    const refused: string[] = [];
    for (const row of (table?.[1] ?? '').trim().split('\n')) {
      const [, flags = '', status = ''] = row.split('|').map((c) => c.trim());
      const names = [...flags.matchAll(/`-([a-z0-9-]+)`/g)].map((m) => m[1]!);
      (/^(yes|accepted)\b/.test(status) ? accepted : refused).push(...names);
    }
    t.same([...accepted, ...refused].sort(), list.map(([f]) => f).sort(), `${go}: the README's rows name every 1.3 flag, once`);
    t.same(refused.sort(), list.map(([f]) => f).filter((f) => REFUSED[f] !== undefined).sort(), `${go}: the README's refusals are the code's`);
  }
});

// ---- the real binary, under both names -------------------------------------------------------------

function alias(name: string): string {
  const path = join(dir, name);
  symlinkSync(BIN, path);
  return path;
}

const NSQD = alias('nsqd');
const NSQLOOKUPD = alias('nsqlookupd');
const EPHEMERAL = ['-tcp-address=127.0.0.1:0', '-http-address=127.0.0.1:0'];

t.test('nsq lookupd --verbose starts (nsqlookupd 1.3 accepts it; test fixtures pass it)', async (t) => {
  const p = spawnNsq(t, ['lookupd', '--verbose', ...EPHEMERAL]);
  const ports = await serverPorts(p);
  t.equal(await (await fetch(`http://127.0.0.1:${ports.http}/ping`)).text(), 'OK');
  p.child.kill('SIGTERM');
  t.equal((await p.exit).code, 0);
});

t.test('nsqlookupd -verbose -config=file starts and takes the file', async (t) => {
  const p = spawnNsq(t, ['-verbose', `-config=${join(dir, 'nsqlookupd.toml')}`, ...EPHEMERAL], { argv0: NSQLOOKUPD });
  await serverPorts(p);
  t.match(p.stderr(), /^\[from config\] /m, 'log_prefix from the config file');
  p.child.kill('SIGTERM');
  t.equal((await p.exit).code, 0);
});

t.test('nsqd -verbose -worker-id starts', async (t) => {
  const p = spawnNsq(t, ['-verbose', '-worker-id', `-data-path=${tempDir(t)}`, ...EPHEMERAL], { argv0: NSQD });
  const ports = await serverPorts(p);
  t.equal(await (await fetch(`http://127.0.0.1:${ports.http}/ping`)).text(), 'OK');
  p.child.kill('SIGTERM');
  t.equal((await p.exit).code, 0);
});

t.test('-version under every name: the version, exit 0', async (t) => {
  const cases = [
    [['-version'], NSQD, /^nsqd v1\.3\.0/],
    [['-version'], NSQLOOKUPD, /^nsqlookupd v1\.3\.0/],
    [['serve', '-version'], undefined, /\d+\.\d+\.\d+/],
    [['lookupd', '-version'], undefined, /\d+\.\d+\.\d+/],
  ] as const;
  const runs = cases.map(([args, argv0]) => spawnNsq(t, [...args], argv0 === undefined ? {} : { argv0 }));
  for (const [i, [args, argv0, pattern]] of cases.entries()) {
    t.equal((await runs[i]!.exit).code, 0, `${argv0 === undefined ? 'nsq' : argv0.split('/').pop()} ${args.join(' ')}`);
    t.match(runs[i]!.stdout(), pattern);
  }
});

t.test('an unknown flag or a bad boolean: one line, exit 2', async (t) => {
  const cases = [
    [['-bogus-flag'], NSQLOOKUPD, 'nsqlookupd: unknown flag --bogus-flag\n'],
    [['-verbose=maybe', ...EPHEMERAL], NSQD, 'nsqd: invalid value "maybe" for flag --verbose: want true or false\n'],
    [['lookupd', '-verbose=maybe', ...EPHEMERAL], undefined, 'nsq: invalid value "maybe" for flag --verbose: want true or false\n'],
  ] as const;
  const runs = cases.map(([args, argv0]) => spawnNsq(t, [...args], argv0 === undefined ? {} : { argv0 }));
  for (const [i, [args, , line]] of cases.entries()) {
    t.equal((await runs[i]!.exit).code, 2, args.join(' '));
    t.equal(runs[i]!.stderr(), line);
  }
});

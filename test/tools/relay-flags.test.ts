// Every flag of nsq_to_http 1.3 and nsq_to_nsq 1.3 (apps/nsq_to_http/nsq_to_http.go and
// apps/nsq_to_nsq/nsq_to_nsq.go), in Go's single-dash spelling, through the program's own parser
// in-process (the yargs program and the commands' option readers): what each sets, the one-line
// refusals (exit 2), and the tables of docs/nsqd-compatibility.md against the same lists.

import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { toHttpOptions } from '../../commands/to-http.js';
import { toNsqOptions } from '../../commands/to-nsq.js';
import { normalizeGoFlags } from '../../commands/flags/go-argv.js';
import { runCli } from '../../commands/program.js';
import { UserError } from '../../src/util/errors.js';
import { BIN, spawnNsq, tempDir } from '../helpers/nsqd.js';

class Refused extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

type Read = { options: Record<string, unknown>; notes: string[] };

/** Parses a command line as the program does, under the Go name, without running the tool. */
async function check(go: 'nsq_to_http' | 'nsq_to_nsq', args: string[]): Promise<Read> {
  let read: Read | null = null;
  // (a reader's error reaches the test as thrown; the program prints it as `<name>: <message>`, exit 2)
  await runCli(normalizeGoFlags(args), go, go === 'nsq_to_http' ? 'to-http' : 'to-nsq', {
    handler: async (argv) => {
      const r = go === 'nsq_to_http' ? toHttpOptions(argv) : toNsqOptions(argv);
      read = { options: r.options as unknown as Record<string, unknown>, notes: r.notes };
    },
    fail: (message, exitCode) => {
      throw new Refused(message, exitCode);
    },
  }).catch((err: unknown) => {
    if (err instanceof UserError) throw new Refused(`${go}: ${err.message}`, err.exitCode);
    throw err;
  });
  if (read === null) throw new Error('the command was not run');
  return read;
}

async function refused(go: 'nsq_to_http' | 'nsq_to_nsq', args: string[]): Promise<string> {
  try {
    await check(go, args);
  } catch (err) {
    if (err instanceof Refused && err.exitCode === 2) return err.message;
    throw err;
  }
  throw new Error(`accepted: ${args.join(' ')}`);
}

/** [flag, a value ('' = bare), what it sets in the options] */
type FlagCase = [string, string, (o: Record<string, unknown>) => unknown, unknown];

const HTTP_BASE = ['-topic=t', '-post=http://127.0.0.1:8080/'];
const NSQ_BASE = ['-topic=t', '-destination-nsqd-tcp-address=127.0.0.1:4250'];

const NSQ_TO_HTTP_13: FlagCase[] = [
  ['topic', 'events', (o) => o['topic'], 'events'],
  ['channel', 'c1', (o) => o['channel'], 'c1'],
  ['max-in-flight', '17', (o) => (o['consumer'] as { maxInFlight: number }).maxInFlight, 17],
  ['n', '7', (o) => o['concurrency'], 7],
  ['mode', 'round-robin', (o) => o['mode'], 'round-robin'],
  ['sample', '0.25', (o) => o['sample'], 0.25],
  ['http-client-connect-timeout', '3s', (o) => o['connectTimeout'], 3000],
  ['http-client-request-timeout', '1m', (o) => o['requestTimeout'], 60_000],
  ['status-every', '0', (o) => o['statusEvery'], 0],
  ['content-type', 'application/json', (o) => (o['headers'] as Record<string, string>)['Content-Type'], 'application/json'],
  ['post', 'http://127.0.0.1:9000/x', (o) => (o['urls'] as string[]).includes('http://127.0.0.1:9000/x'), true],
  ['header', 'X-A: 1', (o) => (o['headers'] as Record<string, string>)['X-A'], '1'],
  ['nsqd-tcp-address', '10.0.0.1:4150', (o) => o['nsqdTcpAddresses'], ['10.0.0.1:4150']],
  ['lookupd-http-address', '10.0.0.2:4161', (o) => o['lookupdHttpAddresses'], ['10.0.0.2:4161']],
  ['consumer-opt', 'max_attempts,3', (o) => (o['consumer'] as { maxAttempts: number }).maxAttempts, 3],
];
// --get excludes --post: checked on its own
const GET: FlagCase = ['get', 'http://127.0.0.1:9000/?m=%s', (o) => [o['method'], o['urls']], ['GET', ['http://127.0.0.1:9000/?m=%s']]];

const NSQ_TO_NSQ_13: FlagCase[] = [
  ['topic', 'other', (o) => o['topics'], ['t', 'other']],
  ['channel', 'c2', (o) => o['channel'], 'c2'],
  ['destination-topic', 'copy', (o) => o['destinationTopic'], 'copy'],
  ['max-in-flight', '9', (o) => (o['consumer'] as { maxInFlight: number }).maxInFlight, 9],
  ['status-every', '10', (o) => o['statusEvery'], 10],
  ['mode', 'epsilon-greedy', (o) => o['mode'], 'epsilon-greedy'],
  ['nsqd-tcp-address', '10.0.0.1:4150', (o) => o['nsqdTcpAddresses'], ['10.0.0.1:4150']],
  ['destination-nsqd-tcp-address', '10.0.0.3:4150', (o) => o['destinations'], ['127.0.0.1:4250', '10.0.0.3:4150']],
  ['lookupd-http-address', '10.0.0.2:4161', (o) => o['lookupdHttpAddresses'], ['10.0.0.2:4161']],
  ['whitelist-json-field', 'a', (o) => (o['json'] as { whitelist: string[] }).whitelist, ['a']],
  ['require-json-field', 'kind', (o) => (o['json'] as { requireField: string }).requireField, 'kind'],
  ['consumer-opt', 'default_requeue_delay,5s', (o) => (o['consumer'] as { requeueDelay: number }).requeueDelay, 5000],
  ['producer-opt', 'tls_v1,true', (o) => (o['destinationTransport'] as { tls?: object }).tls !== undefined, true],
];
// needs --require-json-field
const REQUIRE_VALUE: FlagCase = ['require-json-value', 'x', (o) => (o['json'] as { requireValue: string }).requireValue, 'x'];

/** Flags of older releases that 1.3 no longer has: refused as unknown, as nsq_to_http 1.3 does. */
const GONE = {
  nsq_to_http: ['http-timeout', 'http-timeout-ms', 'round-robin', 'throttle-fraction', 'max-backoff-duration', 'reader-opt'],
  nsq_to_nsq: ['max-backoff-duration', 'reader-opt'],
};

const arg = (flag: string, value: string): string => (value === '' ? `-${flag}` : `-${flag}=${value}`);

t.test('every nsq_to_http 1.3 flag, one at a time, sets what it says', async (t) => {
  for (const [flag, value, get, want] of NSQ_TO_HTTP_13) {
    const { options } = await check('nsq_to_http', [...HTTP_BASE, arg(flag, value)]);
    t.same(get(options), want, `-${flag}=${value}`);
  }
  const [flag, value, get, want] = GET;
  t.same(get((await check('nsq_to_http', ['-topic=t', arg(flag, value)])).options), want, `-${flag}=${value}`);
  const all = await check('nsq_to_http', [...HTTP_BASE, ...NSQ_TO_HTTP_13.map(([f, v]) => arg(f, v))]);
  for (const [f, v, g, w] of NSQ_TO_HTTP_13) t.same(g(all.options), w, `all at once: -${f}=${v}`);
});

t.test('every nsq_to_nsq 1.3 flag, one at a time, sets what it says', async (t) => {
  for (const [flag, value, get, want] of NSQ_TO_NSQ_13) {
    const { options } = await check('nsq_to_nsq', [...NSQ_BASE, arg(flag, value)]);
    t.same(get(options), want, `-${flag}=${value}`);
  }
  const [flag, value, get, want] = REQUIRE_VALUE;
  t.same(get((await check('nsq_to_nsq', [...NSQ_BASE, '-require-json-field=k', arg(flag, value)])).options), want, `-${flag}=${value}`);
  const all = await check('nsq_to_nsq', [...NSQ_BASE, ...NSQ_TO_NSQ_13.map(([f, v]) => arg(f, v)), arg(...(REQUIRE_VALUE.slice(0, 2) as [string, string]))]);
  for (const [f, v, g, w] of NSQ_TO_NSQ_13) t.same(g(all.options), w, `all at once: -${f}=${v}`);
});

t.test("defaults are nsq_to_http's and nsq_to_nsq's", async (t) => {
  const h = (await check('nsq_to_http', HTTP_BASE)).options;
  t.match(h, { channel: 'nsq_to_http', mode: 'hostpool', concurrency: 100, sample: 1, connectTimeout: 2000, requestTimeout: 20_000, statusEvery: 250, method: 'POST' });
  t.match(h, { consumer: { maxInFlight: 200 }, headers: { 'User-Agent': 'nsq_to_http v1.3.0', 'Content-Type': 'application/octet-stream' }, nsqdTcpAddresses: ['127.0.0.1:4150'] });
  t.notOk('maxAttempts' in (h['consumer'] as object), 'no max_attempts: never gives up');
  const n = (await check('nsq_to_nsq', NSQ_BASE)).options;
  t.match(n, { channel: 'nsq_to_nsq', mode: 'hostpool', statusEvery: 250, destinationTopic: null, consumer: { maxInFlight: 200 } });
  // --header replaces a default header, --user-agent names both sides
  const ua = (await check('nsq_to_http', [...HTTP_BASE, '-header=user-agent: mine', '--user-agent=both'])).options;
  t.same([ua['headers'], ua['userAgent']], [{ 'Content-Type': 'application/octet-stream', 'user-agent': 'mine' }, 'both']);
});

t.test('go-nsq options: consumer settings, transport ones, no-effect ones noted, unknown ones refused', async (t) => {
  const r = await check('nsq_to_http', [...HTTP_BASE, '-consumer-opt=max_backoff_duration,3s', '-consumer-opt', 'msg_timeout,30s', '-consumer-opt=snappy,true', '-consumer-opt=backoff_strategy,full_jitter', '-consumer-opt=lookupd_poll_interval,15s']);
  t.match(r.options, { consumer: { maxBackoff: 3000, msgTimeout: 30_000 }, transport: { snappy: true }, lookupdPollInterval: 15_000 });
  t.same(r.notes, ['--consumer-opt=backoff_strategy: go-nsq tuning with no counterpart here, no effect']);
  const p = await check('nsq_to_nsq', [...NSQ_BASE, '-producer-opt=max_attempts,2', '-producer-opt=dial_timeout,2s', '-consumer-opt=deflate,true']);
  t.match(p.options, { producer: { connectTimeout: 2000 }, transport: { deflate: true }, destinationTransport: {} });
  t.notOk((p.options['destinationTransport'] as { deflate?: boolean }).deflate, '--consumer-opt stays on the source side');
  t.same(p.notes, ['--producer-opt=max_attempts: only a consumer setting, no effect on the destinations']);
  // each side keeps its own: the program's fold of go-nsq options into the shared flags leaves to-nsq alone
  const sides = await check('nsq_to_nsq', [...NSQ_BASE, '-producer-opt=tls_v1,true', '-producer-opt=user_agent,dest-ua', '-producer-opt=max_in_flight,3']);
  t.match(sides.options, { destinationTransport: { tls: {} }, userAgent: /^nsq-to_nsq\//, consumer: { maxInFlight: 200 } });
  t.equal((sides.options['transport'] as { tls?: object }).tls, undefined, '--producer-opt=tls_v1 is not the source\'s TLS');
  t.match(await refused('nsq_to_http', [...HTTP_BASE, '-consumer-opt=no_such,1']), /^nsq_to_http: invalid value "no_such,1" for flag --consumer-opt: supported options are max_in_flight, max_attempts, .*tls_v1/);
  t.equal(await refused('nsq_to_http', [...HTTP_BASE, '-consumer-opt=default_requeue_delay,5']), 'nsq_to_http: invalid value "5" for flag --consumer-opt=default_requeue_delay: missing unit in duration "5"');
});

t.test('refusals: one line, exit 2', async (t) => {
  const cases: [string, 'nsq_to_http' | 'nsq_to_nsq', string[], string][] = [
    ['no topic', 'nsq_to_http', ['-post=http://x/'], '--topic is required'],
    ['no endpoint', 'nsq_to_http', ['-topic=t'], '--get or --post is required'],
    ['both methods', 'nsq_to_http', [...HTTP_BASE, '-get=http://x/%s'], 'use --get or --post, not both'],
    ['GET without %s', 'nsq_to_http', ['-topic=t', '-get=http://x/'], 'invalid value "http://x/" for flag --get: want a URL with one %s (replaced by the message, query-escaped)'],
    ['GET with two', 'nsq_to_http', ['-topic=t', '-get=http://x/%s/%s'], 'invalid value "http://x/%s/%s" for flag --get: want a URL with one %s (replaced by the message, query-escaped)'],
    ['not http', 'nsq_to_http', ['-topic=t', '-post=ftp://x/'], 'invalid value "ftp://x/" for flag --post: want an http:// or https:// URL'],
    ['content type with GET', 'nsq_to_http', ['-topic=t', '-get=http://x/%s', '-content-type=a/b'], '--content-type is only used with --post'],
    ['empty content type', 'nsq_to_http', [...HTTP_BASE, '-content-type='], '--content-type requires a value when used'],
    ['a typo in --mode (Go would fan out)', 'nsq_to_http', [...HTTP_BASE, '-mode=roundrobin'], 'invalid value "roundrobin" for flag --mode: want one of round-robin, hostpool, epsilon-greedy, multicast'],
    ['header without a value', 'nsq_to_http', [...HTTP_BASE, '-header=X-A:'], `invalid value "X-A:" for flag --header: want 'key: value'`],
    ['header name', 'nsq_to_http', [...HTTP_BASE, '-header=X A: 1'], 'invalid value "X A: 1" for flag --header: Header name must be a valid HTTP token ["X A"]'],
    ['sample above 1', 'nsq_to_http', [...HTTP_BASE, '-sample=1.5'], 'invalid value "1.5" for flag --sample: want a number from 0.0 to 1.0'],
    ['n of 0', 'nsq_to_http', [...HTTP_BASE, '-n', '0'], 'invalid value "0" for flag -n: want an integer from 1 to 100000'],
    ['bad topic', 'nsq_to_nsq', ['-topic=a b', '-destination-nsqd-tcp-address=127.0.0.1:1'], 'invalid value "a b" for flag --topic: not a valid topic name'],
    ['no destination', 'nsq_to_nsq', ['-topic=t'], '--destination-nsqd-tcp-address is required (may be given multiple times)'],
    ['bad destination', 'nsq_to_nsq', ['-topic=t', '-destination-nsqd-tcp-address=a:b:c'], 'invalid value "a:b:c" for flag --destination-nsqd-tcp-address: want host:port'],
    ['multicast is nsq_to_http only', 'nsq_to_nsq', [...NSQ_BASE, '-mode=multicast'], 'invalid value "multicast" for flag --mode: want one of round-robin, hostpool, epsilon-greedy'],
    ['value without field', 'nsq_to_nsq', [...NSQ_BASE, '-require-json-value=1'], '--require-json-value needs --require-json-field (the field whose value to check)'],
  ];
  for (const [what, go, args, message] of cases) t.equal(await refused(go, args), `${go}: ${message}`, what);
  for (const [go, flags] of Object.entries(GONE) as ['nsq_to_http' | 'nsq_to_nsq', string[]][]) {
    const base = go === 'nsq_to_http' ? HTTP_BASE : NSQ_BASE;
    for (const f of flags) t.match(await refused(go, [...base, arg(f, 'x')]), new RegExp(`^${go}: unknown flag --${f}\\b`), `${go} -${f}: gone in 1.3, refused`);
  }
});

t.test('docs/nsqd-compatibility.md lists exactly these flags', async (t) => {
  const doc = readFileSync(new URL('../../../docs/nsqd-compatibility.md', import.meta.url), 'utf8');
  const start = doc.indexOf('## nsq_to_http and nsq_to_nsq flags');
  t.ok(start !== -1, 'the section exists');
  const end = doc.indexOf('\n## ', start + 1);
  const section = doc.slice(start, end === -1 ? undefined : end);
  const lists = { nsq_to_http: [...NSQ_TO_HTTP_13.map(([f]) => f), 'get', 'version'], nsq_to_nsq: [...NSQ_TO_NSQ_13.map(([f]) => f), 'require-json-value', 'version'] };
  for (const [go, list] of Object.entries(lists)) {
    const table = new RegExp(`\\| ${go} 1\\.3 flag \\|[^\\n]*\\n\\|[-|]+\\|\\n((?:\\|[^\\n]*\\n)+)`).exec(section);
    t.ok(table, `a table for ${go}`);
    const rows = (table?.[1] ?? '').trim().split('\n');
    const named = rows.flatMap((row) => [...(row.split('|')[1] ?? '').matchAll(/`-([a-z0-9-]+)`/g)].map((m) => m[1]!));
    t.same(named.sort(), [...list].sort(), `${go}: the rows name every 1.3 flag, once`);
    const gone = new RegExp(`${go} .*no longer has[^\\n]*`).exec(section)?.[0] ?? '';
    t.same([...gone.matchAll(/`-([a-z0-9-]+)`/g)].map((m) => m[1]).sort(), [...GONE[go as keyof typeof GONE]].sort(), `${go}: the flags 1.3 dropped are named`);
  }
});

t.test('under their Go names, --version answers as the Go tools', async (t) => {
  const dir = tempDir(t, 'nsq-relay-alias-');
  for (const go of ['nsq_to_http', 'nsq_to_nsq']) {
    const alias = join(dir, go);
    symlinkSync(BIN, alias);
    const p = spawnNsq(t, ['--version'], { argv0: alias });
    t.equal((await p.exit).code, 0);
    t.match(p.stdout(), new RegExp(`^${go} v1\\.3\\.0 \\(nsq v`));
  }
});

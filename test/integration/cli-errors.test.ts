// What a user sees when the command line is wrong, and what --help says: one line naming the
// mistake (with the nearest known name), exit 2, nothing started; help with a usage line, a
// capitalised description, value types, and only the flags the command uses.

import t from 'tap';
import { spawnNsq, type Teardown } from '../helpers/nsqd.js';

async function run(t: Teardown, args: string[]): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const p = spawnNsq(t, args);
  const { code } = await p.exit;
  return { code, stderr: p.stderr(), stdout: p.stdout() };
}

t.test('mistakes: one line, the nearest known name, exit 2', async (t) => {
  const cases: [string[], string][] = [
    [['publish', 'events', 'hi'], 'nsq: unknown command "publish"; did you mean "pub"?\n'],
    [['tial', 'events'], 'nsq: unknown command "tial"; did you mean "tail"?\n'],
    [['frobnicate'], 'nsq: unknown command "frobnicate"; see nsq --help\n'],
    [['serve', '--tcp-adress=127.0.0.1:0'], 'nsq: unknown flag --tcp-adress (did you mean --tcp-address?)\n'],
    [['serve', '-mem-queue-sise=5'], 'nsq: unknown flag --mem-queue-sise (did you mean --mem-queue-size?)\n'],
    [['tail', 'events', '--countt', '3'], 'nsq: unknown flag --countt (did you mean --count?)\n'],
    [['bench', 'pubb'], 'nsq: unknown argument "pubb"; did you mean "pub"?\n'],
    [['tail', 'events', '-n', 'abc'], 'nsq: invalid value "abc" for flag -n: want an integer >= 0\n'],
    [['tail', 'events', '--max-in-flight=1.5'], 'nsq: invalid value "1.5" for flag --max-in-flight: want an integer >= 1\n'],
    [['serve', '--mem-queue-size=lots'], 'nsq: invalid value "lots" for flag --mem-queue-size: want an integer\n'],
    [['top', '--count=x', '--once'], 'nsq: invalid value "x" for flag --count: want an integer >= 0\n'],
    [['serve', '--tcp-address=abc'], 'nsq: invalid value "abc" for flag --tcp-address: want host:port\n'],
    // yargs' parser throws this one rather than failing validation
    [['serve', '--mem-queue-size'], 'nsq: Not enough arguments following: mem-queue-size\n'],
  ];
  await Promise.all(
    cases.map(async ([args, line]) => {
      const r = await run(t, args);
      t.equal(r.stderr, line, args.join(' '));
      t.equal(r.code, 2, `${args.join(' ')}: exit 2`);
      t.equal(r.stdout, '', `${args.join(' ')}: nothing on stdout`);
    }),
  );
});

t.test('serve with a bad address exits before it logs or listens', async (t) => {
  const r = await run(t, ['serve', '--tcp-address=abc', '--http-address=127.0.0.1:0']);
  t.equal(r.code, 2);
  t.notMatch(r.stderr, /INFO|listening/, 'nothing was started');
});

t.test('--data-path that takes no files (/proc): says so, exit 1', async (t) => {
  const r = await run(t, ['serve', '--data-path=/proc', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0']);
  t.equal(r.code, 1);
  t.match(r.stderr, /^nsq: failed to lock data-path: \/proc is not writable \(no file can be created in it: E[A-Z]+\)$/m);
  t.notMatch(r.stderr, /listening/);
});

t.test('--help: usage line, capitalised description, value types, only the flags used', async (t) => {
  const commands = ['serve', 'lookupd', 'pub', 'tail', 'to-file', 'top', 'ls', 'topic', 'channel', 'completion', 'bench'];
  const helps = await Promise.all(commands.map(async (c) => [c, await run(t, [c, '--help'])] as const));
  for (const [c, r] of helps) {
    t.equal(r.code, 0, `${c} --help exits 0`);
    const lines = r.stdout.split('\n');
    t.match(lines[0], new RegExp(`^nsq ${c}\\b`), `${c}: starts with a usage line`);
    const describe = lines.slice(1).find((l) => l.trim() !== '' && !/^nsq /.test(l) && !/^nsq_/.test(l));
    t.match(describe, /^[A-Z]/, `${c}: the description is capitalised (${describe})`);
  }
  const help = Object.fromEntries(helps.map(([c, r]) => [c, r.stdout]));
  t.match(help['serve'], /--mem-queue-size[\s\S]*?\[number\]/, 'integers show as [number]');
  t.match(help['serve'], /--msg-timeout[\s\S]*?\[duration\]/, 'durations show as [duration]');
  t.match(help['serve'], /--durable [\s\S]*?\[boolean\]/, 'booleans show as [boolean]');
  t.match(help['tail'], /--count[\s\S]*?\[number\]/);
  t.match(help['tail'], /--nsqd-http-address\s+with --exit-at-end/, 'tail speaks TCP; only -e asks HTTP');
  t.notMatch(help['top'], /--nsqd-tcp-address|--user-agent|--lookupd-poll-interval/, 'top speaks HTTP only and asks lookupd every poll');
  t.notMatch(help['ls'], /--nsqd-tcp-address/, 'ls speaks HTTP only');
  t.notMatch(help['bench'], /--nsqd-http-address/);
  t.match(help['pub'], /--nsqd-http-address/, 'pub --http uses it');
});

t.test("the Go tools' flags: accepted, and doing what they say", async (t) => {
  const { startNsqd, tempDir } = await import('../helpers/nsqd.js');
  const { getStats, waitFor } = await import('../helpers/stats.js');
  const nsqd = await startNsqd(t);
  const tcp = `-nsqd-tcp-address=127.0.0.1:${nsqd.tcpEndpoint!.port}`;
  const http = `-nsqd-http-address=127.0.0.1:${nsqd.httpEndpoint!.port}`;

  // nsq_tail -consumer-opt user_agent,... reaches nsqd; an option with no effect here is a warning, not an error
  const tail = spawnNsq(t, ['tail', 'goflags', tcp, '-consumer-opt=user_agent,go-script/1', '-consumer-opt=max_attempts,5', '-n', '1']);
  await waitFor('tail subscribed', async () => ((await getStats(nsqd)).topics ?? []).find((x) => x.topic_name === 'goflags')?.channels?.[0]?.clients?.[0]);
  const client = ((await getStats(nsqd)).topics ?? []).find((x) => x.topic_name === 'goflags')!.channels![0]!.clients![0]!;
  t.equal((client as unknown as { user_agent: string }).user_agent, 'go-script/1', 'user_agent from -consumer-opt');
  tail.child.kill('SIGTERM');
  await tail.exit;
  t.match(tail.stderr(), /warning: --consumer-opt max_attempts has no effect here/);

  // nsq_to_file -log-prefix and its HTTP timeouts
  const out = tempDir(t, 'goflags-out');
  const tf = spawnNsq(t, ['to-file', '-topic=goflags2', tcp, `-output-dir=${out}`, '-log-prefix=[mine] ', '-http-client-connect-timeout=1s', '-http-client-request-timeout=2s']);
  await waitFor('to-file subscribed', async () => ((await getStats(nsqd)).topics ?? []).find((x) => x.topic_name === 'goflags2')?.channels?.[0]?.clients?.[0]);
  tf.child.kill('SIGTERM');
  t.equal((await tf.exit).code, 0);
  t.match(tf.stderr(), /^\[mine\] .*received SIGTERM/m, 'log lines carry -log-prefix');

  // nsq_stat -status-every (deprecated in nsq_stat) and its HTTP timeouts
  const stat = await run(t, ['top', '--plain', '--topic=goflags2', '--channel=nsq_to_file', '--count=1', '--interval=100ms', http, '-status-every=5', '-http-client-connect-timeout=1s', '-http-client-request-timeout=1s']);
  t.equal(stat.code, 0, stat.stderr);
  t.match(stat.stdout, /\d/, 'one report');
});

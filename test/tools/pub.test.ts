// `nsq pub` / to_nsq as a user runs it (the compiled binary against in-process nsqd engines),
// plus the record splitter and delimiter parser on their own.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Consumer } from '../../src/client/consumer.js';
import type { NSQD } from '../../src/nsqd/nsqd.js';
import { parseDelimiter } from '../../commands/pub.js';
import { RecordSplitter } from '../../src/tools/pub/records.js';
import { BIN, startNsqd } from '../helpers/nsqd.js';
import { channelStats, waitFor } from '../helpers/stats.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

interface Stdin {
  data?: Buffer | string;
  file?: string;
  /** left open for the test to write to */
  open?: boolean;
}

/** The binary (or, via argv0, a link to it) with stdin given as bytes, a file, or left open. */
function run(t: Teardown, args: string[], stdin: Stdin = {}, argv0 = BIN): Run {
  return start(t, process.execPath, [argv0, ...args], stdin);
}

function start(t: Teardown, exe: string, args: string[], stdin: Stdin): Run {
  const fd = stdin.file !== undefined ? openSync(stdin.file, 'r') : undefined;
  const child = spawn(exe, args, { stdio: [fd ?? 'pipe', 'pipe', 'pipe'] });
  if (fd !== undefined) closeSync(fd);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  if (fd === undefined && !stdin.open) child.stdin!.end(stdin.data ?? '');
  child.stdin?.on('error', () => {});
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, stdout: () => out, stderr: () => err, exit };
}

const tcp = (n: NSQD): string => `--nsqd-tcp-address=127.0.0.1:${n.tcpEndpoint.port}`;
const http = (n: NSQD): string => `--nsqd-http-address=127.0.0.1:${n.httpEndpoint.port}`;
const count = (n: NSQD, topic: string): number => n.getExistingTopic(topic)?.messageCount ?? 0;

/** Every message on the topic, in arrival order, once `want` have come (and a moment for extras). */
async function consume(t: Teardown, n: NSQD, topic: string, want: number): Promise<Buffer[]> {
  const got: Buffer[] = [];
  const c = new Consumer({ topic, channel: 'check', nsqdTcpAddresses: [`127.0.0.1:${n.tcpEndpoint.port}`], maxInFlight: 1000 }, (m) => {
    got.push(Buffer.from(m.body));
  });
  await c.start();
  t.teardown(() => c.stop());
  await waitFor(`${want} messages on ${topic}`, () => got.length >= want, 15_000);
  await new Promise((r) => setTimeout(r, 50));
  return got;
}

const strings = (bufs: Buffer[]): string[] => bufs.map((b) => b.toString());

t.test('the splitter cuts at any delimiter, across any chunking, without losing a byte', async (t) => {
  for (const delim of ['\n', '\0', '<|>', 'aa', '\r\n--\r\n']) {
    const d = Buffer.from(delim);
    for (let trial = 0; trial < 40; trial++) {
      const records: Buffer[] = [];
      for (let i = 0; i < 30; i++) {
        // random bytes with the delimiter's bytes replaced, so records never contain it
        const r = randomBytes(Math.floor(Math.random() * 12));
        for (let j = 0; j < r.length; j++) if (d.includes(r[j]!)) r[j] = 0x5f;
        records.push(r);
      }
      const joined = Buffer.concat(records.flatMap((r) => [r, d]));
      const trailing = trial % 2 === 0;
      const input = trailing ? joined : joined.subarray(0, joined.length - d.length);
      const s = new RecordSplitter(d);
      const out: Buffer[] = [];
      const byteAtATime = trial === 0;
      for (let pos = 0; pos < input.length; ) {
        const step = byteAtATime ? 1 : 1 + Math.floor(Math.random() * 9);
        s.push(input.subarray(pos, pos + step), out);
        pos += step;
      }
      const last = s.end();
      if (last !== null) out.push(last);
      const want = trailing || records.at(-1)!.length > 0 ? records : records.slice(0, -1);
      if (!t.same(out.map((b) => b.toString('hex')), want.map((b) => b.toString('hex')), `${JSON.stringify(delim)} trial ${trial}`)) return;
    }
  }
  const s = new RecordSplitter(Buffer.from('aa'));
  const out: Buffer[] = [];
  s.push(Buffer.from('xaaay'), out);
  t.same(strings([...out, s.end()!]), ['x', 'ay'], 'leftmost match, no overlap');
});

t.test('--delimiter escapes', async (t) => {
  t.same(parseDelimiter('\\n'), Buffer.from('\n'));
  t.same(parseDelimiter('\\t'), Buffer.from('\t'));
  t.same(parseDelimiter('\\0'), Buffer.from([0]));
  t.same(parseDelimiter('\\x1e'), Buffer.from([0x1e]));
  t.same(parseDelimiter('\\r\\n'), Buffer.from('\r\n'));
  t.same(parseDelimiter('a\\\\b'), Buffer.from('a\\b'));
  t.same(parseDelimiter('|é|'), Buffer.from('|é|'));
  for (const bad of ['', '\\', '\\q', '\\x1']) {
    try {
      parseDelimiter(bad);
      t.fail(`${JSON.stringify(bad)} accepted`);
    } catch (err) {
      t.equal((err as { exitCode?: number }).exitCode, 2, `${JSON.stringify(bad)}: ${(err as Error).message}`);
    }
  }
});

t.test('100,000 lines from a file are all published, quickly, and quietly when stderr is no terminal', async (t) => {
  const nsqd = await startNsqd(t);
  const dir = mkdtempSync(join(tmpdir(), 'nsq-pub-'));
  const file = join(dir, 'lines');
  const lines = Array.from({ length: 100_000 }, (_, i) => `line ${i}`);
  writeFileSync(file, lines.join('\n') + '\n');
  const started = Date.now();
  const p = run(t, ['pub', 'big', tcp(nsqd)], { file });
  t.equal(await p.exit, 0, p.stderr());
  const ms = Date.now() - started;
  t.equal(count(nsqd, 'big'), 100_000);
  t.equal(nsqd.getExistingTopic('big')!.messageBytes, Buffer.byteLength(lines.join('')));
  t.equal(p.stderr(), '', 'nothing on stderr');
  t.ok(ms < 8000, `took ${ms}ms`);
  // MPUB batches: far fewer commands than messages means far fewer round trips; the order is kept
  const got = await consume(t, nsqd, 'big', 100_000);
  t.equal(got.length, 100_000);
  t.equal(got[0]!.toString(), 'line 0');
  t.equal(got[99_999]!.toString(), 'line 99999');
  t.ok(got.every((b, i) => b.toString() === lines[i]), 'every line, in order');
});

t.test('messages as arguments, and --progress prints a summary on a pipe', async (t) => {
  const nsqd = await startNsqd(t);
  const p = run(t, ['pub', 'args', 'hello', 'two words', '007', tcp(nsqd), '--progress']);
  t.equal(await p.exit, 0, p.stderr());
  t.same(strings(await consume(t, nsqd, 'args', 3)), ['hello', 'two words', '007']);
  t.match(p.stderr(), /^nsq: published 3 messages \(17 B\) to args in [\d.]+s/m);
});

t.test('-0: binary records, newlines inside, byte for byte; the last one without a delimiter', async (t) => {
  const nsqd = await startNsqd(t);
  const records: Buffer[] = [];
  for (let i = 0; i < 500; i++) {
    const r = randomBytes(1 + Math.floor(Math.random() * 300));
    for (let j = 0; j < r.length; j++) if (r[j] === 0) r[j] = 10;
    records.push(r);
  }
  records.push(Buffer.from('a\nb\r\n'));
  const input = Buffer.concat(records.flatMap((r, i) => (i === records.length - 1 ? [r] : [r, Buffer.from([0])])));
  const p = run(t, ['pub', 'bin', '-0', tcp(nsqd)], { data: input });
  t.equal(await p.exit, 0, p.stderr());
  const got = await consume(t, nsqd, 'bin', records.length);
  t.equal(got.length, records.length);
  t.ok(got.every((b, i) => b.equals(records[i]!)), 'every record exact');
  t.equal(got.at(-1)!.toString(), 'a\nb\r\n');
});

t.test('newline-delimited: the last record without a newline still goes', async (t) => {
  const nsqd = await startNsqd(t);
  const p = run(t, ['pub', 'last', tcp(nsqd)], { data: 'one\ntwo\nthree' });
  t.equal(await p.exit, 0, p.stderr());
  t.same(strings(await consume(t, nsqd, 'last', 3)), ['one', 'two', 'three']);
});

t.test('empty records are skipped; --allow-empty sends them and reports the refusal', async (t) => {
  const nsqd = await startNsqd(t);
  const skip = run(t, ['pub', 'empty', tcp(nsqd)], { data: 'a\n\n\nb\n\n' });
  t.equal(await skip.exit, 0, skip.stderr());
  t.equal(skip.stderr(), '');
  t.equal(count(nsqd, 'empty'), 2);

  const allow = run(t, ['pub', 'empty2', tcp(nsqd), '--allow-empty'], { data: 'a\n\n\nb\n' });
  t.equal(await allow.exit, 3, 'exit 3: records rejected');
  t.match(allow.stderr(), /^nsq: record 2 is empty and the server does not accept empty messages$/m);
  t.match(allow.stderr(), /^nsq: record 3 is empty/m);
  t.notMatch(allow.stderr(), /record [14]/);
  t.same(strings(await consume(t, nsqd, 'empty2', 2)), ['a', 'b'], 'the others are published');
});

t.test('multi-byte delimiter with escapes', async (t) => {
  const nsqd = await startNsqd(t);
  const p = run(t, ['pub', 'multi', '--delimiter=\\t--\\t', tcp(nsqd)], { data: 'a\tb--c\t--\td\ne\t--\t-\t--\t' });
  t.equal(await p.exit, 0, p.stderr());
  t.same(strings(await consume(t, nsqd, 'multi', 3)), ['a\tb--c', 'd\ne', '-']);
});

t.test('--delimiter , (and to_nsq -delimiter): the input\'s final newline is not part of the last record', async (t) => {
  const nsqd = await startNsqd(t);
  const dir = mkdtempSync(join(tmpdir(), 'nsq-alias-'));
  const alias = join(dir, 'to_nsq');
  symlinkSync(BIN, alias);
  const runs = [
    { topic: 'comma_lf', p: run(t, ['pub', 'comma_lf', '--delimiter', ',', tcp(nsqd)], { data: 'a,b,c\n' }) },
    { topic: 'comma_crlf', p: run(t, ['pub', 'comma_crlf', '--delimiter=,', tcp(nsqd)], { data: 'a,b,c\r\n' }) },
    { topic: 'comma_go', p: run(t, ['-topic=comma_go', '-delimiter=,', `-nsqd-tcp-address=127.0.0.1:${nsqd.tcpEndpoint.port}`], { data: 'a,b,c\n' }, alias) },
  ];
  for (const { topic, p } of runs) {
    t.equal(await p.exit, 0, `${topic}: ${p.stderr()}`);
    t.same(strings(await consume(t, nsqd, topic, 3)), ['a', 'b', 'c'], `${topic}: a, b, c and no newline`);
  }
  // only the input's final newline goes: one inside a record, or in the middle, stays
  const inner = run(t, ['pub', 'comma_inner', '--delimiter=,', tcp(nsqd)], { data: 'a\n,b\n\n' });
  t.equal(await inner.exit, 0, inner.stderr());
  t.same(strings(await consume(t, nsqd, 'comma_inner', 2)), ['a\n', 'b\n']);
  // a trailing delimiter then a newline leaves an empty record, skipped as any other
  const trailing = run(t, ['pub', 'comma_trail', '--delimiter=,', tcp(nsqd)], { data: 'a,b,\n' });
  t.equal(await trailing.exit, 0, trailing.stderr());
  t.same(strings(await consume(t, nsqd, 'comma_trail', 2)), ['a', 'b']);
});

t.test('--count N with templates: N messages, each with its number, the time and random text', async (t) => {
  const nsqd = await startNsqd(t);
  const before = Date.now();
  const p = run(t, ['pub', 'tmpl', 'msg {{count}} at {{time}} {{random}}', '--count', '100', tcp(nsqd)]);
  t.equal(await p.exit, 0, p.stderr());
  const after = Date.now();
  const got = strings(await consume(t, nsqd, 'tmpl', 100));
  t.equal(got.length, 100, 'exactly 100');
  const re = /^msg (\d+) at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) ([A-Za-z0-9]{16})$/;
  const parsed = got.map((m) => re.exec(m));
  t.ok(parsed.every((m) => m !== null), `every message filled in: ${got[0]}`);
  t.same(parsed.map((m) => Number(m![1])), Array.from({ length: 100 }, (_, i) => i + 1), '{{count}} is 1..100, in order');
  t.ok(parsed.every((m) => Date.parse(m![2]!) >= before - 1 && Date.parse(m![2]!) <= after), '{{time}}: the ISO time of the run');
  t.equal(new Set(parsed.map((m) => m![3])).size, 100, '{{random}} differs each time');

  // nats's names; and without templates the body is repeated as given, arguments in turn
  const nats = run(t, ['pub', 'tmpl_nats', '{{ Count }}|{{.Cnt}}|{{TimeStamp}}|{{Unix}}|{{ID}}|{{Random 3 5}}', '--count=3', tcp(nsqd)]);
  const plain = run(t, ['pub', 'tmpl_plain', 'same', 'other', '--count=3', tcp(nsqd)]);
  t.equal(await nats.exit, 0, nats.stderr());
  t.equal(await plain.exit, 0, plain.stderr());
  const n = strings(await consume(t, nsqd, 'tmpl_nats', 3));
  t.match(n[2]!, /^3\|3\|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\|\d{10}\|[A-Za-z0-9]{22}\|[A-Za-z0-9]{3,5}$/, `nats's names: ${n[2]}`);
  t.same(strings(await consume(t, nsqd, 'tmpl_plain', 6)), ['same', 'other', 'same', 'other', 'same', 'other']);
  // without --count, braces are just text
  const literal = run(t, ['pub', 'tmpl_literal', '{{count}}', tcp(nsqd)]);
  t.equal(await literal.exit, 0, literal.stderr());
  t.same(strings(await consume(t, nsqd, 'tmpl_literal', 1)), ['{{count}}']);
});

t.test('--count: bad values, stdin and unknown templates are usage errors, and nothing is published', async (t) => {
  const nsqd = await startNsqd(t);
  for (const bad of ['abc', '0', '-1', '1.5']) {
    const p = run(t, ['pub', 'nocount', 'x', `--count=${bad}`, tcp(nsqd)]);
    t.equal(await p.exit, 2, bad);
    t.equal(p.stderr(), `nsq: invalid value "${bad}" for flag --count: want an integer >= 1\n`);
  }
  const spaced = run(t, ['pub', 'nocount', 'x', '--count', 'abc', tcp(nsqd)]);
  t.equal(await spaced.exit, 2);
  t.equal(spaced.stderr(), 'nsq: invalid value "abc" for flag --count: want an integer >= 1\n');
  const stdin = run(t, ['pub', 'nocount', '--count=3', tcp(nsqd)], { data: 'a\n' });
  t.equal(await stdin.exit, 2);
  t.match(stdin.stderr(), /^nsq: --count repeats the messages given as arguments, and there are none[^\n]*\n$/);
  const unknown = run(t, ['pub', 'nocount', 'x {{bogus}}', '--count=3', tcp(nsqd)]);
  t.equal(await unknown.exit, 2);
  t.match(unknown.stderr(), /^nsq: unknown template \{\{bogus\}\}: want \{\{count\}\}[^\n]*\n$/);
  t.equal(count(nsqd, 'nocount'), 0);
});

t.test('a record over the max message size: named by number, every other record published, exit 3', async (t) => {
  const nsqd = await startNsqd(t, { maxMsgSize: 100 });
  const lines = Array.from({ length: 2000 }, (_, i) => `r${i + 1}`);
  lines[2] = 'x'.repeat(150);
  lines[1499] = 'y'.repeat(101);
  for (const mode of [[tcp(nsqd)], ['--http', http(nsqd)]]) {
    const topic = mode.length === 1 ? 'size_tcp' : 'size_http';
    const p = run(t, ['pub', topic, ...mode], { data: lines.join('\n') + '\n' });
    t.equal(await p.exit, 3, `${topic}: ${p.stderr()}`);
    t.match(p.stderr(), /^nsq: record 3 \(150 bytes\) exceeds the server's max message size 100$/m);
    t.match(p.stderr(), /^nsq: record 1500 \(101 bytes\) exceeds the server's max message size 100$/m);
    t.match(p.stderr(), /^nsq: published 1,998 messages .*; 2 rejected$/m, 'a summary after a failure');
    t.notMatch(p.stderr(), /\bat .*\.js:\d+/, 'no stack');
    const want = lines.filter((_, i) => i !== 2 && i !== 1499);
    const got = strings(await consume(t, nsqd, topic, want.length));
    t.same([...got].sort(), [...want].sort(), `${topic}: each other record exactly once`);
  }
});

t.test('--defer: DPUB, delivered no sooner than asked', async (t) => {
  const nsqd = await startNsqd(t);
  const check = async (mode: string[]): Promise<void> => {
    const topic = mode.length === 1 ? 'later_tcp' : 'later_http';
    nsqd.getTopic(topic).getChannel('check');
    const sent = Date.now();
    const p = run(t, ['pub', topic, 'a', 'b', '--defer=3s', ...mode]);
    t.equal(await p.exit, 0, p.stderr());
    t.equal((await channelStats(nsqd, topic, 'check'))!.deferred_count, 2, `${topic}: deferred at the server`);
    const arrived: number[] = [];
    const c = new Consumer({ topic, channel: 'check', nsqdTcpAddresses: [`127.0.0.1:${nsqd.tcpEndpoint.port}`], maxInFlight: 10 }, () => {
      arrived.push(Date.now());
    });
    await c.start();
    t.teardown(() => c.stop());
    await waitFor('deferred messages', () => arrived.length === 2, 10000);
    t.ok(Math.min(...arrived) - sent >= 3000, `${topic}: arrived after ${Math.min(...arrived) - sent}ms`);
  };
  await Promise.all([check([tcp(nsqd)]), check(['--http', http(nsqd)])]);
});

t.test('--defer over the server\'s --max-req-timeout: one line saying so, exit 2, nothing published (TCP and HTTP)', async (t) => {
  const dflt = await startNsqd(t);
  const short = await startNsqd(t, { maxReqTimeout: 60_000 });
  const cases = [
    { n: dflt, args: ['toolong', 'a', 'b', '--defer=2h', tcp(dflt)], data: '', limit: '1h0m0s' },
    { n: dflt, args: ['toolong', '--defer=2h', tcp(dflt)], data: 'a\nb\nc\n', limit: '1h0m0s' },
    { n: dflt, args: ['toolong', 'a', '--defer=2h', '--http', http(dflt)], data: '', limit: '1h0m0s' },
    { n: short, args: ['toolong', 'a', '--defer=90s', tcp(short)], data: '', limit: '1m0s' },
    { n: short, args: ['toolong', 'a', '--defer=90s', '--retry', tcp(short)], data: '', limit: '1m0s' },
  ];
  const runs = cases.map((c) => run(t, ['pub', ...c.args], { data: c.data }));
  for (const [i, p] of runs.entries()) {
    const c = cases[i]!;
    t.equal(await p.exit, 2, `${c.args.join(' ')}: ${p.stderr()}`);
    const defer = c.args.find((a) => a.startsWith('--defer='))!.slice(8) === '2h' ? '2h0m0s' : '1m30s';
    t.equal(p.stderr(), `nsq: --defer ${defer} exceeds the server's --max-req-timeout (${c.limit})\n`, 'one line');
  }
  t.equal(count(dflt, 'toolong'), 0, 'nothing published');
  t.equal(count(short, 'toolong'), 0, 'nothing published');
  // the control: a defer within the limit is taken by the same server
  const ok = run(t, ['pub', 'shortenough', 'a', '--defer=30s', tcp(short)]);
  t.equal(await ok.exit, 0, ok.stderr());
  t.equal(count(short, 'shortenough'), 1);
});

t.test('two nsqd: every record goes to each', async (t) => {
  const a = await startNsqd(t);
  const b = await startNsqd(t);
  const data = Array.from({ length: 5000 }, (_, i) => `m${i}`).join('\n');
  const p = run(t, ['pub', 'fan', tcp(a), tcp(b), '--progress'], { data });
  t.equal(await p.exit, 0, p.stderr());
  t.equal(count(a, 'fan'), 5000);
  t.equal(count(b, 'fan'), 5000);
  t.match(p.stderr(), /published 10,000 messages .* on 2 nsqd/);
});

t.test('--http publishes over HTTP only (binary /mpub keeps newlines inside records)', async (t) => {
  const nsqd = await startNsqd(t);
  const records = Array.from({ length: 3000 }, (_, i) => `h${i}\nline two`);
  const p = run(t, ['pub', 'web', '--http', http(nsqd), '--nsqd-tcp-address=127.0.0.1:1', '-0'], { data: records.join('\0') });
  t.equal(await p.exit, 0, p.stderr());
  t.same(strings(await consume(t, nsqd, 'web', 3000)), records);
});

t.test('connection refused: one line, exit 1, nothing published', async (t) => {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  for (const args of [[`--nsqd-tcp-address=127.0.0.1:${port}`], ['--http', `--nsqd-http-address=127.0.0.1:${port}`]]) {
    const p = run(t, ['pub', 'nowhere', 'x', ...args]);
    t.equal(await p.exit, 1);
    t.equal(p.stderr(), `nsq: connect to 127.0.0.1:${port}: connection refused\n`);
  }
  // one of two nodes missing is just as fatal, before anything is read
  const a = await startNsqd(t);
  const p = run(t, ['pub', 'half', tcp(a), `--nsqd-tcp-address=127.0.0.1:${port}`], { data: 'x\n' });
  t.equal(await p.exit, 1);
  t.equal(count(a, 'half'), 0);
});

t.test('--http to a server that drops every connection: one line, exit 1 (it exited 0, publishing nothing)', async (t) => {
  // Node's fetch mostly never settles such a request (with nothing else pending the process just
  // ended); when the drop comes after the request was written, it fails with 'other side closed', or
  // with 'read ECONNRESET' when the reset arrives while the socket is being read
  const srv = createServer((s) => {
    s.on('error', () => {});
    s.destroy();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => srv.close(() => r())));
  const port = (srv.address() as { port: number }).port;
  const p = run(t, ['pub', 'dropped', '--http', `--nsqd-http-address=127.0.0.1:${port}`], { data: 'a\nb\n' });
  t.equal(await p.exit, 1);
  t.match(p.stderr(), new RegExp(`^nsq: connect to 127\\.0\\.0\\.1:${port}: (no answer within 5000 ms|other side closed|read ECONNRESET)\n$`), 'one line saying why');
});

t.test('usage errors: one line, exit 2', async (t) => {
  const cases = [['pub'], ['pub', 'bad topic!', 'x'], ['pub', 't', '--defer=5'], ['pub', 't', '--rate=-1'], ['pub', 't', '--delimiter=\\q'], ['pub', 't', '-0', '--delimiter=,'], ['pub', 't', '--bogus']];
  const runs = cases.map((args) => run(t, args));
  for (const [i, p] of runs.entries()) {
    t.equal(await p.exit, 2, JSON.stringify(cases[i]));
    t.match(p.stderr(), /^nsq: [^\n]+\n$/, `${JSON.stringify(cases[i])}: ${p.stderr()}`);
  }
  const h = run(t, ['pub', '--help']);
  t.equal(await h.exit, 0);
  t.match(h.stdout(), /Exit status:[\s\S]*\b3\b[\s\S]*\b130\b/);
});

t.test('a slow trickle goes out line by line; SIGINT stops reading, waits for acks, exits 130', async (t) => {
  const nsqd = await startNsqd(t);
  const p = run(t, ['pub', 'drip', tcp(nsqd), '--progress'], { open: true });
  p.child.stdin!.write('one\n');
  // (the first wait includes start-up) no waiting for a batch to fill: each line is out as soon as it is read
  await waitFor('first line', () => count(nsqd, 'drip') === 1, 5000, 5);
  p.child.stdin!.write('two\nthr');
  await waitFor('second line', () => count(nsqd, 'drip') === 2, 1000, 5);
  p.child.kill('SIGINT');
  t.equal(await p.exit, 130);
  t.match(p.stderr(), /published 2 messages .*interrupted by SIGINT/);
  t.equal(count(nsqd, 'drip'), 2, 'the unfinished record is not sent');
});

/** A TCP proxy to `port` that can hold back what the server says (its acknowledgements). */
async function holdingProxy(t: Teardown, port: number): Promise<{ port: number; hold: () => void; release: () => void }> {
  let held = false;
  const waiting: [Socket, Buffer][] = [];
  const sockets = new Set<Socket>();
  const srv = createServer((client) => {
    const server = connect(port, '127.0.0.1');
    sockets.add(client).add(server);
    client.on('data', (d) => server.write(d));
    server.on('data', (d) => (held ? waiting.push([client, d]) : client.write(d)));
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
    client.on('error', () => {});
    server.on('error', () => {});
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    srv.close();
  });
  return {
    port: (srv.address() as { port: number }).port,
    hold: () => (held = true),
    release: () => {
      held = false;
      for (const [c, d] of waiting.splice(0)) c.write(d);
    },
  };
}

t.test('SIGINT waits for the acknowledgements still out, then reports them', async (t) => {
  const nsqd = await startNsqd(t);
  const proxy = await holdingProxy(t, nsqd.tcpEndpoint.port);
  const p = run(t, ['pub', 'held', `--nsqd-tcp-address=127.0.0.1:${proxy.port}`, '--progress'], { open: true });
  p.child.stdin!.write('one\n');
  await waitFor('first line', () => count(nsqd, 'held') === 1, 5000, 5);
  proxy.hold();
  p.child.stdin!.write('two\n');
  await waitFor('second line at the server', () => count(nsqd, 'held') === 2, 2000, 5);
  p.child.kill('SIGINT');
  await new Promise((r) => setTimeout(r, 300));
  t.equal(p.child.exitCode, null, 'still waiting for the second OK');
  proxy.release();
  t.equal(await p.exit, 130);
  t.match(p.stderr(), /published 2 messages .*; interrupted by SIGINT$/m, 'both acknowledged');
});

t.test('--rate spaces records out', async (t) => {
  const nsqd = await startNsqd(t);
  const started = Date.now();
  const p = run(t, ['pub', 'slow', '--rate=20', tcp(nsqd)], { data: 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n' });
  t.equal(await p.exit, 0, p.stderr());
  t.ok(Date.now() - started >= 450, `10 records at 20/s took ${Date.now() - started}ms`);
  t.equal(count(nsqd, 'slow'), 10);
});

t.test('invoked as to_nsq, with --topic or a topic argument', async (t) => {
  const nsqd = await startNsqd(t);
  const dir = mkdtempSync(join(tmpdir(), 'nsq-alias-'));
  const alias = join(dir, 'to_nsq');
  symlinkSync(BIN, alias);
  const a = run(t, ['-topic=alias', `-nsqd-tcp-address=127.0.0.1:${nsqd.tcpEndpoint.port}`], { data: 'x\ny\n' }, alias);
  t.equal(await a.exit, 0, a.stderr());
  const b = run(t, [tcp(nsqd), 'alias', 'z'], {}, alias);
  t.equal(await b.exit, 0, b.stderr());
  t.same(strings(await consume(t, nsqd, 'alias', 3)), ['x', 'y', 'z']);
  const h = run(t, ['--help'], {}, alias);
  t.equal(await h.exit, 0);
  t.match(h.stdout(), /^to_nsq <topic> \[message\.\.\.\]$/m);
});

t.test('the server going away mid-stream: the reason on stderr, exit 1, no hang', async (t) => {
  const nsqd = await startNsqd(t);
  const p = run(t, ['pub', 'gone', tcp(nsqd)], { open: true });
  p.child.stdin!.write('one\n');
  await waitFor('first line', () => count(nsqd, 'gone') === 1, 5000, 5);
  const port = nsqd.tcpEndpoint.port;
  await nsqd.stop();
  p.child.stdin!.write('two\n');
  t.equal(await p.exit, 1, p.stderr());
  t.match(p.stderr(), new RegExp(`^nsq: connect to 127\\.0\\.0\\.1:${port}: connection refused$`, 'm'));
  t.match(p.stderr(), /^nsq: published 1 message .*; 1 not acknowledged$/m);
  t.notMatch(p.stderr(), /\bat .*\.js:\d+/, 'no stack');
});

// `script` runs a command on a pseudo-terminal: stderr is a TTY there
const hasScript = spawnSync('script', ['--version']).status === 0;

t.test('on a terminal: a live progress line, then the summary', { skip: !hasScript && 'needs script(1)' }, async (t) => {
  const nsqd = await startNsqd(t);
  const file = join(mkdtempSync(join(tmpdir(), 'nsq-pub-')), 'six');
  writeFileSync(file, 'a\nb\nc\nd\ne\nf\n');
  const cmd = `'${process.execPath}' '${BIN}' pub tty --rate=10 ${tcp(nsqd)} < '${file}'`;
  const p = start(t, 'script', ['-qec', cmd, '/dev/null'], { data: '' });
  t.equal(await p.exit, 0, p.stdout());
  t.match(p.stdout(), /\r\x1b\[2Knsq: \d+ messages? {2}\d+ B {2}\d+ msg\/s {2}\d\.\ds/, 'the live line, redrawn in place');
  t.match(p.stdout(), /\r\x1b\[2Knsq: published 6 messages \(6 B\) to tty in [\d.]+s/, 'the summary replaces it');
  t.equal(count(nsqd, 'tty'), 6);
  const q = start(t, 'script', ['-qec', cmd.replace(' pub tty ', ' pub tty2 --quiet '), '/dev/null'], { data: '' });
  t.equal(await q.exit, 0);
  t.equal(q.stdout(), '', '--quiet: nothing');
  t.equal(count(nsqd, 'tty2'), 6);
});

t.test('records typed at a terminal: no live line over the typing, the summary at the end', { skip: !hasScript && 'needs script(1)' }, async (t) => {
  const nsqd = await startNsqd(t);
  const p = start(t, 'script', ['-qec', `'${process.execPath}' '${BIN}' pub typed ${tcp(nsqd)}`, '/dev/null'], { open: true });
  await new Promise((r) => setTimeout(r, 300));
  p.child.stdin!.write('hello\n');
  await waitFor('typed line', () => count(nsqd, 'typed') === 1, 5000, 5);
  await new Promise((r) => setTimeout(r, 300));
  p.child.stdin!.write('\x04');
  t.equal(await p.exit, 0, p.stdout());
  t.notMatch(p.stdout(), /\x1b\[2K/, 'no live line');
  t.match(p.stdout(), /^nsq: published 1 message \(5 B\) to typed in/m);
});

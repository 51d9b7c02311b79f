// nsq to-file as a user runs it: the compiled program against an in-process nsqd, files checked
// line for line; rotation, signals, revisions, and a kill -9 that must not lose a FINed message.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import t, { type Test } from 'tap';
import { Producer } from '../../src/client/producer.js';
import type { NSQD } from '../../src/nsqd/nsqd.js';
import { readToFileOptions } from '../../commands/to-file.js';
import { filenameTemplate } from '../../src/tools/to-file/options.js';
import { strftime } from '../../src/tools/to-file/strftime.js';
import { BIN, spawnNsq, startNsqd, type Spawned } from '../helpers/nsqd.js';

const CHANNEL = 'nsq_to_file';
const tcp = (n: NSQD): string => `127.0.0.1:${n.tcpEndpoint.port}`;

async function until(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function tempDir(t: Test, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `nsq-to-file-${prefix}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Every message of the topic has been FINed: nothing queued, in flight or deferred. */
function drained(nsqd: NSQD, topic: string, total: number): boolean {
  const tp = nsqd.getExistingTopic(topic);
  const ch = tp?.getExistingChannel(CHANNEL);
  if (tp === undefined || ch === undefined) return false;
  return tp.depth === 0 && ch.depth === 0 && ch.inFlightCount === 0 && ch.deferredCount === 0 && ch.messageCount >= total;
}

async function publish(nsqd: NSQD, topic: string, bodies: string[]): Promise<void> {
  const p = new Producer(tcp(nsqd));
  await Promise.all(bodies.map((b) => p.publish(topic, b)));
  await p.close();
}

const bodies = (prefix: string, n: number, pad = 0): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(6, '0')}${'x'.repeat(pad)}`);
const linesOf = (text: string): string[] => (text === '' ? [] : text.replace(/\n$/, '').split('\n'));
// a name can vanish between readdir and stat: the start-up probe file lives for a moment
const isFile = (path: string): boolean => {
  try { return statSync(path).isFile(); } catch (err) { if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false; throw err; }
};
const files = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((f) => isFile(join(dir, f))).sort() : []);

function toFile(t: Test, nsqd: NSQD, topic: string, extra: string[]): Spawned {
  return spawnNsq(t, ['to-file', `--topic=${topic}`, `--nsqd-tcp-address=${tcp(nsqd)}`, '--host-identifier=h', '--datetime-format=fixed', ...extra]);
}

async function stop(t: Test, p: Spawned, sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  p.child.kill(sig);
  const { code } = await p.exit;
  t.equal(code, 0, `exit 0 after ${sig}: ${p.stderr()}`);
}

// ---- units ------------------------------------------------------------------------------------

t.test('strftime: the subset nsq_to_file documents, local time, anything else copied', async (t) => {
  const d = new Date(2026, 0, 31, 14, 5, 9);
  t.equal(strftime('%Y-%m-%d_%H', d), '2026-01-31_14');
  t.equal(strftime('%y%m%d %I:%M:%S %p', d), '260131 02:05:09 PM');
  t.equal(strftime('%a %A %b %B', d), 'Sat Saturday Jan January');
  t.equal(strftime('100%% %q %', d), '100% %q %');
  t.equal(strftime('%I%p', new Date(2026, 0, 1, 0, 0, 0)), '12AM');
  t.match(strftime('%z', d), /^[+-]\d{4}$/);
  t.equal(strftime('fixed', d), 'fixed');
});

t.test('filename template: <REV> only when something can clash, .gz added, host tokens', async (t) => {
  const o = (args: Record<string, unknown>) => readToFileOptions({ topic: ['t'], ...args });
  t.equal(filenameTemplate(o({}), 'ev', 'web1.example.com'), 'ev.web1.<DATETIME>.log');
  t.equal(filenameTemplate(o({ gzip: true }), 'ev', 'web1.example.com'), 'ev.web1<REV>.<DATETIME>.log.gz');
  t.equal(filenameTemplate(o({ 'rotate-size': '10' }), 'ev', 'web1'), 'ev.web1<REV>.<DATETIME>.log');
  t.equal(filenameTemplate(o({ 'work-dir': '/w', 'output-dir': '/o' }), 'ev', 'web1'), 'ev.web1<REV>.<DATETIME>.log');
  t.equal(filenameTemplate(o({ 'host-identifier': '<SHORT_HOST>@<HOSTNAME>', 'filename-format': '<TOPIC>/<HOST>-<PID><REV>' }), 'ev', 'a.b.c', 42), 'ev/a@a.b.c-42');
  t.throws(() => o({ gzip: true, 'filename-format': '<TOPIC>.log' }), /missing <REV>/);
  t.throws(() => o({ 'sync-interval': '0s' }), /must be positive/);
  t.throws(() => o({ 'rotate-interval': '5' }), /missing unit/);
  t.throws(() => o({ 'gzip-level': '0' }), /want an integer from 1 to 9/);
  t.throws(() => o({ topic: ['bad topic!'] }), /not a valid topic name/);
});

// ---- output -----------------------------------------------------------------------------------

t.test('plain output: one line per message, exact, in the default file name; FIN only once on disk', async (t) => {
  const nsqd = await startNsqd(t);
  const out = tempDir(t, 'plain');
  const sent = bodies('plain', 3000);
  await publish(nsqd, 'plain', sent);
  const before = strftime('%Y-%m-%d_%H', new Date());
  const p = spawnNsq(t, ['to-file', '--topic=plain', `--nsqd-tcp-address=${tcp(nsqd)}`, `--output-dir=${out}`, '--sync-interval=100ms']);
  // whenever nsqd counts a message finished, its line must already be in the file
  let finishedAhead = 0;
  await until(() => {
    const tp = nsqd.getExistingTopic('plain');
    const ch = tp?.getExistingChannel(CHANNEL);
    const finished = ch === undefined ? 0 : 3000 - tp!.depth - ch.depth - ch.inFlightCount - ch.deferredCount;
    const f = files(out)[0];
    const written = f === undefined ? 0 : linesOf(readFileSync(join(out, f), 'utf8')).length;
    if (written < finished) finishedAhead++;
    return drained(nsqd, 'plain', 3000);
  }, 'all messages FINed');
  t.equal(finishedAhead, 0, 'no message was FINed before its line was written');
  const after = strftime('%Y-%m-%d_%H', new Date());
  const short = hostname().split('.')[0];
  const names = files(out);
  t.equal(names.length, 1);
  t.ok([`plain.${short}.${before}.log`, `plain.${short}.${after}.log`].includes(names[0]!), `default name: ${names[0]}`);
  t.equal(readFileSync(join(out, names[0]!), 'utf8'), sent.join('\n') + '\n', 'exact lines while running (synced)');
  await stop(t, p);
  t.equal(readFileSync(join(out, names[0]!), 'utf8'), sent.join('\n') + '\n', 'exact lines after exit');
});

t.test('gzip output decompresses to the exact lines, even before the file is closed', async (t) => {
  const nsqd = await startNsqd(t);
  const out = tempDir(t, 'gzip');
  const sent = bodies('gz', 5000, 20);
  await publish(nsqd, 'gz', sent);
  const p = toFile(t, nsqd, 'gz', [`--output-dir=${out}`, '--gzip', '--gzip-level=9', '--max-in-flight=100', '--sync-interval=100ms']);
  await until(() => drained(nsqd, 'gz', 5000), 'all messages FINed');
  const name = 'gz.h-000000.fixed.log.gz';
  t.same(files(out), [name]);
  const whileOpen = readFileSync(join(out, name));
  t.equal(gunzipSync(whileOpen).toString(), sent.join('\n') + '\n', 'synced data is a readable gzip stream');
  await stop(t, p);
  const closed = readFileSync(join(out, name));
  t.equal(gunzipSync(closed).toString(), sent.join('\n') + '\n');
  t.ok(closed.length < Buffer.byteLength(sent.join('\n')) / 2, 'compressed');
});

t.test('size rotation: several files, each cut just past --rotate-size, together all messages in order', async (t) => {
  const nsqd = await startNsqd(t);
  const out = tempDir(t, 'size');
  const sent = bodies('size', 1000);
  await publish(nsqd, 'size', sent);
  const p = toFile(t, nsqd, 'size', [`--output-dir=${out}`, '--rotate-size=2000', '--sync-interval=100ms']);
  await until(() => drained(nsqd, 'size', 1000), 'all messages FINed');
  await stop(t, p);
  const names = files(out);
  t.ok(names.length >= 5, `several files: ${names.length}`);
  t.same(names, names.map((_, i) => `size.h-${String(i).padStart(6, '0')}.fixed.log`), 'consecutive revisions');
  const all: string[] = [];
  names.forEach((n, i) => {
    const text = readFileSync(join(out, n), 'utf8');
    const lines = linesOf(text);
    if (i < names.length - 1) {
      t.ok(text.length > 2000, `${n} grew past the limit`);
      t.ok(text.length - lines[lines.length - 1]!.length - 1 <= 2000, `${n} was cut at the first message past the limit`);
    }
    all.push(...lines);
  });
  t.same(all, sent, 'concatenation is every message in order');
});

t.test('SIGHUP closes the file (moved out of the work dir) and later messages go to the next revision', async (t) => {
  const nsqd = await startNsqd(t);
  const work = tempDir(t, 'hup-work');
  const out = tempDir(t, 'hup-out');
  const a = bodies('a', 200);
  const b = bodies('b', 300);
  await publish(nsqd, 'hup', a);
  const p = toFile(t, nsqd, 'hup', [`--work-dir=${work}`, `--output-dir=${out}`, '--sync-interval=100ms']);
  await until(() => drained(nsqd, 'hup', 200), 'first batch FINed');
  t.same(files(out), [], 'nothing finished before the HUP');
  p.child.kill('SIGHUP');
  await until(() => files(out).length === 1, 'the first file moved to the output dir');
  t.same(files(out), ['hup.h-000000.fixed.log']);
  t.equal(readFileSync(join(out, 'hup.h-000000.fixed.log'), 'utf8'), a.join('\n') + '\n');
  await publish(nsqd, 'hup', b);
  await until(() => drained(nsqd, 'hup', 500), 'second batch FINed');
  await stop(t, p);
  t.same(files(out), ['hup.h-000000.fixed.log', 'hup.h-000001.fixed.log']);
  t.equal(readFileSync(join(out, 'hup.h-000001.fixed.log'), 'utf8'), b.join('\n') + '\n');
  t.same(files(work), [], 'work dir empty');
});

t.test('SIGTERM writes and FINs the messages still held, moves the file to the output dir, exits 0', async (t) => {
  const nsqd = await startNsqd(t);
  const work = tempDir(t, 'term-work');
  const out = tempDir(t, 'term-out');
  const sent = bodies('term', 300);
  await publish(nsqd, 'term', sent);
  // a long sync interval and room for every message: nothing is written until the signal
  const p = toFile(t, nsqd, 'term', [`--work-dir=${work}`, `--output-dir=${out}`, '--sync-interval=1h', '--max-in-flight=1000']);
  await until(() => nsqd.getExistingTopic('term')?.getExistingChannel(CHANNEL)?.inFlightCount === 300, 'all messages delivered');
  t.same(files(out), []);
  t.equal(files(work).reduce((n, f) => n + statSync(join(work, f)).size, 0), 0, 'held messages are not written yet');
  const started = Date.now();
  await stop(t, p);
  t.ok(Date.now() - started < 5000, 'prompt');
  t.ok(drained(nsqd, 'term', 300), 'every held message was FINed');
  t.same(files(work), [], 'work dir empty');
  t.same(files(out), ['term.h-000000.fixed.log']);
  t.equal(readFileSync(join(out, 'term.h-000000.fixed.log'), 'utf8'), sent.join('\n') + '\n');
});

t.test('as nsq_to_file with Go-style flags: every --topic gets its own file', async (t) => {
  const nsqd = await startNsqd(t);
  const dir = tempDir(t, 'alias');
  const alias = join(dir, 'nsq_to_file');
  symlinkSync(BIN, alias);
  const out = join(dir, 'out');
  await publish(nsqd, 'one', ['1a', '1b']);
  await publish(nsqd, 'two', ['2a']);
  const args = ['-topic=one', '-topic', 'two', `-nsqd-tcp-address=${tcp(nsqd)}`, `-output-dir=${out}`, '-host-identifier=h', '-datetime-format=fixed', '-sync-interval=100ms'];
  const p = spawnNsq(t, args, { argv0: alias });
  await until(() => drained(nsqd, 'one', 2) && drained(nsqd, 'two', 1), 'both topics FINed');
  await stop(t, p);
  t.same(files(out), ['one.h.fixed.log', 'two.h.fixed.log']);
  t.equal(readFileSync(join(out, 'one.h.fixed.log'), 'utf8'), '1a\n1b\n');
  t.equal(readFileSync(join(out, 'two.h.fixed.log'), 'utf8'), '2a\n');
});

for (const gzip of [false, true]) {
  t.test(`kill -9 mid-stream then restart (${gzip ? 'gzip' : 'plain'}): every message ends up in a file`, async (t) => {
    const nsqd = await startNsqd(t);
    const work = tempDir(t, 'crash-work');
    const out = tempDir(t, 'crash-out');
    const total = 20_000;
    const sent = bodies('crash', total, 40);
    await publish(nsqd, 'crash', sent);
    const flags = [`--work-dir=${work}`, `--output-dir=${out}`, '--sync-interval=200ms', '--rotate-size=200000', ...(gzip ? ['--gzip'] : [])];
    const read = (dir: string, f: string): string[] => {
      const raw = readFileSync(join(dir, f));
      return linesOf((gzip ? gunzipSync(raw) : raw).toString());
    };
    const everything = (): string[] => [...files(work).flatMap((f) => read(work, f)), ...files(out).flatMap((f) => read(out, f))];

    const first = toFile(t, nsqd, 'crash', flags);
    const ch = () => nsqd.getExistingTopic('crash')?.getExistingChannel(CHANNEL);
    await until(() => (ch()?.messageCount ?? 0) > 0 && total - ch()!.depth - ch()!.inFlightCount > 4000, 'a few thousand messages FINed');
    first.child.kill('SIGKILL');
    await first.exit;
    await until(() => ch()!.clients.length === 0, 'nsqd saw the consumer go');
    const finished = total - nsqd.getExistingTopic('crash')!.depth - ch()!.depth - ch()!.inFlightCount - ch()!.deferredCount;
    t.ok(finished < total, `killed mid-stream (${finished} of ${total} FINed)`);
    const survived = everything(); // gzip: each leftover must be a valid gzip stream as it is
    t.ok(survived.length >= finished, `every FINed message is on disk (${survived.length} lines >= ${finished} FINed)`);

    const second = toFile(t, nsqd, 'crash', flags);
    await until(() => drained(nsqd, 'crash', total), 'the rest FINed after restart');
    await stop(t, second);
    const lines = everything();
    const got = new Set(lines);
    t.equal(got.size, total, `all ${total} bodies present (${lines.length - got.size} duplicates)`);
    const sentSet = new Set(sent);
    t.same([...got].filter((l) => !sentSet.has(l)).slice(0, 3), [], 'nothing but sent messages');
    t.ok(files(out).length >= 2, 'finished files reached the output dir');
  });
}

// ---- revisions --------------------------------------------------------------------------------

t.test('revisions: a restart never clobbers, a name taken in the output dir gets the next revision', async (t) => {
  const nsqd = await startNsqd(t);
  const dir = tempDir(t, 'rev');
  const run = async (topic: string, msgs: string[], flags: string[], before?: () => void): Promise<void> => {
    const p = toFile(t, nsqd, topic, flags);
    await publish(nsqd, topic, msgs);
    const seen = nsqd.getExistingTopic(topic)?.messageCount ?? 0;
    await until(() => drained(nsqd, topic, seen), `${topic} FINed`);
    before?.();
    await stop(t, p);
  };
  // gzip, one dir: the second run opens the next revision instead of appending
  const gzFlags = [`--output-dir=${dir}`, '--gzip', '--sync-interval=100ms'];
  await run('gzrev', ['one', 'two'], gzFlags);
  await run('gzrev', ['three'], gzFlags);
  t.same(files(dir), ['gzrev.h-000000.fixed.log.gz', 'gzrev.h-000001.fixed.log.gz']);
  t.equal(gunzipSync(readFileSync(join(dir, 'gzrev.h-000000.fixed.log.gz'))).toString(), 'one\ntwo\n');
  t.equal(gunzipSync(readFileSync(join(dir, 'gzrev.h-000001.fixed.log.gz'))).toString(), 'three\n');

  // work dir: a name already in the output dir is skipped when opening...
  const work = join(dir, 'work');
  const out = join(dir, 'out');
  mkdirSync(out);
  writeFileSync(join(out, 'mv.h-000000.fixed.log'), 'earlier\n');
  const mvFlags = [`--work-dir=${work}`, `--output-dir=${out}`, '--sync-interval=100ms'];
  await run('mv', ['first'], mvFlags);
  t.same(files(out), ['mv.h-000000.fixed.log', 'mv.h-000001.fixed.log']);
  t.equal(readFileSync(join(out, 'mv.h-000001.fixed.log'), 'utf8'), 'first\n');
  // ...and a name taken while the file was open is skipped when moving
  await run('mv', ['second'], mvFlags, () => writeFileSync(join(out, 'mv.h-000002.fixed.log'), 'sneaked in\n'));
  t.same(files(out), ['mv.h-000000.fixed.log', 'mv.h-000001.fixed.log', 'mv.h-000002.fixed.log', 'mv.h-000003.fixed.log']);
  t.equal(readFileSync(join(out, 'mv.h-000000.fixed.log'), 'utf8'), 'earlier\n', 'untouched');
  t.equal(readFileSync(join(out, 'mv.h-000002.fixed.log'), 'utf8'), 'sneaked in\n', 'untouched');
  t.equal(readFileSync(join(out, 'mv.h-000003.fixed.log'), 'utf8'), 'second\n');
  t.same(files(work), []);
});

// ---- errors -----------------------------------------------------------------------------------

t.test('bad flags and an unreachable nsqd: one line on stderr, non-zero exit, nothing written', async (t) => {
  const dir = tempDir(t, 'err');
  const file = join(dir, 'a-file');
  writeFileSync(file, '');
  const cases: [string[], number, RegExp][] = [
    [['--topic=x', '--sync-interval=abc'], 2, /invalid value "abc" for flag --sync-interval/],
    [['--topic=x', '--rotate-interval=10'], 2, /missing unit in duration/],
    [[], 2, /--topic is required/],
    [['--topic=x', '--gzip', '--filename-format=<TOPIC>.log'], 2, /missing <REV>/],
    [['--topic=x', `--output-dir=${join(file, 'sub')}`], 1, /cannot write to --output-dir .*a-file\/sub: a path component is not a directory/],
    [['--topic=x', `--output-dir=${dir}`, `--work-dir=${file}`], 1, /cannot write to --work-dir/],
    [['--topic=x', `--output-dir=${dir}`, '--nsqd-tcp-address=127.0.0.1:1'], 1, /connect to 127\.0\.0\.1:1: connection refused/],
    // paths that fail for root too: fs.mkdir's recursive mode never settled on these, and to-file hung
    [['--topic=x', '--output-dir=/proc/nope'], 1, /^nsq: cannot write to --output-dir \/proc\/nope: no such directory, and it cannot be created there$/],
    [['--topic=x', '--output-dir=/proc/nope/deeper'], 1, /cannot write to --output-dir \/proc\/nope\/deeper: no such directory/],
    [['--topic=x', `--output-dir=${dir}`, '--work-dir=/proc/nope'], 1, /cannot write to --work-dir \/proc\/nope/],
    [['--topic=x', '--output-dir=/proc'], 1, /cannot write to --output-dir \/proc: no file can be created in it/],
  ];
  for (const [args, code, re] of cases) {
    const p = spawnNsq(t, ['to-file', '--nsqd-tcp-address=127.0.0.1:1', ...args]);
    const r = await p.exit;
    t.equal(r.code, code, `exit ${code} for ${args.join(' ')}`);
    const lines = p.stderr().trim().split('\n');
    t.equal(lines.length, 1, `one line: ${p.stderr()}`);
    t.match(lines[0], /^nsq: /);
    t.match(lines[0], re);
  }
  t.same(files(dir), ['a-file'], 'no output files');
});

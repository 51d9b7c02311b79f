// The compiled `nsq` executable run as a user runs it: flags, Go-style flags, aliases, signals, errors.

import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { COMMAND_NAMES } from '../../commands/aliases.js';
import { commands } from '../../commands/index.js';
import { BIN, serverPorts, spawnNsq } from '../helpers/nsqd.js';

const EPHEMERAL = ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0'];

t.test('nsq <command> --version answers as nsq --version does', async (t) => {
  t.same(COMMAND_NAMES, commands.map((c) => String(c.command).split(' ')[0]), 'the fast path knows every command');
  const v = spawnNsq(t, ['--version']);
  t.equal((await v.exit).code, 0);
  for (const cmd of ['serve', 'tail', 'pub']) {
    const c = spawnNsq(t, [cmd, '--version']);
    t.equal((await c.exit).code, 0);
    t.equal(c.stdout(), v.stdout(), `nsq ${cmd} --version`);
  }
});

t.test('nsq --version and --help answer and exit 0', async (t) => {
  const v = spawnNsq(t, ['--version']);
  t.equal((await v.exit).code, 0);
  t.match(v.stdout(), /^nsq v\d+\.\d+\.\d+ \(nsqd protocol 1\.3\.0/);
  const h = spawnNsq(t, ['--help']);
  t.equal((await h.exit).code, 0);
  t.match(h.stdout(), /nsq serve/);
  const sh = spawnNsq(t, ['serve', '--help']);
  t.equal((await sh.exit).code, 0);
  for (const flag of ['--tcp-address', '--http-address', '--mem-queue-size', '--max-msg-size', '--msg-timeout', '--max-rdy-count', '--log-level']) {
    t.match(sh.stdout(), flag, `serve --help lists ${flag}`);
  }
});

t.test('unknown commands, flags and bad values: one line on stderr, exit 2, no stack', async (t) => {
  for (const args of [['bogus'], ['serve', '--bogus=1'], ['serve', '--msg-timeout=abc', ...EPHEMERAL], ['serve', '--max-msg-size=-5', ...EPHEMERAL], ['serve', '--log-level=loud', ...EPHEMERAL], []]) {
    const p = spawnNsq(t, args);
    const { code } = await p.exit;
    t.equal(code, 2, `exit 2 for ${JSON.stringify(args)}`);
    const lines = p.stderr().trim().split('\n');
    t.equal(lines.length, 1, `one line for ${JSON.stringify(args)}: ${p.stderr()}`);
    t.match(lines[0], /^nsq: /);
    t.notMatch(p.stderr(), /\bat .*\.js:\d+/, 'no stack trace');
  }
});

t.test('a port already in use: one-line error, exit 1', async (t) => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => blocker.close(() => r())));
  const port = (blocker.address() as { port: number }).port;
  const p = spawnNsq(t, ['serve', `--tcp-address=127.0.0.1:${port}`, '--http-address=127.0.0.1:0']);
  t.equal((await p.exit).code, 1);
  t.match(p.stderr(), new RegExp(`nsq: listen tcp 127\\.0\\.0\\.1:${port}: address already in use`));
  t.notMatch(p.stderr(), /\bat .*\.js:\d+/);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`serve runs, answers HTTP and TCP, and exits 0 on ${signal}`, async (t) => {
    const p = spawnNsq(t, ['serve', ...EPHEMERAL]);
    const ports = await serverPorts(p);
    const res = await fetch(`http://127.0.0.1:${ports.http}/ping`);
    t.equal(await res.text(), 'OK');
    const pub = await fetch(`http://127.0.0.1:${ports.http}/pub?topic=cli`, { method: 'POST', body: 'hello' });
    t.equal(pub.status, 200);
    const started = Date.now();
    p.child.kill(signal);
    const { code } = await p.exit;
    t.equal(code, 0, 'clean exit');
    t.ok(Date.now() - started < 5000, 'exits within a few seconds');
  });
}

t.test('Go-style single-dash flags work, as nsqd takes them', async (t) => {
  const p = spawnNsq(t, ['serve', '-tcp-address=127.0.0.1:0', '-http-address', '127.0.0.1:0', '-msg-timeout=90s', '-max-rdy-count', '100']);
  const ports = await serverPorts(p);
  const res = await fetch(`http://127.0.0.1:${ports.http}/config/msg_timeout`);
  t.equal(await res.text(), '90000000000');
  const rdy = await fetch(`http://127.0.0.1:${ports.http}/config/max_rdy_count`);
  t.equal(await rdy.text(), '100');
  p.child.kill('SIGTERM');
  t.equal((await p.exit).code, 0);
});

t.test('invoked as nsqd, the program is the daemon with nsqd flags', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nsq-alias-'));
  const alias = join(dir, 'nsqd');
  symlinkSync(BIN, alias);
  const v = spawnNsq(t, ['--version'], { argv0: alias });
  t.equal((await v.exit).code, 0);
  t.match(v.stdout(), /^nsqd v1\.3\.0/);
  const p = spawnNsq(t, ['-tcp-address=127.0.0.1:0', '-http-address=127.0.0.1:0'], { argv0: alias });
  const ports = await serverPorts(p);
  const res = await fetch(`http://127.0.0.1:${ports.http}/info`);
  const info = (await res.json()) as { version: string; tcp_port: number };
  t.equal(info.version, '1.3.0');
  t.equal(info.tcp_port, ports.tcp);
  p.child.kill('SIGTERM');
  t.equal((await p.exit).code, 0);
});

t.test('--log-format json: one JSON object a line', async (t) => {
  const p = spawnNsq(t, ['serve', ...EPHEMERAL, '--log-format=json']);
  await serverPorts(p);
  p.child.kill('SIGTERM');
  t.equal((await p.exit).code, 0);
  const lines = p.stderr().trim().split('\n');
  t.ok(lines.length >= 3);
  for (const line of lines) {
    const o = JSON.parse(line) as { time: string; level: string; component: string; msg: string };
    t.match(o, { level: /^(debug|info|warn|error|fatal)$/, component: 'nsqd', msg: String });
    t.ok(!Number.isNaN(Date.parse(o.time)), 'ISO time');
  }
  t.ok(lines.some((l) => (JSON.parse(l) as { msg: string }).msg.startsWith('TCP: listening on 127.0.0.1:')));
});

t.test('--config reads nsqd TOML; the command line wins; mistakes are one line, exit 1', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nsq-config-'));
  const cfg = join(dir, 'nsqd.cfg');
  writeFileSync(cfg, 'tcp_address = "127.0.0.1:0"\nhttp_address = "127.0.0.1:0"\nmsg_timeout = "90s"\nmax_rdy_count = 100\nid = 42\n');
  const p = spawnNsq(t, ['serve', `--config=${cfg}`, '--max-rdy-count=7']);
  const ports = await serverPorts(p);
  const get = async (opt: string): Promise<string> => (await fetch(`http://127.0.0.1:${ports.http}/config/${opt}`)).text();
  t.equal(await get('msg_timeout'), '90000000000', 'from the file');
  t.equal(await get('max_rdy_count'), '7', 'the command line wins');
  t.equal(await get('id'), '42', 'nsqd config names (id = node-id)');
  p.child.kill('SIGTERM');
  await p.exit;
  writeFileSync(cfg, 'msg_timeout = "90s"\nno_such_option = 1\n');
  const bad = spawnNsq(t, ['serve', `--config=${cfg}`, ...EPHEMERAL]);
  t.equal((await bad.exit).code, 1);
  t.match(bad.stderr(), /^nsq: .*nsqd\.cfg: unknown option "no_such_option"\n$/);
  const missing = spawnNsq(t, ['serve', `--config=${join(dir, 'nope.cfg')}`, ...EPHEMERAL]);
  t.equal((await missing.exit).code, 1);
  t.match(missing.stderr(), /cannot read config file .*nope\.cfg: ENOENT/);
});

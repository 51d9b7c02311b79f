// `nsq lookupd` (and `nsqlookupd`) run as a user runs them: flags, Go-style flags, errors, signals.

import { mkdtempSync, symlinkSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { BIN, serverPorts, spawnNsq } from '../helpers/nsqd.js';
import { freePorts } from '../helpers/ports.js';

const EPHEMERAL = ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0'];

/** Opens a V1 connection, sends `data` after the magic and resolves with the first response. */
function firstResponse(port: number, data: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write('  V1');
      s.write(data);
    });
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        s.destroy();
        resolve(buf.toString('utf8', 4, 4 + buf.readUInt32BE(0)));
      }
    });
    s.on('error', reject);
  });
}

function identify(info: Record<string, unknown>): Buffer {
  const body = Buffer.from(JSON.stringify(info));
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([Buffer.from('IDENTIFY\n'), size, body]);
}

t.test('lookupd --help lists its flags with their defaults', async (t) => {
  const h = spawnNsq(t, ['lookupd', '--help']);
  t.equal((await h.exit).code, 0);
  for (const flag of ['--tcp-address', '--http-address', '--broadcast-address', '--inactive-producer-timeout', '--tombstone-lifetime', '--log-level', '--log-prefix']) {
    t.match(h.stdout(), flag, `lists ${flag}`);
  }
  t.match(h.stdout(), '127.0.0.1:4160');
  t.match(h.stdout(), '127.0.0.1:4161');
  t.match(h.stdout(), '5m0s');
  t.match(h.stdout(), '45s');
  const top = spawnNsq(t, ['--help']);
  t.equal((await top.exit).code, 0);
  t.match(top.stdout(), /nsq lookupd/);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`lookupd runs, answers TCP and HTTP, and exits 0 on ${signal}`, async (t) => {
    const p = spawnNsq(t, ['lookupd', ...EPHEMERAL]);
    const ports = await serverPorts(p);
    const ping = await fetch(`http://127.0.0.1:${ports.http}/ping`);
    t.equal(await ping.text(), 'OK');
    t.equal(await firstResponse(ports.tcp, 'PING\n'), 'OK');
    t.match(p.stderr(), /^\[nsqlookupd\] \d{4}\/\d\d\/\d\d /m, 'logs with the default prefix');
    const started = Date.now();
    p.child.kill(signal);
    const { code } = await p.exit;
    t.equal(code, 0, 'clean exit');
    t.ok(Date.now() - started < 5000, 'exits within a few seconds');
  });
}

t.test('SIGTERM with a registered nsqd still connected: exit 0', async (t) => {
  const p = spawnNsq(t, ['lookupd', ...EPHEMERAL]);
  const ports = await serverPorts(p);
  const s = connect(ports.tcp, '127.0.0.1');
  t.teardown(() => s.destroy());
  s.on('error', () => {});
  // read (and drop) the answers, so the close is seen
  s.resume();
  await new Promise<void>((r) => s.once('connect', () => r()));
  s.write(Buffer.concat([Buffer.from('  V1'), identify({ broadcast_address: 'n', tcp_port: 1, http_port: 2, version: '1.3.0' }), Buffer.from('REGISTER held\n')]));
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const r = await fetch(`http://127.0.0.1:${ports.http}/topics`);
    if ((await r.text()).includes('held')) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const closed = new Promise<void>((r) => s.once('close', () => r()));
  p.child.kill('SIGTERM');
  t.equal((await p.exit).code, 0);
  await closed;
  t.pass('the peer connection was closed');
});

t.test('flags reach the server: Go-style single-dash flags, broadcast address, log prefix and level', async (t) => {
  const p = spawnNsq(t, ['lookupd', '-tcp-address=127.0.0.1:0', '-http-address', '127.0.0.1:0', '-broadcast-address', 'lookupd.test', '-log-prefix=[L] ', '-log-level=info', '-tombstone-lifetime=1s']);
  const ports = await serverPorts(p);
  const info = JSON.parse(await firstResponse(ports.tcp, identify({ broadcast_address: 'n', tcp_port: 1, http_port: 2, version: '1.3.0' }))) as Record<string, unknown>;
  t.equal(info['broadcast_address'], 'lookupd.test');
  t.equal(info['tcp_port'], ports.tcp);
  t.equal(info['http_port'], ports.http);
  t.match(p.stderr(), /^\[L\] \d{4}\//m, 'log lines carry the prefix');
  p.child.kill('SIGTERM');
  t.equal((await p.exit).code, 0);
});

t.test('--log-level=error silences the info lines', async (t) => {
  // nothing is logged at info, so the ports cannot be read from the log: pick free ones first
  const free = await freePorts(2);
  const q = spawnNsq(t, ['lookupd', `--tcp-address=127.0.0.1:${free[0]}`, `--http-address=127.0.0.1:${free[1]}`, '--log-level=error']);
  const deadline = Date.now() + 10_000;
  let ok = false;
  while (!ok && Date.now() < deadline) {
    ok = await fetch(`http://127.0.0.1:${free[1]}/ping`).then(
      (r) => r.ok,
      () => false,
    );
    if (!ok) await new Promise((r) => setTimeout(r, 50));
  }
  t.ok(ok, 'serving');
  t.notMatch(q.stderr(), /INFO/, 'no info lines');
  q.child.kill('SIGTERM');
  t.equal((await q.exit).code, 0);
});

t.test('bad flags: one line on stderr, exit 2, no stack', async (t) => {
  for (const args of [
    ['lookupd', '--bogus=1', ...EPHEMERAL],
    ['lookupd', '--tombstone-lifetime=abc', ...EPHEMERAL],
    ['lookupd', '--inactive-producer-timeout=300', ...EPHEMERAL],
    ['lookupd', '--inactive-producer-timeout=-1s', ...EPHEMERAL],
    ['lookupd', '--log-level=loud', ...EPHEMERAL],
    ['lookupd', '--tcp-address=nowhere', '--http-address=127.0.0.1:0'],
    ['lookupd', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:99999'],
  ]) {
    const p = spawnNsq(t, args);
    const { code } = await p.exit;
    t.equal(code, 2, `exit 2 for ${JSON.stringify(args)}`);
    const lines = p.stderr().trim().split('\n');
    t.equal(lines.length, 1, `one line for ${JSON.stringify(args)}: ${p.stderr()}`);
    t.match(lines[0], /^nsq: /);
    t.notMatch(p.stderr(), /\bat .*\.js:\d+/, 'no stack trace');
  }
  const dur = spawnNsq(t, ['lookupd', '--tombstone-lifetime=abc', ...EPHEMERAL]);
  await dur.exit;
  t.equal(dur.stderr().trim(), 'nsq: invalid value "abc" for flag --tombstone-lifetime: invalid duration "abc"');
  const addr = spawnNsq(t, ['lookupd', '--tcp-address=nowhere']);
  await addr.exit;
  t.equal(addr.stderr().trim(), 'nsq: invalid value "nowhere" for flag --tcp-address: want host:port');
});

t.test('a port already in use: one-line error, exit 1', async (t) => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => blocker.close(() => r())));
  const port = (blocker.address() as { port: number }).port;
  for (const args of [
    [`--tcp-address=127.0.0.1:${port}`, '--http-address=127.0.0.1:0'],
    ['--tcp-address=127.0.0.1:0', `--http-address=127.0.0.1:${port}`],
  ]) {
    const p = spawnNsq(t, ['lookupd', ...args]);
    t.equal((await p.exit).code, 1);
    t.match(p.stderr(), new RegExp(`^nsq: listen tcp 127\\.0\\.0\\.1:${port}: address already in use$`, 'm'));
    t.notMatch(p.stderr(), /\bat .*\.js:\d+/);
  }
});

t.test('invoked as nsqlookupd, the program is the discovery server', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nsq-alias-'));
  const alias = join(dir, 'nsqlookupd');
  symlinkSync(BIN, alias);
  const v = spawnNsq(t, ['--version'], { argv0: alias });
  t.equal((await v.exit).code, 0);
  t.match(v.stdout(), /^nsqlookupd v1\.3\.0/);
  const p = spawnNsq(t, ['-tcp-address=127.0.0.1:0', '-http-address=127.0.0.1:0'], { argv0: alias });
  const ports = await serverPorts(p);
  const info = await fetch(`http://127.0.0.1:${ports.http}/info`);
  t.same(await info.json(), { version: '1.3.0' });
  p.child.kill('SIGTERM');
  t.equal((await p.exit).code, 0);
});

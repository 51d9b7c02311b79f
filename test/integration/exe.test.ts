// The single executable (npm run build:exe) on a host without Node: built here, copied to a temp
// folder with snappy's addon beside it, run with a PATH and environment that hold no node. A
// durable serve, pub and tail round trip; nsqd through a symlink; TLS and snappy negotiated by the
// independent nsqjs client; the admin page served from the executable's own assets.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import nsq from 'nsqjs';
import type { Message as NsqjsMessage } from 'nsqjs';
import { serverPorts, tempDir, type Spawned } from '../helpers/nsqd.js';
import { waitFor } from '../helpers/stats.js';
import { makeCerts } from '../helpers/tls.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
// building takes ~10 s, more on a loaded machine
t.setTimeout(240_000);

const built = spawnSync(process.execPath, [`${ROOT}scripts/build-exe.mjs`], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
if (built.status !== 0 || !existsSync(`${ROOT}dist/exe/nsq`)) {
  t.comment(`SKIPPED: the executable could not be built here: ${(built.stderr || String(built.error)).trim().split('\n').pop()}`);
  t.pass('skipped: no executable');
} else {
  const host = tempDir(t, 'nsq-exe-');
  cpSync(`${ROOT}dist/exe`, host, { recursive: true });
  symlinkSync(`${host}/nsq`, `${host}/nsqd`);
  const exe = `${host}/nsq`;
  // no node anywhere: a PATH of one empty folder (this machine's node is in /usr/bin), and nothing
  // else of this environment
  mkdirSync(`${host}/empty-bin`);
  const env = { PATH: `${host}/empty-bin`, HOME: host };
  t.not(spawnSync('/bin/sh', ['-c', 'command -v node'], { env }).status, 0, 'no node on the PATH the executable runs with');
  const run = (args: string[], input?: string) => spawnSync(exe, args, { env, cwd: host, encoding: 'utf8', input, timeout: 30_000 });
  /** the executable (or a link to it) as a server, killed when the test ends */
  const start = (t: { teardown(fn: () => unknown): void }, file: string, args: string[]): Spawned => {
    const child = spawn(file, args, { env, cwd: host, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    t.teardown(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    return { child, stdout: () => out, stderr: () => err, exit };
  };

  t.test('--version, and a usage error as one line', async (t) => {
    const v = run(['--version']);
    t.equal(v.status, 0, v.stderr);
    t.match(v.stdout, /^nsq v\d+\.\d+\.\d+ \(nsqd protocol 1\.3\.0, node v20/);
    const nsqd = spawnSync(`${host}/nsqd`, ['--version'], { env, encoding: 'utf8' });
    t.match(nsqd.stdout, /^nsqd v1\.3\.0/, 'the symlink named nsqd is the daemon');
    const bad = run(['publish']);
    t.equal(bad.status, 2);
    t.equal(bad.stderr, 'nsq: unknown command "publish"; did you mean "pub"?\n');
    t.match(run(['tail', '--help']).stdout, /^nsq tail <topic/, 'the prerendered help, from the executable\'s assets');
  });

  t.test('durable serve, pub, tail: every line back; nsqd symlink serves too', async (t) => {
    const data = tempDir(t, 'nsq-exe-data-');
    const s = start(t, `${host}/nsqd`, ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--data-path=${data}`, '--durable']);
    const ports = await serverPorts(s);
    const pub = run(['pub', 'exe', `--nsqd-tcp-address=127.0.0.1:${ports.tcp}`], 'one\ntwo\nthree\n');
    t.equal(pub.status, 0, pub.stderr);
    const tail = run(['tail', 'exe', `--nsqd-tcp-address=127.0.0.1:${ports.tcp}`, '-n', '3']);
    t.equal(tail.status, 0, tail.stderr);
    t.equal(tail.stdout, 'one\ntwo\nthree\n');
    const top = run(['top', '--once', `--nsqd-http-address=127.0.0.1:${ports.http}`]);
    t.equal(top.status, 0, top.stderr);
    t.match(top.stdout, /nodes: 1 up/, 'the dashboard\'s one frame');
    t.match(top.stdout, /│ exe /);
    s.child.kill('SIGTERM');
    t.equal((await s.exit).code, 0);
  });

  t.test('nsqd --nodes 2 through the link: each node is the executable again, under the same name', async (t) => {
    const data = tempDir(t, 'nsq-exe-data-');
    const s = start(t, `${host}/nsqd`, ['--nodes', '2', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--data-path=${data}`]);
    await waitFor('a line per node', () => s.stdout().split('\n').filter((l) => /^node \d: TCP /.test(l)).length === 2 || s.child.exitCode !== null, 15_000);
    t.match(s.stdout(), /^node 0: TCP 127\.0\.0\.1:\d+, HTTP 127\.0\.0\.1:\d+, data path .*node-0\nnode 1: TCP /, s.stderr());
    t.match(s.stderr(), /^\[nsqd-1\] .* INFO: TCP: listening on /m);
    s.child.kill('SIGTERM');
    t.equal((await s.exit).code, 0, 'both stopped');
  });

  t.test('TLS and snappy negotiated with nsqjs; the admin page from its assets', async (t) => {
    const certs = makeCerts(t);
    const s = start(t, exe, ['serve', `--data-path=${tempDir(t, 'nsq-exe-data-')}`, '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--tls-cert=${certs.serverCert}`, `--tls-key=${certs.serverKey}`, '--with-admin', '--with-admin-http-address=127.0.0.1:0']);
    const ports = await serverPorts(s);
    const pub = run(['pub', 'secure', `--nsqd-tcp-address=127.0.0.1:${ports.tcp}`, '--tls', `--tls-root-ca-file=${certs.caCert}`, '--snappy'], 'sealed\n');
    t.equal(pub.status, 0, `${pub.stderr} (server: ${s.stderr()})`);
    const reader = new nsq.Reader('secure', 'c', { nsqdTCPAddresses: [`127.0.0.1:${ports.tcp}`], tls: true, tlsVerification: false, snappy: true });
    reader.on('error', () => {});
    const got = once(reader, 'message') as Promise<[NsqjsMessage]>;
    reader.connect();
    t.teardown(() => reader.close());
    const [m] = await got;
    t.equal(m.body.toString(), 'sealed', 'read over TLS + snappy by nsqjs');
    m.finish();
    const stats = (await (await fetch(`http://127.0.0.1:${ports.http}/stats?format=json&include_clients=true`)).json()) as { topics: { channels: { clients: { tls: boolean; snappy: boolean }[] }[] }[] };
    t.match(stats.topics[0]!.channels[0]!.clients[0], { tls: true, snappy: true }, 'the server says both were negotiated');
    const adminPort = /\[nsqadmin\] .*HTTP: listening on [^ ]*:(\d+)/.exec(s.stderr())?.[1];
    t.ok(adminPort, 'the admin page listens');
    const js = await fetch(`http://127.0.0.1:${adminPort}/static/app.js`);
    t.equal(js.status, 200);
    t.ok((await js.text()).length > 10_000, 'the page script, from the executable');
    s.child.kill('SIGTERM');
    await s.exit;
  });
}

// the executable holds a node binary: say how big it is, for the README
t.test('size', async (t) => {
  if (!existsSync(`${ROOT}dist/exe/nsq`)) return t.pass('no executable');
  const size = Number(execFileSync('stat', ['-c', '%s', `${ROOT}dist/exe/nsq`]).toString());
  t.comment(`dist/exe/nsq: ${(size / 2 ** 20).toFixed(1)} MiB`);
  t.ok(size > 10 * 2 ** 20, 'a node binary and the script');
});

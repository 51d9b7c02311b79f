// At the file-descriptor limit (`ulimit -n`), a server refuses new clients: it says so once per burst,
// keeps serving the clients it has, and accepts again once connections close. Real limits: each
// server runs under `ulimit -n 64`.

import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { BIN, tempDir } from '../helpers/nsqd.js';

const LIMIT = 64;

interface Limited {
  child: ChildProcess;
  stderr(): string;
  /** Resolves once stderr has a line matching `re` (already or later). */
  line(re: RegExp, ms?: number): Promise<string>;
}

/** `node <script> args` under `ulimit -n 64`; killed by PID when the test ends. */
function underLimit(t: Test, args: string[]): Limited {
  const child = spawn('sh', ['-c', `ulimit -n ${LIMIT} && exec "$0" "$@"`, process.execPath, ...args], { cwd: tempDir(t), stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const waiters: (() => void)[] = [];
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  child.stdout!.resume();
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const line = (re: RegExp, ms = 10_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line ${re} within ${ms} ms: ${err}`)), ms);
      const look = (): void => {
        const m = re.exec(err);
        if (m !== null) {
          clearTimeout(timer);
          return resolve(m[0]);
        }
        if (child.exitCode !== null) {
          clearTimeout(timer);
          return reject(new Error(`exited: ${err}`));
        }
        waiters.push(look);
      };
      look();
    });
  return { child, stderr: () => err, line };
}

type Kind = 'nsqd-tcp' | 'lookupd-tcp' | 'http' | 'bare';

const PUB = Buffer.concat([Buffer.from('PUB fd\n'), Buffer.from([0, 0, 0, 1]), Buffer.from('x')]);
/** What a client says first, and later on the same connection, to get an answer. */
const HELLO: Record<Kind, [string | Buffer, string | Buffer]> = {
  'nsqd-tcp': [Buffer.concat([Buffer.from('  V2'), PUB]), PUB],
  'lookupd-tcp': ['  V1PING\n', 'PING\n'],
  http: ['GET /ping HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /ping HTTP/1.1\r\nHost: x\r\n\r\n'],
  bare: ['x', 'x'],
};

/** Says something on an open connection; true when an answer comes back. */
function answered(socket: Socket, kind: Kind): Promise<boolean> {
  return new Promise((resolve) => {
    socket.once('data', () => resolve(true));
    socket.once('close', () => resolve(false));
    socket.write(HELLO[kind][1]);
  });
}

/** Opens a connection and says hello: served (an answer came, the socket stays open) or refused (closed unanswered). */
function attempt(port: number, kind: Kind): Promise<{ socket: Socket; served: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.once('connect', () => socket.write(HELLO[kind][0]));
    socket.once('data', () => resolve({ socket, served: true }));
    socket.once('close', () => resolve({ socket, served: false }));
  });
}

/** Fills the server up to its limit on `port`, checks the refusals, lets go, checks it serves again. */
async function exhaust(t: Test, server: Limited, label: string, port: number, kind: Kind): Promise<void> {
  const held: Socket[] = [];
  let refused = 0;
  for (let i = 0; i < 2 * LIMIT && refused < 5; i++) {
    const a = await attempt(port, kind);
    if (a.served) held.push(a.socket);
    else refused++;
  }
  t.equal(refused, 5, `${label}: past the limit new clients are refused (${held.length} held)`);
  t.ok(held.length > 10, `${label}: clients up to near the limit were served`);
  const warnings = server.stderr().split('\n').filter((l) => l.includes(`${label}: accept error - EMFILE`));
  t.equal(warnings.length, 1, `${label}: the refusals are logged once: ${warnings[0] ?? '(none)'}`);
  const first = await attempt(port, kind);
  t.notOk(first.served, `${label}: still refused while every client stays`);
  t.ok(await answered(held[0]!, kind), `${label}: a client connected before the limit is still served`);
  for (const s of held) s.destroy();
  const back = await server.line(new RegExp(`${label}: accepting connections again \\((\\d+) refused while out of file descriptors\\)`));
  t.match(back, /\(6 refused/, `${label}: once clients left, how many were refused is logged`);
  const again = await attempt(port, kind);
  t.ok(again.served, `${label}: a new client is served again`);
  again.socket.destroy();
}

async function ports(server: Limited): Promise<{ tcp: number; http: number }> {
  const tcp = await server.line(/TCP: listening on \S+:(\d+)/);
  const http = await server.line(/HTTP: listening on \S+:(\d+)/);
  return { tcp: Number(/(\d+)$/.exec(tcp)![1]), http: Number(/(\d+)$/.exec(http)![1]) };
}

const EPHEMERAL = ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0'];

t.test('control: a bare Node server at the limit refuses clients without a word', async (t) => {
  const script = `const s = require('net').createServer((c) => c.write('y')); s.on('error', (e) => console.error('error event: ' + e.code)); s.on('drop', () => console.error('drop event')); s.listen(0, '127.0.0.1', () => console.error('TCP: listening on 127.0.0.1:' + s.address().port));`;
  const bare = underLimit(t, ['-e', script]);
  const port = Number(/(\d+)$/.exec(await bare.line(/TCP: listening on \S+/))![1]);
  const held: Socket[] = [];
  let refused = 0;
  for (let i = 0; i < 2 * LIMIT && refused < 5; i++) {
    const a = await attempt(port, 'bare');
    if (a.served) held.push(a.socket);
    else refused++;
  }
  for (const s of held) s.destroy();
  t.equal(refused, 5, 'clients past the limit are closed');
  t.notMatch(bare.stderr(), /error event|drop event/, 'and the server is told nothing: no error, no drop');
});

t.test('nsq serve at the file-descriptor limit: TCP and HTTP', async (t) => {
  const nsqd = underLimit(t, [BIN, 'serve', ...EPHEMERAL]);
  const p = await ports(nsqd);
  await exhaust(t, nsqd, 'TCP', p.tcp, 'nsqd-tcp');
  await exhaust(t, nsqd, 'HTTP', p.http, 'http');
  t.equal(nsqd.child.exitCode, null, 'the server kept running');
});

t.test('nsq lookupd at the file-descriptor limit: TCP and HTTP', async (t) => {
  const lookupd = underLimit(t, [BIN, 'lookupd', ...EPHEMERAL]);
  const p = await ports(lookupd);
  await exhaust(t, lookupd, 'TCP', p.tcp, 'lookupd-tcp');
  await exhaust(t, lookupd, 'HTTP', p.http, 'http');
  t.equal(lookupd.child.exitCode, null, 'the server kept running');
});

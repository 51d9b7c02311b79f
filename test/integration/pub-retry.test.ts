// `nsq pub --retry` against a real fault: `nsq serve --durable` killed with SIGKILL mid-stream and
// restarted on the same address and data path. With --retry every record arrives; the control run
// without it, in the same scenario, exits 1 and loses records (so the check can see a loss).

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import t from 'tap';
import { BenchServer } from '../../bench/server.js';
import { Consumer } from '../../src/client/consumer.js';
import { BIN, tempDir } from '../helpers/nsqd.js';
import { waitFor } from '../helpers/stats.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

const TOPIC = 'logs';
const CHANNEL = 'check';

/** A port nothing listens on now, from the kernel, for a server that must come back on it. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', resolve);
  });
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** `nsq serve --durable` on `port` (TCP, or with `http` the HTTP port: the other one is the kernel's). */
async function serve(t: Teardown, port: number, dataPath: string, http = false): Promise<BenchServer> {
  // the later --tcp-address / --http-address wins over BenchServer's :0
  const address = http ? `--http-address=127.0.0.1:${port}` : `--tcp-address=127.0.0.1:${port}`;
  const server = await BenchServer.start({ memQueueSize: 10_000, args: ['--durable', `--data-path=${dataPath}`, address] });
  t.teardown(() => server.kill());
  return server;
}

interface Pub {
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<number | null>;
}

function pub(t: Teardown, args: string[]): Pub {
  const child = spawn(process.execPath, [BIN, 'pub', TOPIC, ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdin!.on('error', () => {});
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, stderr: () => err, exit };
}

/** Every distinct body on the topic's channel, once `want` distinct ones came or nothing new arrives for a while. */
async function consumeAll(t: Teardown, port: number, want: number): Promise<Set<string>> {
  const got = new Set<string>();
  let last = Date.now();
  const c = new Consumer({ topic: TOPIC, channel: CHANNEL, nsqdTcpAddresses: [`127.0.0.1:${port}`], maxInFlight: 500 }, (m) => {
    got.add(Buffer.from(m.body).toString());
    last = Date.now();
  });
  await c.start();
  t.teardown(() => c.stop());
  await waitFor(`${want} records, or no more coming`, () => got.size >= want || Date.now() - last > 1500, 20_000, 20);
  await c.stop();
  return got;
}

const RECORDS = 300;
const record = (i: number): string => `line ${i}`;

/**
 * Writes records 1..RECORDS into pub's stdin, one every few ms; after a third of them (and once
 * half of those are at the server) the server is killed with SIGKILL, and restarted on the same address and data path once pub has noticed (or
 * exited). Returns the server running at the end.
 */
async function scenario(t: Teardown, p: Pub, port: number, dataPath: string, first: BenchServer, http = false): Promise<BenchServer> {
  let server = first;
  const stdin = p.child.stdin!;
  for (let i = 1; i <= RECORDS; i++) {
    if (p.child.exitCode !== null) break;
    stdin.write(`${record(i)}\n`);
    await new Promise((r) => setTimeout(r, 3));
    if (i === RECORDS / 3) {
      // pub is connected and publishing (it starts slower than these writes)
      await waitFor('records at the server', async () => ((await server.depths(TOPIC)).channels[CHANNEL] ?? 0) >= RECORDS / 6, 15_000, 10);
      await server.kill();
      // the next records find the server gone: lost, refused on reconnect
      for (let j = 0; j < 20 && p.child.exitCode === null; j++) {
        stdin.write(`${record(++i)}\n`);
        await new Promise((r) => setTimeout(r, 3));
      }
      await waitFor('pub to notice the loss', () => /lost 127\.0\.0\.1:\d+|not acknowledged|connection refused/.test(p.stderr()) || p.child.exitCode !== null, 10_000, 10);
      server = await serve(t, port, dataPath, http);
    }
  }
  stdin.end();
  return server;
}

t.test('--retry: kill -9 of nsqd mid-stream, restarted on the same address: pub exits 0 and every record is on the topic', async (t) => {
  const dataPath = tempDir(t, 'nsq-pub-retry-');
  const port = await freePort();
  const first = await serve(t, port, dataPath);
  await first.createChannel(TOPIC, CHANNEL);
  const p = pub(t, [`--nsqd-tcp-address=127.0.0.1:${port}`, '--retry', '--progress']);
  const server = await scenario(t, p, port, dataPath, first);
  t.equal(await p.exit, 0, p.stderr());
  t.match(p.stderr(), new RegExp(`^nsq: lost 127\\.0\\.0\\.1:${port} \\([^)]+\\); retrying…$`, 'm'), 'the loss, said once');
  t.match(p.stderr(), new RegExp(`^nsq: reconnected to 127\\.0\\.0\\.1:${port} after [\\d.]+s; re-sending \\d+ messages?$`, 'm'), 'and the return');
  t.equal(p.stderr().match(/lost 127/g)?.length, 1, 'one line per outage');
  t.notMatch(p.stderr(), /not acknowledged/);
  const got = await consumeAll(t, server.tcpPort, RECORDS);
  const missing = Array.from({ length: RECORDS }, (_, i) => record(i + 1)).filter((r) => !got.has(r));
  t.same(missing, [], `all ${RECORDS} records arrived (duplicates allowed)`);
});

t.test('--retry over HTTP: the same kill -9, the same result', async (t) => {
  const dataPath = tempDir(t, 'nsq-pub-retry-http-');
  const port = await freePort();
  const first = await serve(t, port, dataPath, true);
  await first.createChannel(TOPIC, CHANNEL);
  const p = pub(t, ['--http', `--nsqd-http-address=127.0.0.1:${port}`, '--retry']);
  const server = await scenario(t, p, port, dataPath, first, true);
  t.equal(await p.exit, 0, p.stderr());
  t.match(p.stderr(), new RegExp(`^nsq: lost 127\\.0\\.0\\.1:${port} \\([^)]+\\); retrying…$`, 'm'));
  t.match(p.stderr(), new RegExp(`^nsq: reconnected to 127\\.0\\.0\\.1:${port} after`, 'm'));
  const got = await consumeAll(t, server.tcpPort, RECORDS);
  const missing = Array.from({ length: RECORDS }, (_, i) => record(i + 1)).filter((r) => !got.has(r));
  t.same(missing, [], `all ${RECORDS} records arrived`);
});

t.test('the control: the same kill -9 without --retry exits 1, says what was not acknowledged, and records are missing', async (t) => {
  const dataPath = tempDir(t, 'nsq-pub-noretry-');
  const port = await freePort();
  const first = await serve(t, port, dataPath);
  await first.createChannel(TOPIC, CHANNEL);
  const p = pub(t, [`--nsqd-tcp-address=127.0.0.1:${port}`]);
  const server = await scenario(t, p, port, dataPath, first);
  t.equal(await p.exit, 1, 'exit 1');
  t.match(p.stderr(), new RegExp(`^nsq: connect to 127\\.0\\.0\\.1:${port}: connection refused$`, 'm'));
  t.match(p.stderr(), /^nsq: published [\d,]+ messages? .*; [\d,]+ not acknowledged$/m, 'the summary counts what was not acknowledged');
  const got = await consumeAll(t, server.tcpPort, RECORDS);
  const missing = Array.from({ length: RECORDS }, (_, i) => record(i + 1)).filter((r) => !got.has(r));
  t.ok(missing.length > 0, `records are missing without --retry (${missing.length} of ${RECORDS})`);
});

t.test('--retry with an nsqd that never comes back: once stdin ends, gives up after --retry-timeout, exit 1 with the count', async (t) => {
  const dataPath = tempDir(t, 'nsq-pub-gone-');
  const port = await freePort();
  const server = await serve(t, port, dataPath);
  await server.createChannel(TOPIC, CHANNEL);
  const p = pub(t, [`--nsqd-tcp-address=127.0.0.1:${port}`, '--retry', '--retry-timeout=1s']);
  p.child.stdin!.write('one\n');
  await waitFor('the first record at the server', async () => (await server.depths(TOPIC)).channels[CHANNEL] === 1, 10_000, 20);
  await server.kill();
  p.child.stdin!.write('two\nthree\n');
  await waitFor('pub to notice the loss', () => /lost 127/.test(p.stderr()), 10_000, 10);
  // still retrying while stdin is open, however long
  await new Promise((r) => setTimeout(r, 1500));
  t.equal(p.child.exitCode, null, 'no giving up while input may still come');
  const ended = Date.now();
  p.child.stdin!.end();
  t.equal(await p.exit, 1, p.stderr());
  const ms = Date.now() - ended;
  t.ok(ms >= 900 && ms < 8000, `gave up ${ms}ms after stdin ended`);
  t.match(p.stderr(), new RegExp(`^nsq: gave up retrying after [\\d.]+s \\(connect to 127\\.0\\.0\\.1:${port}: connection refused\\)$`, 'm'));
  // 'one' is at the server; its OK may have been cut off by the kill, and then it counts as not acknowledged
  const summary = /^nsq: published (\d) messages? .*; (\d) not acknowledged$/m.exec(p.stderr());
  t.ok(summary !== null && Number(summary[1]) + Number(summary[2]) === 3 && Number(summary[2]) >= 2, 'the summary counts the records not acknowledged');
});

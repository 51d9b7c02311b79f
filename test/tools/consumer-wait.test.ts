// Consumers through lookupd wait for their topic, as nsq_tail does: `nsq tail`, `nsq to-file` and
// `nsq bench sub` started before the topic exists (or while lookupd is down) keep polling, say once
// why they wait, and consume what is published later. Spawned binaries, real lookupd and nsqd.

import { readdirSync, readFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { Producer } from '../../src/client/producer.js';
import type { NSQLookupd } from '../../src/lookupd/lookupd.js';
import type { NSQD } from '../../src/nsqd/nsqd.js';
import { startLookupd } from '../helpers/lookupd.js';
import { spawnNsq, startNsqd, tempDir } from '../helpers/nsqd.js';
import { waitFor } from '../helpers/stats.js';

type Teardown = { teardown(fn: () => unknown): void };

const POLL = '--lookupd-poll-interval=100ms';
const occurrences = (text: string, re: RegExp): number => text.match(new RegExp(re.source, 'g'))?.length ?? 0;

async function cluster(t: Teardown): Promise<{ l: NSQLookupd; nsqd: NSQD; publish: (topic: string, bodies: string[]) => Promise<void> }> {
  const l = await startLookupd(t);
  const nsqd = await startNsqd(t, { nsqlookupdTcpAddresses: [`127.0.0.1:${l.tcpEndpoint.port}`] });
  const p = new Producer(`127.0.0.1:${nsqd.tcpEndpoint.port}`);
  t.teardown(() => p.close());
  return { l, nsqd, publish: (topic, bodies) => p.mpublish(topic, bodies) };
}

/**
 * A TCP front for a lookupd's HTTP port that the test controls: while `down`, every connection is
 * dropped at once (the client sees lookupd unreachable) and counted; once up, it is passed through.
 */
async function lookupdFront(t: Teardown, target: () => number | null): Promise<{ port: number; refusedCount: () => number; lookups: () => number }> {
  let refused = 0;
  let lookups = 0;
  const sockets = new Set<Socket>();
  const srv: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    const port = target();
    if (port === null) {
      refused++;
      s.destroy();
      return;
    }
    s.on('data', (chunk: Buffer) => (lookups += occurrences(chunk.toString('latin1'), /GET \/lookup\?/)));
    const up = connect(port, '127.0.0.1');
    up.on('error', () => s.destroy());
    s.pipe(up).pipe(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => srv.close(() => r()));
  });
  return { port: (srv.address() as { port: number }).port, refusedCount: () => refused, lookups: () => lookups };
}

t.test('tail started before the topic exists waits, says so once, and prints what is published later', async (t) => {
  const { l, publish } = await cluster(t);
  const front = await lookupdFront(t, () => l.httpEndpoint.port);
  const tail = spawnNsq(t, ['tail', 'later', `--lookupd-http-address=127.0.0.1:${front.port}`, POLL, '-n', '2']);
  await waitFor('the waiting line', () => /waiting: no nsqd has topic later yet/.test(tail.stderr()), 8000);
  // a few more polls go by: still one line, still running
  const before = front.lookups();
  await waitFor('three more polls', () => front.lookups() >= before + 3, 8000);
  t.equal(tail.child.exitCode, null, 'still running');
  await publish('later', ['one', 'two']);
  // (not "its channel exists": tail takes both, exits, and its ephemeral channel goes, often before a check sees it)
  const { code } = await tail.exit;
  t.equal(code, 0, tail.stderr());
  t.equal(tail.stdout(), 'one\ntwo\n');
  t.equal(occurrences(tail.stderr(), /waiting:/), 1, `told once: ${tail.stderr()}`);
});

t.test('tail with a lookupd that drops every connection keeps retrying, says so once, then finds the topic; SIGTERM exits', async (t) => {
  const { l, nsqd, publish } = await cluster(t);
  let up = false;
  const front = await lookupdFront(t, () => (up ? l.httpEndpoint.port : null));
  const tail = spawnNsq(t, ['tail', 'feed', `--lookupd-http-address=127.0.0.1:${front.port}`, POLL]);
  // Node's fetch never settles such a request: without a timer of our own the tail exited 0 here
  await waitFor('three failed polls', () => front.refusedCount() >= 3, 10_000);
  t.equal(tail.child.exitCode, null, 'still running while lookupd is unreachable');
  t.match(tail.stderr(), new RegExp(`feed: waiting: no lookupd answered \\(connect to lookupd 127\\.0\\.0\\.1:${front.port}: [^)]+\\)`));
  t.equal(occurrences(tail.stderr(), /waiting:/), 1, `told once, not once per poll: ${tail.stderr()}`);

  await publish('feed', ['before-up']);
  up = true;
  await waitFor('the message published while lookupd was down', () => tail.stdout() === 'before-up\n', 8000);
  await waitFor('one channel on the node', () => nsqd.getExistingTopic('feed')?.channels.size === 1);
  tail.child.kill('SIGTERM');
  t.equal((await tail.exit).code, 0, tail.stderr());
  t.notMatch(tail.stderr(), /\bat .*\.js:\d+/, 'no stack');
});

t.test('tail with no lookupd listening keeps running; a lookupd started on that port later is found', async (t) => {
  const gone = await startLookupd(t);
  const port = gone.httpEndpoint.port;
  await gone.stop();
  const tail = spawnNsq(t, ['tail', 'late', `--lookupd-http-address=127.0.0.1:${port}`, POLL, '-n', '1']);
  await waitFor('the waiting line', () => /waiting:/.test(tail.stderr()), 8000);
  t.match(tail.stderr(), `late: waiting: no lookupd answered (connect to lookupd 127.0.0.1:${port}: connection refused)`);
  // refused connections leave nothing to wait on: give it five poll intervals
  await new Promise((r) => setTimeout(r, 500));
  t.equal(tail.child.exitCode, null, 'still running');
  t.equal(occurrences(tail.stderr(), /waiting:/), 1, `told once: ${tail.stderr()}`);

  const l = await startLookupd(t, { httpAddress: `127.0.0.1:${port}` });
  const nsqd = await startNsqd(t, { nsqlookupdTcpAddresses: [`127.0.0.1:${l.tcpEndpoint.port}`] });
  const p = new Producer(`127.0.0.1:${nsqd.tcpEndpoint.port}`);
  t.teardown(() => p.close());
  await p.publish('late', 'found');
  t.equal((await tail.exit).code, 0, tail.stderr());
  t.equal(tail.stdout(), 'found\n');
});

t.test('to-file started before the topic exists waits and writes what is published later', async (t) => {
  const { l, nsqd, publish } = await cluster(t);
  const out = tempDir(t, 'nsq-wait-out-');
  const front = await lookupdFront(t, () => l.httpEndpoint.port);
  const tf = spawnNsq(t, ['to-file', '--topic=soon', `--lookupd-http-address=127.0.0.1:${front.port}`, POLL, `--output-dir=${out}`, '--host-identifier=h', '--datetime-format=fixed', '--sync-interval=100ms']);
  await waitFor('the waiting line', () => /waiting: no nsqd has topic soon yet/.test(tf.stderr()), 8000);
  const before = front.lookups();
  await waitFor('three more polls', () => front.lookups() >= before + 3, 8000);
  t.equal(tf.child.exitCode, null, 'still running');
  await publish('soon', ['a', 'b', 'c']);
  await waitFor('all three FINed', () => {
    const ch = nsqd.getExistingTopic('soon')?.getExistingChannel('nsq_to_file');
    return ch !== undefined && ch.depth === 0 && ch.inFlightCount === 0 && ch.messageCount === 3;
  }, 8000);
  tf.child.kill('SIGTERM');
  t.equal((await tf.exit).code, 0, tf.stderr());
  const files = readdirSync(out);
  t.equal(files.length, 1, String(files));
  t.equal(readFileSync(join(out, files[0]!), 'utf8'), 'a\nb\nc\n');
  t.equal(occurrences(tf.stderr(), /waiting:/), 1, tf.stderr());
});

t.test('bench sub through lookupd waits for the topic', async (t) => {
  const { l, publish } = await cluster(t);
  const sub = spawnNsq(t, ['bench', 'sub', '--topic=bt', `--lookupd-http-address=127.0.0.1:${l.httpEndpoint.port}`, POLL, '--count=5', '--duration=30s', '--json']);
  await waitFor('the waiting line', () => /waiting: no nsqd has topic bt yet/.test(sub.stderr()), 8000);
  await publish('bt', ['1', '2', '3', '4', '5']);
  t.equal((await sub.exit).code, 0, sub.stderr());
  t.equal((JSON.parse(sub.stdout()) as { messages: number }).messages, 5);
});

// `nsq to-file` stopped by SIGTERM while messages keep arriving, in a loop: every message it wrote
// was FINed (none is back in the channel to be delivered again), every message it did not write is
// back in the channel, and no connection closed with messages unanswered (our nsqd requeues those
// at once; Go nsqd holds them in flight until msg-timeout). Plain and deflate connections, and
// lookupd mode with two nodes, one of them discovered mid-run.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import type { Channel } from '../../src/nsqd/channel.js';
import type { NSQD } from '../../src/nsqd/nsqd.js';
import { startLookupd } from '../helpers/lookupd.js';
import { spawnNsq, startNsqd, tempDir } from '../helpers/nsqd.js';
import { waitFor } from '../helpers/stats.js';

const ROUNDS = 4;
const CHANNEL = 'nsq_to_file';

interface Node {
  nsqd: NSQD;
  producer: Producer;
  sent: number;
}

async function node(t: Test, lookupTcp?: string): Promise<Node> {
  const nsqd = await startNsqd(t, lookupTcp === undefined ? {} : { nsqlookupdTcpAddresses: [lookupTcp] });
  const producer = new Producer(`127.0.0.1:${nsqd.tcpEndpoint.port}`);
  t.teardown(() => producer.close());
  return { nsqd, producer, sent: 0 };
}

const finished = (ch: Channel): number => ch.clients.reduce((n, c) => n + c.finishCount, 0);

/** Publishes to `n` about 10k messages a second (enough to keep RDY full, light enough) until stopped. */
function stream(n: Node, topic: string): () => Promise<void> {
  let flowing = true;
  const done = (async () => {
    while (flowing) {
      const batch = Array.from({ length: 20 }, () => `${topic}@${n.nsqd.tcpEndpoint.port}-${n.sent++}`);
      await n.producer.mpublish(topic, batch);
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  return () => {
    flowing = false;
    return done;
  };
}

/** After to-file exited: check every node's channel against the files. */
async function check(t: Test, label: string, topic: string, nodes: Node[], dir: string): Promise<void> {
  const written = new Set(readdirSync(dir).flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l !== '')));
  for (const n of nodes) {
    const ch = n.nsqd.getTopic(topic).getChannel(CHANNEL);
    const left: string[] = [];
    const depth = ch.depth + ch.deferredCount;
    if (depth > 0) {
      const c = new Consumer({ topic, channel: CHANNEL, nsqdTcpAddresses: [`127.0.0.1:${n.nsqd.tcpEndpoint.port}`], maxInFlight: 500 }, (m) => {
        left.push(m.body.toString());
      });
      await c.start();
      await waitFor(`the ${depth} left`, () => left.length >= depth, 5000);
      await c.stop();
    }
    t.same(left.filter((b) => written.has(b)), [], `${label}: nothing written is back in the channel on ${n.nsqd.tcpEndpoint.port} (${left.length} left)`);
    const all = new Set([...written, ...left]);
    const prefix = `${topic}@${n.nsqd.tcpEndpoint.port}-`;
    t.same(Array.from({ length: n.sent }, (_, i) => `${prefix}${i}`).filter((b) => !all.has(b)), [], `${label}: every message of ${n.nsqd.tcpEndpoint.port} is in the file or in the channel`);
  }
}

t.test(`SIGTERM mid-stream, ${ROUNDS} rounds: written means FINed, not written means requeued`, async (t) => {
  const n = await node(t);
  const addr = `127.0.0.1:${n.nsqd.tcpEndpoint.port}`;
  for (let round = 0; round < ROUNDS; round++) {
    const topic = `stop${round}`;
    const deflate = round % 2 === 1;
    const label = `round ${round}${deflate ? ' (deflate)' : ''}`;
    const ch = n.nsqd.getTopic(topic).getChannel(CHANNEL);
    n.sent = 0;
    const dir = tempDir(t, 'nsq-stop-');
    const tf = spawnNsq(t, ['to-file', `--topic=${topic}`, `--nsqd-tcp-address=${addr}`, `--output-dir=${dir}`, '--sync-interval=20ms', '--max-in-flight=40', '--log-level=warn', ...(deflate ? ['--deflate'] : [])]);
    await waitFor('to-file subscribed', () => ch.clients.length === 1, 10_000, 5);
    const stop = stream(n, topic);
    // stop at a different point in each round
    await waitFor('to-file consuming', () => finished(ch) > 50 + round * 20, 10_000, 2);
    const client = ch.clients[0]!;
    const before = ch.requeueCount;
    tf.child.kill('SIGTERM');
    const { code } = await tf.exit;
    await stop();
    t.equal(code, 0, `${label}: exit 0 (${tf.stderr().trim()})`);
    // requeues by the close are counted by the channel only; to-file's own REQs by its client too
    await waitFor('the connection gone', () => ch.clients.length === 0, 3000);
    t.equal(ch.requeueCount - before - client.requeueCount, 0, `${label}: no message left unanswered when the connection closed`);
    await check(t, label, topic, [n], dir);
  }
});

t.test('lookupd mode, two nodes, the second discovered mid-run: SIGTERM leaves nothing unanswered on either', async (t) => {
  const l = await startLookupd(t);
  const lookupTcp = `127.0.0.1:${l.tcpEndpoint.port}`;
  const a = await node(t, lookupTcp);
  const b = await node(t, lookupTcp);
  const topic = 'spread';
  const chA = a.nsqd.getTopic(topic).getChannel(CHANNEL);
  await waitFor('lookupd lists the topic on the first node', async () => (await fetch(`http://127.0.0.1:${l.httpEndpoint.port}/lookup?topic=${topic}`)).status === 200);
  const dir = tempDir(t, 'nsq-stop-lookupd-');
  const tf = spawnNsq(t, ['to-file', `--topic=${topic}`, `--lookupd-http-address=127.0.0.1:${l.httpEndpoint.port}`, '--lookupd-poll-interval=100ms', `--output-dir=${dir}`, '--sync-interval=20ms', '--max-in-flight=40', '--log-level=warn']);
  await waitFor('to-file on the first node', () => chA.clients.length === 1, 10_000, 5);
  const stopA = stream(a, topic);
  await waitFor('consuming from the first node', () => finished(chA) > 50, 10_000, 2);
  // the topic appears on the second node: to-file finds it at its next poll
  const chB = b.nsqd.getTopic(topic).getChannel(CHANNEL);
  const stopB = stream(b, topic);
  await waitFor('to-file on the second node', () => chB.clients.length === 1 && finished(chB) > 20, 10_000, 2);
  const clients = [chA.clients[0]!, chB.clients[0]!];
  const before = [chA.requeueCount, chB.requeueCount];
  tf.child.kill('SIGTERM');
  const { code } = await tf.exit;
  await Promise.all([stopA(), stopB()]);
  t.equal(code, 0, tf.stderr());
  for (const [i, ch] of [chA, chB].entries()) {
    await waitFor('the connection gone', () => ch.clients.length === 0, 3000);
    t.equal(ch.requeueCount - before[i]! - clients[i]!.requeueCount, 0, `node ${i}: no message left unanswered when the connection closed`);
  }
  await check(t, 'lookupd', topic, [a, b], dir);
});

// The client library against real servers: batching producer, multi-node consumer, failures.

import t from 'tap';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { Connection, NsqError, type Message } from '../../src/client/connection.js';
import { startNsqd, tempDir } from '../helpers/nsqd.js';
import { NSQD } from '../../src/nsqd/nsqd.js';
import { Logger } from '../../src/util/log.js';

const addr = (n: { tcpEndpoint: { port: number } }): string => `127.0.0.1:${n.tcpEndpoint.port}`;

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

t.test('producer batches publishes into MPUBs and every message arrives once', async (t) => {
  const nsqd = await startNsqd(t);
  const p = new Producer(addr(nsqd), { userAgent: 'test' });
  t.teardown(() => p.close());
  const sends: Promise<void>[] = [];
  for (let i = 0; i < 5000; i++) sends.push(p.publish('batch', `m${i}`));
  await Promise.all(sends);
  const topic = nsqd.getExistingTopic('batch')!;
  t.equal(topic.messageCount, 5000);
  const client = [...nsqd.clients.values()][0]!;
  t.equal(client.pubCounts.get('batch'), 5000);
  t.equal(client.userAgent, 'test');

  const got = new Set<string>();
  const c = new Consumer({ topic: 'batch', channel: 'c', nsqdTcpAddresses: [addr(nsqd)], maxInFlight: 500 }, (m) => {
    got.add(m.body.toString());
  });
  await c.start();
  t.teardown(() => c.stop());
  await until(() => got.size === 5000);
  t.equal(c.received, 5000, 'no duplicates');
  await until(() => nsqd.getExistingTopic('batch')!.getExistingChannel('c')!.inFlightCount === 0);
  t.equal(c.finished, 5000);
});

t.test('consumer spreads over two nodes and gets every message from both', async (t) => {
  const a = await startNsqd(t);
  const b = await startNsqd(t);
  const pa = new Producer(addr(a));
  const pb = new Producer(addr(b));
  t.teardown(() => Promise.all([pa.close(), pb.close()]));
  await Promise.all([pa.mpublish('two', ['a1', 'a2', 'a3']), pb.mpublish('two', ['b1', 'b2'])]);
  const got: string[] = [];
  const c = new Consumer({ topic: 'two', channel: 'c', nsqdTcpAddresses: [addr(a), addr(b)], maxInFlight: 10 }, (m) => {
    got.push(m.body.toString());
  });
  await c.start();
  t.teardown(() => c.stop());
  await until(() => got.length === 5);
  t.same([...got].sort(), ['a1', 'a2', 'a3', 'b1', 'b2']);
  const rdy = [a, b].map((n) => [...n.clients.values()].find((cl) => cl.channel !== null)!.readyCount);
  t.same(rdy, [5, 5], 'max-in-flight split evenly as RDY');
});

t.test('a handler that throws requeues with a delay; attempts go up', async (t) => {
  const nsqd = await startNsqd(t);
  const p = new Producer(addr(nsqd));
  t.teardown(() => p.close());
  await p.publish('fail', 'x');
  const attempts: number[] = [];
  const c = new Consumer({ topic: 'fail', channel: 'c', nsqdTcpAddresses: [addr(nsqd)], requeueDelay: 50, maxBackoff: 0 }, (m: Message) => {
    attempts.push(m.attempts);
    if (m.attempts < 3) throw new Error('not yet');
  });
  await c.start();
  t.teardown(() => c.stop());
  await until(() => attempts.length === 3);
  t.same(attempts, [1, 2, 3]);
  t.equal(c.requeued, 2);
  await until(() => c.finished === 1);
  t.equal(nsqd.getExistingTopic('fail')!.getExistingChannel('c')!.requeueCount, 2);
});

t.test('connection errors are NsqErrors with codes, and the server error text', async (t) => {
  const nsqd = await startNsqd(t, { maxMsgSize: 10 });
  await t.rejects(Connection.open({ host: '127.0.0.1', port: 1 }), { code: 'ECONNREFUSED' });
  const conn = await Connection.open({ host: '127.0.0.1', port: nsqd.tcpEndpoint.port });
  t.equal(conn.identify?.max_rdy_count, 2500, 'feature negotiation answered');
  const err = await conn.publish('t', 'much too long a message').catch((e: unknown) => e);
  t.ok(err instanceof NsqError);
  t.equal((err as NsqError).code, 'E_BAD_MESSAGE');
  t.equal((err as NsqError).message, 'E_BAD_MESSAGE PUB message too big 23 > 10');
  await conn.closed;
  await t.rejects(conn.publish('t', 'x'), { code: 'E_CLOSED', message: /closed after: E_BAD_MESSAGE PUB message too big/ }, 'later commands fail, saying why it closed');
});

t.test('consumer reconnects when its node comes back', async (t) => {
  const first = await startNsqd(t);
  const port = first.tcpEndpoint.port;
  const got: string[] = [];
  const c = new Consumer({ topic: 'rc', channel: 'c', nsqdTcpAddresses: [`127.0.0.1:${port}`], reconnectDelay: 50 }, (m) => {
    got.push(m.body.toString());
  });
  await c.start();
  t.teardown(() => c.stop());
  await first.stop();
  const second = new NSQD({ tcpAddress: `127.0.0.1:${port}`, httpAddress: '127.0.0.1:0', dataPath: tempDir(t) }, new Logger('fatal'));
  await second.start();
  t.teardown(() => second.stop());
  await until(() => c.connectionCount === 1);
  const p = new Producer(`127.0.0.1:${port}`);
  t.teardown(() => p.close());
  await p.publish('rc', 'after restart');
  await until(() => got.length === 1);
  t.same(got, ['after restart']);
});

t.test('a message that timed out and came back counts once in flight; stop() does not wait for the lost delivery', async (t) => {
  const nsqd = await startNsqd(t, { msgTimeout: 1000 });
  const p = new Producer(addr(nsqd));
  t.teardown(() => p.close());
  await p.publish('slow', 'x');
  const attempts: number[] = [];
  let conn: Connection | null = null;
  const c = new Consumer({ topic: 'slow', channel: 'c', nsqdTcpAddresses: [addr(nsqd)], autoFinish: false, msgTimeout: 1000 }, (m: Message) => {
    attempts.push(m.attempts);
    conn = m.connection;
    if (m.attempts >= 2) m.finish();
  });
  await c.start();
  await until(() => attempts.length === 2, 8000);
  t.same(attempts, [1, 2]);
  t.equal(conn!.inFlight, 0, 'the first delivery timed out, the second was finished');
  const started = Date.now();
  await c.stop(5000);
  t.ok(Date.now() - started < 2000, `stop took ${Date.now() - started}ms`);
});

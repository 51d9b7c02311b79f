// Closing a connection right after answering its messages: the answers reach nsqd first, plain
// and compressed. Deflate runs on the thread pool at both ends: the client ends its socket only once
// its deflater is drained, and nsqd closes only once its inflater has executed what arrived before
// the end (with 50 FINs this failed now and then; with 2500 the last compressed chunks are still
// being inflated when the end arrives, every time).

import t from 'tap';
import { Connection, type Message } from '../../src/client/connection.js';
import { startNsqd } from '../helpers/nsqd.js';
import { waitFor } from '../helpers/stats.js';

for (const mode of ['plain', 'snappy', 'deflate'] as const) {
  t.test(`${mode}: FIN then close() in the same turn: every FIN arrives, nothing is requeued`, async (t) => {
    const nsqd = await startNsqd(t);
    const topic = `close_${mode}`;
    const ch = nsqd.getTopic(topic).getChannel('c');
    // nsqd's default --max-rdy-count: all of them in flight at once
    const bodies = Array.from({ length: 2500 }, (_, i) => `m${i}`);
    const pub = await Connection.open({ host: '127.0.0.1', port: nsqd.tcpEndpoint.port });
    t.teardown(() => pub.close());
    await pub.mpublish(topic, bodies);

    const conn = await Connection.open({ host: '127.0.0.1', port: nsqd.tcpEndpoint.port, ...(mode === 'plain' ? {} : { [mode]: true }) });
    t.teardown(() => conn.close());
    const got: Message[] = [];
    const all = new Promise<void>((resolve) => {
      conn.events.message = (m) => {
        if (got.push(m) === bodies.length) resolve();
      };
    });
    await conn.subscribe(topic, 'c');
    conn.ready(bodies.length);
    await all;
    for (const m of got) m.finish();
    conn.close();
    await conn.closed;
    await waitFor('the client gone', () => ch.clients.length === 0);
    t.equal(ch.requeueCount, 0, 'no message was put back by the close');
    t.equal(ch.depth + ch.inFlightCount, 0, 'every message finished');
  });

  t.test(`${mode}: a fatal error closes the connection, and its E_* frame arrives first`, async (t) => {
    const nsqd = await startNsqd(t);
    const conn = await Connection.open({ host: '127.0.0.1', port: nsqd.tcpEndpoint.port, ...(mode === 'plain' ? {} : { [mode]: true }) });
    t.teardown(() => conn.close());
    // nsqd deflates on the thread pool too: ending its socket at once dropped the error frame
    await t.rejects(conn.publish('bad!topic', 'x'), { code: 'E_BAD_TOPIC', message: /PUB topic name "bad!topic" is not valid/ });
    t.equal((await conn.closed)?.message, 'E_BAD_TOPIC PUB topic name "bad!topic" is not valid', 'the close says why');
  });
}

t.test('a consumer stopping with messages its handler never answers: RDY 0, then they are requeued before the close', async (t) => {
  const nsqd = await startNsqd(t);
  const ch = nsqd.getTopic('held').getChannel('c');
  const pub = await Connection.open({ host: '127.0.0.1', port: nsqd.tcpEndpoint.port });
  t.teardown(() => pub.close());
  await pub.mpublish('held', Array.from({ length: 20 }, (_, i) => `h${i}`));
  const { Consumer } = await import('../../src/client/consumer.js');
  let got = 0;
  const c = new Consumer({ topic: 'held', channel: 'c', nsqdTcpAddresses: [`127.0.0.1:${nsqd.tcpEndpoint.port}`], maxInFlight: 5, autoFinish: false }, () => {
    got++;
  });
  await c.start();
  await waitFor('five in flight', () => got === 5 && ch.inFlightCount === 5);
  const client = ch.clients[0]!;
  await c.stop(200);
  await waitFor('the client gone', () => ch.clients.length === 0);
  t.equal(got, 5, 'nothing more delivered once the stop began');
  // Go nsqd would hold what a closed connection left unanswered until msg-timeout
  t.equal(client.requeueCount, 5, 'the five were put back by REQ, not left to the close');
  t.equal(ch.requeueCount, 5);
  t.equal(ch.depth, 20);
});

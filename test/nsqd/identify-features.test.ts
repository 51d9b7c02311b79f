// IDENTIFY features as a consumer sees them: sample_rate thins a channel's stream to about that
// share, heartbeat_interval -1 turns heartbeats (and the read timeout) off, output_buffer_timeout is
// granted and reported but never delays a message (output is written every event-loop turn).

import t from 'tap';
import { Connection, type Message } from '../../src/client/connection.js';
import { Producer } from '../../src/client/producer.js';
import { encodeCommand, encodeIdentify, encodePub } from '../../src/protocol/encoders.js';
import { FRAME_TYPE_MESSAGE, FRAME_TYPE_RESPONSE } from '../../src/protocol/constants.js';
import { startNsqd } from '../helpers/nsqd.js';
import { RawConn } from '../helpers/raw.js';
import { channelStats, getStats, waitFor } from '../helpers/stats.js';

t.test('sample_rate 25: the channel gets about a quarter of the messages, another channel all of them', async (t) => {
  const nsqd = await startNsqd(t);
  const port = nsqd.tcpEndpoint.port;
  const counts = { sampled: 0, full: 0 };
  const subscribe = async (channel: 'sampled' | 'full', sampleRate: number): Promise<Connection> => {
    const c = await Connection.open({ host: '127.0.0.1', port, sampleRate });
    t.teardown(() => c.close());
    c.events.message = (m: Message) => {
      counts[channel]++;
      m.finish();
    };
    await c.subscribe('sampling', channel);
    c.ready(500);
    return c;
  };
  const sampled = await subscribe('sampled', 25);
  t.equal(sampled.identify?.sample_rate, 25, 'IDENTIFY granted sample_rate 25');
  await subscribe('full', 0);
  const p = new Producer(`127.0.0.1:${port}`);
  t.teardown(() => p.close());
  const total = 4000;
  for (let i = 0; i < total; i += 200) await p.mpublish('sampling', Array.from({ length: 200 }, (_, k) => `m${i + k}`));
  await waitFor('every message on the unsampled channel', () => counts.full === total);
  // the sampled channel is done once it holds nothing more (sampled-out messages are dropped)
  await waitFor('the sampled channel drained', async () => {
    const ch = await channelStats(nsqd, 'sampling', 'sampled');
    return ch !== undefined && ch.depth === 0 && ch.in_flight_count === 0;
  });
  t.equal(counts.full, total, 'the unsampled channel got every message');
  // binomial(4000, 0.25): 1000 ± 27 (one standard deviation); 800..1200 is beyond 7 of them
  t.ok(counts.sampled >= 800 && counts.sampled <= 1200, `the sampled channel got about 25 % (${counts.sampled} of ${total})`);
  const client = (await getStats(nsqd, '&include_clients=true')).topics?.[0]?.channels.find((c) => c.channel_name === 'sampled')?.clients?.[0] as unknown as Record<string, unknown> | undefined;
  t.equal(client?.['sample_rate'], 25, '/stats reports the client sample rate');
});

t.test('heartbeat_interval -1: no heartbeats, no read timeout, the connection stays usable', async (t) => {
  const nsqd = await startNsqd(t);
  const port = nsqd.tcpEndpoint.port;
  // the control: a 1 s heartbeat arrives
  const control = await RawConn.open(port);
  t.teardown(() => control.close());
  control.send(encodeIdentify({ heartbeat_interval: 1000 }));
  t.equal((await control.next())?.text, 'OK');
  const hb = await control.next(3000, false);
  t.equal(hb?.text, '_heartbeat_', 'with heartbeat_interval 1000 a heartbeat arrives');

  const quiet = await RawConn.open(port);
  t.teardown(() => quiet.close());
  quiet.send(encodeIdentify({ heartbeat_interval: -1, feature_negotiation: true }));
  const answer = JSON.parse((await quiet.next())?.text ?? '{}') as Record<string, unknown>;
  t.equal(answer['max_rdy_count'], 2500, 'IDENTIFY answered');
  t.ok(await quiet.quietFor(2500), 'nothing at all for 2.5 s: no heartbeats');
  // the control never answered its heartbeats: after 2 intervals the server dropped it
  const dropped = await Promise.race([control.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 1000))]);
  t.ok(dropped, 'the control connection, silent for over 2 heartbeat intervals, was closed (read timeout)');
  quiet.send(encodePub('hb', 'still here'));
  const ok = await quiet.next();
  t.same([ok?.type, ok?.text], [FRAME_TYPE_RESPONSE, 'OK'], 'not timed out: a PUB is still answered');
});

t.test('output_buffer_timeout is granted and reported, and never holds a message back', async (t) => {
  const nsqd = await startNsqd(t);
  const c = await RawConn.open(nsqd.tcpEndpoint.port);
  t.teardown(() => c.close());
  c.send(encodeIdentify({ feature_negotiation: true, output_buffer_timeout: 1000, output_buffer_size: 1 << 16 }));
  const answer = JSON.parse((await c.next())?.text ?? '{}') as Record<string, unknown>;
  t.equal(answer['output_buffer_timeout'], 1000);
  t.equal(answer['output_buffer_size'], 65536);
  c.send(encodeCommand('SUB', 'obt', 'c'));
  t.equal((await c.next())?.text, 'OK');
  c.send(encodeCommand('RDY', 10));
  const sent = performance.now();
  const p = new Producer(`127.0.0.1:${nsqd.tcpEndpoint.port}`);
  t.teardown(() => p.close());
  await p.publish('obt', 'now');
  const m = await c.next(2000);
  const took = performance.now() - sent;
  t.equal(m?.type, FRAME_TYPE_MESSAGE);
  t.ok(took < 500, `delivered in ${took.toFixed(1)} ms, well under the 1000 ms buffer timeout`);

  // -1 disables output buffering (nsqd): accepted
  const d = await RawConn.open(nsqd.tcpEndpoint.port);
  t.teardown(() => d.close());
  d.send(encodeIdentify({ output_buffer_timeout: -1, output_buffer_size: -1 }));
  t.equal((await d.next())?.text, 'OK', 'output_buffer_timeout -1 and output_buffer_size -1 are accepted');
});

t.test('IDENTIFY short_id/long_id (older clients) stand for client_id/hostname in /stats', async (t) => {
  const nsqd = await startNsqd(t);
  const c = await RawConn.open(nsqd.tcpEndpoint.port);
  t.teardown(() => c.close());
  c.send(encodeIdentify({ short_id: 'worker-7', long_id: 'worker-7.example.com', user_agent: 'old-client/0.1' }));
  t.equal((await c.next())?.text, 'OK');
  c.send(encodeCommand('SUB', 'legacy', 'c'));
  t.equal((await c.next())?.text, 'OK');
  const client = (await getStats(nsqd, '&include_clients=true')).topics?.[0]?.channels[0]?.clients?.[0];
  t.same([client?.client_id, client?.hostname, client?.user_agent], ['worker-7', 'worker-7.example.com', 'old-client/0.1']);
  // client_id and hostname win when both are given
  const d = await RawConn.open(nsqd.tcpEndpoint.port);
  t.teardown(() => d.close());
  d.send(encodeIdentify({ short_id: 'old', client_id: 'new', long_id: 'old.host', hostname: 'new.host' }));
  t.equal((await d.next())?.text, 'OK');
  d.send(encodeCommand('SUB', 'legacy', 'd'));
  t.equal((await d.next())?.text, 'OK');
  const ch = (await getStats(nsqd, '&include_clients=true')).topics?.[0]?.channels.find((x) => x.channel_name === 'd');
  t.same([ch?.clients?.[0]?.client_id, ch?.clients?.[0]?.hostname], ['new', 'new.host']);
});

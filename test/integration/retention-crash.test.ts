// kill -9 of `nsq serve --durable --retention` while a channel created with from=earliest is still
// catching up on a retained journal much larger than its queue (docs/retention.md, "Across kill -9"):
// what the consumer (nsqjs) finished is not delivered again, nothing else is lost. The control runs
// the same steps without --retention: the replaying channel then gets almost nothing, so the test
// sees the difference retention makes.

import t from 'tap';
import type { Test } from 'tap';
import { once } from 'node:events';
import nsq from 'nsqjs';
import type { Message as NsqjsMessage } from 'nsqjs';
import { Connection } from '../../src/client/connection.js';
import { tempDir } from '../helpers/nsqd.js';
import { delay, waitFor } from '../helpers/stats.js';
import type { StatsJson } from '../helpers/stats.js';
import { api, COMPACTED_MS, drain, post, serve, type Server } from '../helpers/retention.js';
import { drainNsqjs } from '../helpers/drain.js';

const TOTAL = 3000;
/** 2 KiB bodies: the catch-up reads 1 MiB slices, so 3000 of them take several slices and queue refills */
const pad = 'x'.repeat(2048);
const bodies = Array.from({ length: TOTAL }, (_, i) => `m-${String(i).padStart(5, '0')}-${pad}`);
const FINISH = 500;

const ARGS = ['--max-bytes-per-file=262144', '--mem-queue-size=100'];

async function published(t: Test, s: Server): Promise<void> {
  await post(s, '/topic/create?topic=big');
  await post(s, '/channel/create?topic=big&channel=first');
  const conn = await Connection.open({ host: '127.0.0.1', port: s.tcp });
  t.teardown(() => conn.close());
  for (let i = 0; i < TOTAL; i += 100) await conn.mpublish('big', bodies.slice(i, i + 100));
  await conn.close();
  const got = await drainNsqjs(t, s.tcp, 'big', 'first', TOTAL, { maxInFlight: 200, quietMs: 100 });
  t.equal(got.length, TOTAL, 'the first channel consumed everything');
  await delay(COMPACTED_MS);
}

async function channelDepth(s: Server): Promise<number> {
  const stats = JSON.parse((await api(s, 'GET', '/stats?format=json&topic=big&channel=replay')).text) as StatsJson;
  const c = stats.topics?.[0]?.channels.find((x) => x.channel_name === 'replay');
  return (c?.depth ?? 0) + (c?.in_flight_count ?? 0);
}

t.test('kill -9 during catch-up: nothing finished comes back, nothing else is lost', async (t) => {
  const dir = tempDir(t);
  const args = ['--durable', '--retention=1h', ...ARGS];
  let s = await serve(t, dir, args);
  await published(t, s);
  await post(s, '/channel/create?topic=big&channel=replay&from=earliest');

  // nsqjs finishes the first FINISH messages, then leaves; what was in flight goes back to the queue
  const finished: string[] = [];
  const reader = new nsq.Reader('big', 'replay', { nsqdTCPAddresses: [`127.0.0.1:${s.tcp}`], maxInFlight: 50 });
  reader.on('error', () => {});
  reader.on('message', (m: NsqjsMessage) => {
    if (finished.length >= FINISH) return;
    finished.push(m.body.toString());
    m.finish();
  });
  const ready = once(reader, 'ready');
  reader.connect();
  t.teardown(() => reader.close());
  await ready;
  await waitFor(`${FINISH} finished (have ${finished.length})`, () => finished.length >= FINISH, 15_000);
  reader.close();
  await delay(300); // the FINs reach the ack log with the next commit
  const held = await channelDepth(s);
  t.ok(held < TOTAL - FINISH, `still catching up at the crash: the channel holds ${held} of the ${TOTAL - FINISH} left, the journal the rest`);
  t.same(finished, bodies.slice(0, FINISH), 'the replay delivered the retained messages in publish order');

  s.proc.child.kill('SIGKILL');
  await s.proc.exit;
  s = await serve(t, dir, args);
  const rest = await drain(t, s, 'big', 'replay', TOTAL - FINISH, 20_000);
  const done = new Set(finished);
  t.equal(rest.filter((b) => done.has(b)).length, 0, 'no finished message is delivered again');
  t.equal(rest.length, TOTAL - FINISH, 'every other one is, once');
  t.same(rest, bodies.slice(FINISH), 'in order');
  t.same(await drain(t, s, 'big', 'first', 0), [], 'the first channel, done before the crash, gets nothing');
});

t.test('control: the same steps without --retention, and the replaying channel has next to nothing to deliver', async (t) => {
  const s = await serve(t, tempDir(t), ['--durable', ...ARGS]);
  await published(t, s);
  await post(s, '/channel/create?topic=big&channel=replay&from=earliest');
  const got = await drain(t, s, 'big', 'replay', 0);
  t.ok(got.length < FINISH, `without retention the consumed segments are gone (${got.length} of ${TOTAL} left in the segment being written)`);
});

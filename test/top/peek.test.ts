// The peek view's lines (src/top/peek.ts): states, age, escaped and binary bodies, a heading per node,
// errors; and its request against real nodes (unreachable, 404, 401/403).

import { createServer } from 'node:net';
import t from 'tap';
import type { NSQD } from '../../src/nsqd/nsqd.js';
import { bodyText, peekLines, peekTarget, shortDuration, stateText } from '../../src/top/peek.js';
import type { PeekMessageJson } from '../../src/protocol/peek-json.js';
import { startAuthd } from '../helpers/authd.js';
import { startNsqd } from '../helpers/nsqd.js';

const NOW = 1_800_000_000_000;
const msg = (over: Partial<PeekMessageJson>): PeekMessageJson => ({ id: '0000000000000001', timestamp: (NOW - 5000) * 1e6, attempts: 1, state: 'queued', body: Buffer.from('hi').toString('base64'), text: 'hi', ...over });

t.test('states say what a person needs: the due time, the consumer', async (t) => {
  t.equal(stateText(msg({}), NOW), 'queued');
  t.equal(stateText(msg({ state: 'deferred', due_at: NOW + 59_000 }), NOW), 'deferred, due in 59s');
  t.equal(stateText(msg({ state: 'in_flight', client_id: 'w1', client_address: '127.0.0.1:5000' }), NOW), 'in_flight, w1@127.0.0.1:5000');
  t.same([shortDuration(400), shortDuration(65_000), shortDuration(2 * 3600_000 + 600_000), shortDuration(-5)], ['0s', '1m05s', '2h10m', '0s']);
});

t.test('bodies on one line: control characters escaped, binary as a base64 marker', async (t) => {
  t.equal(bodyText(msg({ text: 'a\nb\t"c"' })), 'a\\nb\\t\\"c\\"');
  const bin = Buffer.from([0xff, 0xfe, 0x00, 0x41]).toString('base64');
  t.equal(bodyText(msg({ text: undefined, body: bin })), `[binary 4 B] base64:${bin}`);
});

t.test('a heading per node, then its messages; a node that fails is one line', async (t) => {
  const answer = { topic: 'o', channel: 'c', depth: 2, in_flight_count: 1, deferred_count: 0, count: 2, messages: [msg({ state: 'in_flight', client_id: 'w', client_address: 'a:1' }), msg({ id: '0000000000000002', attempts: 3 })] };
  const lines = peekLines({ topic: 'o', channel: 'c', nodes: ['a:4151', 'b:4151'] }, [{ node: 'a:4151', answer }, { node: 'b:4151', error: 'nsqd b:4151 cannot peek at o/c: 404 CHANNEL_NOT_FOUND' }], NOW);
  t.same(lines.map((l) => l.kind), ['node', 'message', 'message', 'error']);
  t.equal(lines[0]!.text, 'node a:4151: depth 2, in flight 1, deferred 0 (showing 2)');
  t.match(lines[1]!.text, /^0000000000000001  in_flight, w@a:1 +1 +5s  hi$/);
  t.match(lines[2]!.text, /^0000000000000002  queued +3 +5s  hi$/);
  t.equal(lines[3]!.text, 'b:4151: nsqd b:4151 cannot peek at o/c: 404 CHANNEL_NOT_FOUND');
  const empty = peekLines({ topic: 'o', nodes: ['a:4151'] }, [{ node: 'a:4151', answer: { ...answer, channel: undefined, depth: 0, messages: [] } }], NOW);
  t.same(empty.map((l) => l.text), ['node a:4151: depth 0, deferred 0 (showing 0)', 'no messages held by topic o itself (its channels hold what it receives)']);
});

t.test('peekTarget against real nodes: each answers apart; unreachable, 404 and 401 are one line each, never a throw', async (t) => {
  const holder = await startNsqd(t);
  holder.getTopic('o').getChannel('c');
  holder.getTopic('o').publish(Buffer.from('m1'), 0, 2);
  const without = await startNsqd(t);
  without.getTopic('o');
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const closed = `127.0.0.1:${(probe.address() as { port: number }).port}`;
  await new Promise<void>((r) => probe.close(() => r()));
  const http = (n: NSQD): string => `127.0.0.1:${n.httpEndpoint.port}`;
  const nodes = await peekTarget({ topic: 'o', channel: 'c', nodes: [http(holder), http(without), closed] }, 5, { timeoutMs: 2000 });
  t.same(nodes.map((n) => n.node), [http(holder), http(without), closed], 'in the order of the nodes');
  t.same(nodes[0]!.answer?.messages.map((m) => m.text), ['m1']);
  t.match(nodes[1]!.error, /cannot peek at o\/c: 404 CHANNEL_NOT_FOUND/);
  t.ok(nodes[2]!.error !== undefined && nodes[2]!.answer === undefined, `unreachable: ${nodes[2]!.error}`);

  const authd = await startAuthd(t, { admin: { ttl: 3600, authorizations: [{ topic: '.*', channels: ['.*'], permissions: ['publish', 'subscribe'] }] } });
  const guarded = await startNsqd(t, { authHttpAddresses: [authd.address], authHttpApi: true });
  guarded.getTopic('o').getChannel('c');
  const [refused] = await peekTarget({ topic: 'o', channel: 'c', nodes: [http(guarded)] }, 5);
  t.match(refused!.error, /401 AUTH_REQUIRED/, 'without the secret');
  const [wrong] = await peekTarget({ topic: 'o', channel: 'c', nodes: [http(guarded)] }, 5, { authSecret: 'nobody' });
  t.match(wrong!.error, /403/, 'a secret the auth server does not know');
  const [allowed] = await peekTarget({ topic: 'o', channel: 'c', nodes: [http(guarded)] }, 5, { authSecret: 'admin' });
  t.equal(allowed!.answer?.channel, 'c', 'with it');
});

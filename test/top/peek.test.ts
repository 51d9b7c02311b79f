// The peek view's lines (src/top/peek.ts): states, age, escaped and binary bodies, a heading per node, errors.

import t from 'tap';
import { bodyText, peekLines, shortDuration, stateText } from '../../src/top/peek.js';
import type { PeekMessageJson } from '../../src/protocol/peek-json.js';

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
  t.same(empty.map((l) => l.text), ['node a:4151: depth 0, deferred 0 (showing 0)', 'no messages held by topic o']);
});

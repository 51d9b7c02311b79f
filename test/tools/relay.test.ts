// The pieces nsq to-http and nsq to-nsq share, without servers: the choice of destination
// (go-hostpool's retry schedule, on a clock of the test's), --status-every's line, Go's query escaping.

import t from 'tap';
import { HostPool } from '../../src/tools/relay/host-pool.js';
import { percentile, TimerMetrics } from '../../src/tools/relay/timer-metrics.js';
import { getUrl, queryEscape } from '../../src/tools/to-http/request.js';

t.test('round-robin takes each address in turn, failures or not', async (t) => {
  const p = new HostPool(['a', 'b', 'c'], 'round-robin');
  p.mark('b', false);
  t.same(Array.from({ length: 7 }, () => p.pick()), ['a', 'b', 'c', 'a', 'b', 'c', 'a']);
});

t.test('hostpool: a failed host is left out, tried again after 30 s, then 60 s, ..., up to 15 min; a success brings it back', async (t) => {
  let now = 0;
  const p = new HostPool(['a', 'b'], 'hostpool', () => now);
  t.same([p.pick(), p.pick()], ['a', 'b']);
  p.mark('b', false);
  t.same([p.pick(), p.pick(), p.pick()], ['a', 'a', 'a'], 'b left out');
  now = 30_000;
  t.same([p.pick(), p.pick()].sort(), ['a', 'b'], 'after 30 s, one try');
  t.same([p.pick(), p.pick()], ['a', 'a'], 'then out again: the next try is 60 s later');
  now = 89_999;
  t.equal([p.pick(), p.pick()].includes('b'), false);
  now = 90_000;
  t.ok([p.pick(), p.pick()].includes('b'), 'at 30 + 60 s');
  for (let i = 0; i < 10; i++) {
    now += 1_000_000;
    while (p.pick() !== 'b');
  }
  now += 899_999;
  t.equal([p.pick(), p.pick()].includes('b'), false, 'the wait stops growing at 15 min');
  now += 1;
  t.ok([p.pick(), p.pick()].includes('b'));
  p.mark('b', true);
  t.same([p.pick(), p.pick(), p.pick(), p.pick()].sort(), ['a', 'a', 'b', 'b'], 'a success: back in turn');
});

t.test('hostpool: when every host is down, all are tried again from the first', async (t) => {
  const p = new HostPool(['a', 'b'], 'hostpool', () => 0);
  p.mark('a', false);
  p.mark('b', false);
  t.same([p.pick(), p.pick(), p.pick()], ['a', 'b', 'a']);
  t.same(new HostPool(['only'], 'epsilon-greedy', () => 0).pick(), 'only');
});

t.test('--status-every: one line per N requests, 99th/95th percentile and mean', async (t) => {
  const lines: string[] = [];
  const m = new TimerMetrics(4, '[aggregate]:', (l) => lines.push(l));
  for (const ms of [1, 2, 3]) m.add(ms);
  t.same(lines, []);
  m.add(10);
  t.same(lines, ['[aggregate]: finished 4 - 99th: 10.00ms - 95th: 10.00ms - avg: 4.00ms']);
  const off = new TimerMetrics(0, 'x', () => t.fail('0 disables it'));
  off.add(1);
  t.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95), 10);
  t.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50), 5);
});

t.test("GET: Go's url.QueryEscape of the bytes in place of the one %s", async (t) => {
  t.equal(queryEscape(Buffer.from('a b+c/d?e=f&g~h')), 'a+b%2Bc%2Fd%3Fe%3Df%26g~h');
  t.equal(queryEscape(Buffer.from([0, 0x7f, 0x80, 0xff])), '%00%7F%80%FF');
  t.equal(getUrl('http://x/p?m=%s&n=1', Buffer.from('hi there')), 'http://x/p?m=hi+there&n=1');
  t.equal(getUrl('http://x/%s', Buffer.from('%s')), 'http://x/%25s', 'a %s in the body is escaped, not replaced again');
});

// The dashboard model from recorded /stats answers: rates from deltas, restarts, nodes down,
// filtering and sorting.

import { readFileSync } from 'node:fs';
import t from 'tap';
import { humanize, rates, sparkline, TopModel } from '../../src/top/model.js';
import { onceTable, plainHeader, plainRow } from '../../src/top/plain.js';
import type { Snapshot, Stats } from '../../src/top/poller.js';

const fixture = (): Stats => JSON.parse(readFileSync(new URL('../../../test/fixtures/stats/go-nsqd-1.3.json', import.meta.url), 'utf8')) as Stats;

/** The fixture advanced by `n` messages into orders/billing, `consumed` of them delivered. */
function advanced(n: number, consumed: number, start = 1700000000): Stats {
  const s = fixture();
  s.start_time = start;
  const topic = s.topics![0]!;
  topic.message_count += n;
  const billing = topic.channels[0]!;
  billing.message_count += n;
  billing.depth += n - consumed;
  const audit = topic.channels[1]!;
  audit.message_count += n;
  audit.depth += n;
  return s;
}

const snap = (at: number, ...nodes: { address: string; stats?: Stats; error?: string }[]): Snapshot => ({
  at,
  nodes: nodes.map((n) => (n.stats ? { address: n.address, ok: true, stats: n.stats } : { address: n.address, ok: false, error: n.error ?? 'down' })),
});

t.test('rates come from counter deltas over the poll interval', async (t) => {
  const m = new TopModel();
  m.update(snap(1000, { address: 'a:4151', stats: fixture() }));
  const first = m.topic('orders')!;
  t.equal(first.inRate, 0, 'no rate from a single sample');
  m.update(snap(3000, { address: 'a:4151', stats: advanced(400, 300) }));
  const t1 = m.topic('orders')!;
  t.equal(t1.inRate, 200, '400 messages in 2 s');
  const billing = t1.channels.find((c) => c.name === 'billing')!;
  t.equal(billing.inRate, 200);
  t.equal(billing.outRate, 150, 'egress = (Δmsgs − Δdepth) / s, as nsq_stat');
  t.equal(billing.depth, 220);
  t.equal(billing.memoryDepth, 200);
  t.equal(billing.backendDepth, 20);
  t.equal(billing.consumers, 1);
  t.same(billing.history, [150]);
  const audit = t1.channels.find((c) => c.name === 'audit')!;
  t.ok(audit.paused);
  t.ok(audit.stalled, 'growing depth and no consumer is flagged');
  t.notOk(billing.stalled);
  t.equal(t1.outRate, 150, 'topic out = sum of channel egress');
  t.equal(m.clients('orders', 'billing')[0]!.user_agent, 'go-nsq/1.1.0');
});

t.test('a node restart (counters go back, new start_time) gives zero, not a negative spike', async (t) => {
  const m = new TopModel();
  m.update(snap(1000, { address: 'a:4151', stats: advanced(5000, 5000) }));
  m.update(snap(2000, { address: 'a:4151', stats: advanced(10, 0, 1700009999) }));
  const row = m.topic('orders')!;
  t.equal(row.inRate, 0);
  t.ok(row.channels.every((c) => c.inRate === 0 && c.outRate === 0));
  m.update(snap(3000, { address: 'a:4151', stats: advanced(110, 0, 1700009999) }));
  t.equal(m.topic('orders')!.inRate, 100, 'rates resume after the restart');
  t.same(rates({ messageCount: 10, depth: 0, requeueCount: 5, timeoutCount: 0 }, { messageCount: 20, depth: 0, requeueCount: 1, timeoutCount: 0 }, 1), { inRate: 0, outRate: 0, requeueRate: 0, timeoutRate: 0 });
});

t.test('several nodes are summed; a node down is listed and does not blank the others', async (t) => {
  const m = new TopModel();
  m.update(snap(1000, { address: 'a:4151', stats: fixture() }, { address: 'b:4151', stats: fixture() }));
  m.update(snap(2000, { address: 'a:4151', stats: advanced(100, 100) }, { address: 'b:4151', error: 'connection refused' }));
  const totals = m.totals();
  t.equal(totals.nodesUp, 1);
  t.equal(totals.nodesDown, 1);
  t.same(m.nodes.map((n) => [n.address, n.up, n.error ?? null]), [
    ['a:4151', true, null],
    ['b:4151', false, 'connection refused'],
  ]);
  t.equal(m.topic('orders')!.inRate, 100);
  t.same(m.topic('orders')!.nodes, ['a:4151']);
  m.update(snap(3000, { address: 'a:4151', stats: advanced(200, 200) }, { address: 'b:4151', stats: advanced(50, 50) }));
  t.equal(m.topic('orders')!.inRate, 100 + 25, 'node b comes back: its 50 new messages are spread over the 2 s since its last sample');
});

t.test('filter by topic or channel name, and sort', async (t) => {
  const m = new TopModel();
  const s = fixture();
  s.topics!.push({ ...s.topics![0]!, topic_name: 'zebra', depth: 500, channels: [] });
  m.update(snap(1000, { address: 'a:4151', stats: s }));
  t.same(m.topics('', 'name').map((x) => x.name), ['orders', 'zebra']);
  t.same(m.topics('', 'depth').map((x) => x.name), ['zebra', 'orders']);
  t.same(m.topics('zeb').map((x) => x.name), ['zebra']);
  const byChannel = m.topics('audit');
  t.same(byChannel.map((x) => [x.name, x.channels.map((c) => c.name)]), [['orders', ['audit']]], 'a channel match keeps its topic');
  t.same(m.topics('nothing'), []);
});

t.test('nsq_stat lines', async (t) => {
  const m = new TopModel();
  m.update(snap(1000, { address: 'a:4151', stats: fixture() }));
  m.update(snap(2000, { address: 'a:4151', stats: advanced(100, 50) }));
  t.equal(
    plainHeader(),
    '------rate------+----------------depth----------------+--------------metadata---------------\ningress  egress |   total     mem    disk inflt   def |     req     t-o         msgs clients\n',
  );
  t.equal(plainRow(m, 'orders', 'billing'), '    100      50 |     170     150      20     5     1 |       3       1         1100       1\n');
  t.equal(plainRow(m, 'orders', 'missing'), null);
});

t.test('humanised counts and sparklines', async (t) => {
  t.equal(humanize(0), '0');
  t.equal(humanize(999), '999');
  t.equal(humanize(12345), '12k');
  t.equal(humanize(1234), '1.2k');
  t.equal(humanize(4_500_000), '4.5M');
  t.equal(humanize(2.5), '2.5');
  t.equal(sparkline([0, 1, 2, 3, 4, 5, 6, 7]), '▁▂▃▄▅▆▇█');
  t.equal(sparkline([0, 0]), '▁▁');
  t.equal(sparkline([]), '');
});

t.test('dead letters: DEAD per channel and summed on the topic; a dead-letter topic that grows is flagged, one that does not is not', async (t) => {
  const withDead = (moved: number, deadMessages: number): Stats => {
    const s = fixture();
    s.start_time = 1700000000;
    const billing = s.topics![0]!.channels[0]!;
    Object.assign(billing, { max_attempts: 3, dead_letter_topic: 'orders.failed', dead_lettered_count: moved });
    Object.assign(s.topics![0]!.channels[1]!, { dead_lettered_count: 2 });
    s.topics!.push({ ...structuredClone(s.topics![0]!), topic_name: 'orders.failed', message_count: deadMessages, depth: deadMessages, channels: [] });
    return s;
  };
  const m = new TopModel();
  m.update(snap(1000, { address: 'a:4151', stats: withDead(5, 5) }));
  t.same(m.topic('orders')!.channels.map((c) => [c.name, c.deadLettered]), [['billing', 5], ['audit', 2]]);
  t.equal(m.topic('orders')!.deadLettered, 7, 'the topic row is the sum');
  t.notOk(m.topic('orders.failed')!.deadGrowing, 'no rate from one sample');
  m.update(snap(2000, { address: 'a:4151', stats: withDead(9, 9) }));
  t.ok(m.topic('orders.failed')!.deadGrowing, 'a channel’s dead_letter_topic that got messages is flagged (not named *.dead)');
  const once = onceTable(m, snap(2000, { address: 'a:4151', stats: withDead(9, 9) }));
  const cells = (name: string): string[] | undefined => once.split('\n').map((l) => l.split('│').map((c) => c.trim()).filter((c, i, all) => i > 0 && i < all.length - 1)).find((c) => c[0] === name);
  t.same(cells('topic / channel')?.slice(8), ['dead', 'consumers', 'state'], '--once has a dead column');
  t.same(cells('orders.failed')?.slice(8), ['0', '0', 'dead+'], 'the growing dead-letter topic says dead+');
  t.same(cells('billing')?.[8], '9', 'a channel row shows its count');
  t.notOk(m.topic('orders')!.deadGrowing, 'the source topic is not');
  m.update(snap(3000, { address: 'a:4151', stats: withDead(9, 9) }));
  t.notOk(m.topic('orders.failed')!.deadGrowing, 'no new dead letters: not flagged');
});

t.test('a topic on several nodes: each node\'s share of it, in poll order', async (t) => {
  const m = new TopModel();
  m.update(snap(1000, { address: 'a:4151', stats: fixture() }, { address: 'b:4151', stats: fixture() }));
  m.update(snap(2000, { address: 'a:4151', stats: advanced(300, 100) }, { address: 'b:4151', stats: advanced(50, 50) }));
  const row = m.topic('orders')!;
  t.same(
    row.perNode.map((p) => [p.node, p.inRate, p.outRate, p.channels, p.consumers]),
    [
      ['a:4151', 300, 100, 2, 1],
      ['b:4151', 50, 50, 2, 1],
    ],
    'in and out per node; out is the node\'s channels\' egress',
  );
  t.equal(row.perNode[0]!.messageCount + row.perNode[1]!.messageCount, row.messageCount, 'the topic\'s count is the sum of the nodes\'');
  t.equal(row.inRate, 350, 'and the row is their sum');
});

t.test('a channel\'s charts: depth and in flight at every poll, rates from the second; a channel gone is dropped in time', async (t) => {
  const m = new TopModel(60, 3);
  t.equal(m.channelHistory, 3, 'as many samples as --history, at most 120');
  t.equal(new TopModel(60, 100_000).channelHistory, 120);
  m.update(snap(1000, { address: 'a:4151', stats: advanced(0, 0) }));
  m.update(snap(2000, { address: 'a:4151', stats: advanced(100, 40) }));
  m.update(snap(3000, { address: 'a:4151', stats: advanced(300, 100) }));
  const s = m.channelSeries('orders', 'billing')!;
  t.same(s.depth.last(), [120, 180, 320], 'depth each poll');
  t.same(s.inFlight.last(), [5, 5, 5], 'in flight each poll');
  t.equal(s.requeueRate.length, 2, 'rates from the second poll on');
  t.equal(m.channelSeries('orders', 'nope'), undefined);
  // the topic is gone from the node: after as many polls as the charts keep, so are its charts
  const empty = fixture();
  empty.topics = [];
  for (let i = 0; i < 3; i++) m.update(snap(4000 + i * 1000, { address: 'a:4151', stats: empty }));
  t.ok(m.channelSeries('orders', 'billing') !== undefined, 'kept while its charts still show it');
  m.update(snap(8000, { address: 'a:4151', stats: empty }));
  t.equal(m.channelSeries('orders', 'billing'), undefined, 'then dropped');
  m.update(snap(9000, { address: 'a:4151', stats: advanced(0, 0) }));
  m.update(snap(10000, { address: 'a:4151', stats: advanced(100, 100) }));
  t.same(m.topic('orders')!.channels.find((c) => c.name === 'billing')!.history, [0, 100], 'back again: its sparkline starts over too (nothing kept of a channel gone)');
});

t.test('memory from /stats include_mem: heap in use, and RSS when the node says', async (t) => {
  const go = fixture();
  go.memory = { heap_objects: 1, heap_idle_bytes: 2, heap_in_use_bytes: 3_000_000, heap_released_bytes: 0, gc_pause_usec_100: 0, gc_pause_usec_99: 0, gc_pause_usec_95: 0, next_gc_bytes: 0, gc_total_runs: 0 };
  const ours = fixture();
  ours.memory = { ...go.memory, rss_bytes: 50_000_000 };
  const m = new TopModel();
  m.update(snap(1000, { address: 'a:4151', stats: go }, { address: 'b:4151', stats: ours }, { address: 'c:4151', stats: fixture() }));
  t.same(
    m.nodes.map((n) => [n.heapBytes ?? null, n.rssBytes ?? null]),
    [
      [3_000_000, null],
      [3_000_000, 50_000_000],
      [null, null],
    ],
  );
});

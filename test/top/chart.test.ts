// The dashboard's chart maths without React: history rings, the scale, braille line charts.

import t from 'tap';
import { bar, brailleChart, chartPanels, HistoryRing, niceMax, nodeBreakdownLines, overviewChartRows } from '../../src/top/chart.js';

t.test('a history ring keeps the last N samples, oldest first, across wrap-around', async (t) => {
  const r = new HistoryRing(4);
  t.same(r.last(), [], 'empty');
  for (const v of [1, 2, 3]) r.push(v);
  t.same(r.last(), [1, 2, 3]);
  for (const v of [4, 5, 6]) r.push(v);
  t.same(r.last(), [3, 4, 5, 6], 'the oldest two gave way');
  t.same(r.last(2), [5, 6], 'the last 2');
  t.same(r.last(10), [3, 4, 5, 6], 'asking for more gives what there is');
  t.equal(r.max(), 6);
  r.push(Number.NaN);
  t.same(r.last(1), [0], 'a missing figure counts as 0, not NaN in the chart');
  t.throws(() => new HistoryRing(0), RangeError);
});

t.test('the scale is 1, 2 or 5 times a power of ten at or above the maximum', async (t) => {
  const cases: [number, number][] = [[0, 1], [-3, 1], [0.3, 0.5], [1, 1], [1.01, 2], [3, 5], [7, 10], [10, 10], [12, 20], [480, 500], [501, 1000], [123_456, 200_000]];
  for (const [max, want] of cases) t.equal(niceMax(max), want, `${max} → ${want}`);
});

t.test('braille line chart: dots where the samples are, joined, newest at the right edge', async (t) => {
  t.same(brailleChart([0, 0, 0, 0], 2, 1, 10), ['⣀⣀'], 'a flat zero line is the bottom dot row');
  t.same(brailleChart([10, 10], 1, 1, 10), ['⠉'], 'at the top: the top dot row');
  t.same(brailleChart([0, 10], 1, 1, 10), ['⣸'], 'a jump from 0 to the top joins the right column bottom to top');
  t.same(brailleChart([5], 3, 1, 10), ['⠀⠀⠐'], 'one sample: right-aligned, mid-height, the rest blank');
  t.same(brailleChart([20], 1, 1, 10), ['⠈'], 'above the top: drawn at the top');
  const tall = brailleChart([0, 1, 2, 3, 4, 5, 6, 7], 4, 2, 7);
  t.equal(tall.length, 2, 'height rows');
  t.ok(tall.every((row) => row.length === 4), 'width characters each');
  t.equal(tall[1]![0], '⣠', 'the rising line starts at the bottom left (0, then 0 to 1)');
  t.equal(tall[0]![3], '⠞', 'and ends at the top right (5 to 6, then 6 to 7)');
  t.same(brailleChart([1, 2, 3], 0, 3, 10), [], 'no room, no rows');
  const many = Array.from({ length: 500 }, (_, i) => i);
  t.equal(brailleChart(many, 10, 3, 500)[0]!.length, 10, 'more samples than fit: only the last width × 2 are drawn');
});

t.test('the overview gives its charts a fifth of a tall terminal, none on a short one', async (t) => {
  t.same([undefined, 12, 19, 20, 24, 32, 48, 80].map(overviewChartRows), [0, 0, 0, 4, 4, 6, 9, 10]);
});

t.test("a topic's per-node lines: none on one node, a head and every node when they fit, else as many as fit", async (t) => {
  t.equal(nodeBreakdownLines(1, 20), 0, 'one node: nothing to break down');
  t.equal(nodeBreakdownLines(3, 1), 0, 'no room');
  t.equal(nodeBreakdownLines(2, 5), 3, 'a head and both nodes');
  t.equal(nodeBreakdownLines(3, Infinity), 4, 'a frame without a height: all of them');
  t.equal(nodeBreakdownLines(10, 5), 5, 'ten nodes in five lines: a head and four (the last says how many more)');
});

t.test('chart panels: side by side within the width, titled with the newest value and the scale', async (t) => {
  const a = new HistoryRing(100);
  const b = new HistoryRing(100);
  for (let i = 1; i <= 30; i++) {
    a.push(i * 100);
    b.push(7);
  }
  const panels = chartPanels([{ name: 'in', ring: a, unit: '/s' }, { name: 'depth', ring: b, unit: '' }], 60, 3, (n) => String(n));
  t.equal(panels.length, 2);
  t.ok(panels.every((p) => p.rows.length === 3 && p.rows.every((r) => r.length === 29)), 'two charts of 29 columns and a 2-column gap fill 60');
  t.match(panels[0]!.title, /^in 3000\/s +max 5000$/, 'the newest value and the top of the scale');
  t.match(panels[1]!.title, /^depth 7 +max 10$/);
  t.same(chartPanels([{ name: 'in', ring: a, unit: '/s' }], 7, 3, String), [], 'too narrow for a chart: none');
});

t.test("the model keeps one cluster sample a poll, as many as --history asks", async (t) => {
  const { TopModel } = await import('../../src/top/model.js');
  const m = new TopModel(60, 3);
  const stats = (n: number) => ({ version: '1.3.0', health: 'OK', start_time: 1, topics: [{ topic_name: 't', channels: [], depth: n, backend_depth: 0, message_count: n, message_bytes: 0, paused: false, e2e_processing_latency: { count: 0, percentiles: null } }], producers: null });
  for (let i = 0; i < 6; i++) m.update({ at: 1000 * (i + 1), nodes: [{ address: 'n:4151', ok: true, stats: stats(i * 10) }] });
  t.equal(m.cluster.depth.capacity, 3);
  t.same(m.cluster.depth.last(), [30, 40, 50], 'the first poll has no rate yet; the ring keeps the last 3');
  t.same(m.cluster.inRate.last(), [10, 10, 10], 'messages in per second from the counter deltas');
});

t.test('a depth bar is the value against the largest, to an eighth of a cell', async (t) => {
  t.equal(bar(100, 100, 4), '████', 'the largest fills the width');
  t.equal(bar(50, 100, 4), '██', 'half');
  t.equal(bar(10, 100, 4), '▍', 'a tenth of 4 cells: 3 eighths of one');
  t.equal(bar(1, 1_000_000, 4), '▏', 'anything above 0 shows');
  t.equal(bar(0, 100, 4), '', 'nothing for an empty queue');
  t.equal(bar(500, 100, 4), '████', 'never past the width');
});

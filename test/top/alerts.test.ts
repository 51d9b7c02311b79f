// The dashboard's alert rules over two polls of made-up /stats answers (the model's rates come from
// their counter deltas): each rule fires on what it describes and not on a healthy node.

import t from 'tap';
import { TopModel } from '../../src/top/model.js';
import { alerts } from '../../src/top/alerts.js';
import type { Stats } from '../../src/top/poller.js';

interface Ch {
  name: string;
  depth?: number;
  clients?: number;
  requeues?: number;
  timeouts?: number;
  messages?: number;
}

function stats(o: { health?: string; paused?: boolean; topicMessages?: number; channels: Ch[] }): Stats {
  const channels = o.channels.map((c) => ({
    channel_name: c.name,
    depth: c.depth ?? 0,
    backend_depth: 0,
    in_flight_count: 0,
    deferred_count: 0,
    message_count: c.messages ?? 0,
    requeue_count: c.requeues ?? 0,
    timeout_count: c.timeouts ?? 0,
    client_count: c.clients ?? 0,
    clients: [],
    paused: false,
    e2e_processing_latency: { count: 0, percentiles: null },
  }));
  const depth = 0;
  return { version: '1.3.0', health: o.health ?? 'OK', start_time: 1, topics: [{ topic_name: 'orders', channels, depth, backend_depth: 0, message_count: o.topicMessages ?? 0, message_bytes: 0, paused: o.paused ?? false, e2e_processing_latency: { count: 0, percentiles: null } }], producers: null };
}

function twoPolls(a: Stats, b: Stats): TopModel {
  const m = new TopModel();
  m.update({ at: 1000, nodes: [{ address: 'n:4151', ok: true, stats: a }] });
  m.update({ at: 2000, nodes: [{ address: 'n:4151', ok: true, stats: b }] });
  return m;
}

t.test('a healthy node with consumers that keep up: no alerts', async (t) => {
  const m = twoPolls(stats({ topicMessages: 100, channels: [{ name: 'c', depth: 0, clients: 2, messages: 100 }] }), stats({ topicMessages: 200, channels: [{ name: 'c', depth: 0, clients: 2, messages: 200 }] }));
  t.same(alerts(m), []);
});

t.test('a backlog that grows with no consumer', async (t) => {
  const m = twoPolls(stats({ channels: [{ name: 'c', depth: 10 }] }), stats({ channels: [{ name: 'c', depth: 60 }] }));
  t.same(alerts(m).map((a) => [a.level, a.text]), [['warn', '! orders/c: backlog grows with no consumer (depth 60)']]);
});

t.test('timeouts and requeues', async (t) => {
  const m = twoPolls(stats({ channels: [{ name: 'c', clients: 1, timeouts: 0, requeues: 0, messages: 0 }] }), stats({ channels: [{ name: 'c', clients: 1, timeouts: 3, requeues: 40, messages: 50 }] }));
  const texts = alerts(m).map((a) => a.text);
  t.ok(texts.includes('! orders/c: messages time out (3.0/s)'), 'timeouts per second');
  t.ok(texts.some((x) => /^! orders\/c: \d+ % of deliveries requeued \(40\/s\)$/.test(x)), 'a share of deliveries requeued');
});

t.test('a paused topic whose depth grows', async (t) => {
  const m = twoPolls(stats({ paused: true, topicMessages: 0, channels: [{ name: 'c', clients: 1 }] }), stats({ paused: true, topicMessages: 500, channels: [{ name: 'c', clients: 1 }] }));
  t.same(alerts(m).map((a) => a.text), ['! orders: paused, and its depth grows (500/s in)']);
});

t.test('a node that answers NOK', async (t) => {
  const m = twoPolls(stats({ channels: [] }), stats({ health: 'NOK - disk full', channels: [] }));
  t.same(alerts(m).map((a) => [a.level, a.text]), [['bad', '!! n:4151 NOK - disk full']], 'trouble, marked !! so it reads without colour');
});

/** polls a second apart whose counters grow by the given amounts each second */
function pollsOf(perSecond: { timeouts: number; requeues: number; messages: number }[]): TopModel {
  const m = new TopModel();
  let timeouts = 0;
  let requeues = 0;
  let messages = 0;
  m.update({ at: 1000, nodes: [{ address: 'n:4151', ok: true, stats: stats({ channels: [{ name: 'c', clients: 1 }] }) }] });
  perSecond.forEach((p, i) => {
    timeouts += p.timeouts;
    requeues += p.requeues;
    messages += p.messages;
    m.update({ at: 2000 + i * 1000, nodes: [{ address: 'n:4151', ok: true, stats: stats({ channels: [{ name: 'c', clients: 1, timeouts, requeues, messages }] }) }] });
  });
  return m;
}

t.test('timeouts that keep a steady rate are a warning; timeouts that rise are trouble, with the rate before', async (t) => {
  const steady = Array.from({ length: 6 }, () => ({ timeouts: 3, requeues: 0, messages: 100 }));
  t.same(alerts(pollsOf(steady)).map((a) => [a.level, a.text]), [['warn', '! orders/c: messages time out (3.0/s)']], 'steady');
  const rising = [...steady, { timeouts: 12, requeues: 0, messages: 100 }];
  t.same(alerts(pollsOf(rising)).map((a) => [a.level, a.text]), [['bad', '!! orders/c: timeouts rising (12/s, was 3.0/s)']], 'rising');
  // from none to some: they start rising
  const starting = [...Array.from({ length: 3 }, () => ({ timeouts: 0, requeues: 0, messages: 100 })), { timeouts: 2, requeues: 0, messages: 100 }];
  t.same(alerts(pollsOf(starting)).map((a) => a.level), ['bad'], 'timeouts that start where there were none');
  // a fall is no rise
  const falling = [...Array.from({ length: 5 }, () => ({ timeouts: 10, requeues: 0, messages: 100 })), { timeouts: 4, requeues: 0, messages: 100 }];
  t.same(alerts(pollsOf(falling)).map((a) => a.level), ['warn'], 'timeouts that fall');
});

t.test('requeues over a fifth of deliveries: rising is trouble, steady a warning', async (t) => {
  const steady = Array.from({ length: 6 }, () => ({ timeouts: 0, requeues: 40, messages: 100 }));
  t.same(alerts(pollsOf(steady)).map((a) => [a.level, a.text]), [['warn', '! orders/c: 29 % of deliveries requeued (40/s)']]);
  const rising = [...steady, { timeouts: 0, requeues: 80, messages: 100 }];
  t.same(alerts(pollsOf(rising)).map((a) => [a.level, a.text]), [['bad', '!! orders/c: 44 % of deliveries requeued, rising (80/s, was 40/s)']]);
});

// The ink components against a real engine: render, navigate, act.

import { createServer } from 'node:net';
import { stripVTControlCharacters } from 'node:util';
import { render } from 'ink-testing-library';
import t from 'tap';
import { App } from '../../src/top/ui/app.js';
import { TopModel } from '../../src/top/model.js';
import { Poller } from '../../src/top/poller.js';
import { runAction } from '../../src/top/actions.js';
import type { ActionKind, Target } from '../../src/top/view.js';
import type { PeekNode } from '../../src/top/peek.js';
import { startNsqd } from '../helpers/nsqd.js';
import { startLookupd } from '../helpers/lookupd.js';

async function frameWith(get: () => string | undefined, text: string | RegExp, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const f = stripVTControlCharacters(get() ?? '');
    if (typeof text === 'string' ? f.includes(text) : text.test(f)) return f;
    if (Date.now() > deadline) throw new Error(`screen never showed ${String(text)}; last frame:\n${f}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 50));

t.test('dashboard shows the node, drills down, filters and pauses for real', async (t) => {
  const nsqd = await startNsqd(t);
  const topic = nsqd.getTopic('orders');
  topic.getChannel('billing');
  topic.getChannel('audit');
  const body = Buffer.from('hello');
  for (let i = 0; i < 3; i++) topic.publish(body, 0, body.length);
  nsqd.getTopic('events');
  const http = `127.0.0.1:${nsqd.httpEndpoint.port}`;
  const model = new TopModel();
  const poller = new Poller([http], 100, 1000);
  const acted: string[] = [];
  const act = async (action: ActionKind, target: Target): Promise<string> => {
    acted.push(`${action} ${target.topic}/${target.channel ?? ''}`);
    return runAction(action, target);
  };
  const ui = render(<App model={model} poller={poller} act={act} />);
  t.teardown(() => {
    poller.stop();
    ui.unmount();
  });
  poller.start();

  const first = await frameWith(ui.lastFrame, 'billing');
  t.match(first, /nodes 1 up/);
  t.match(first, /events\s+0/);
  t.match(first, /└ audit\s+3/);
  t.match(first, /└ billing\s+3/);

  // orders is 2nd: events, orders, audit, billing (sorted by name)
  ui.stdin.write('j');
  await tick();
  ui.stdin.write('j');
  await tick();
  ui.stdin.write('j');
  await tick();
  ui.stdin.write('p');
  await frameWith(ui.lastFrame, 'pause channel orders/billing: done on 1 node');
  t.ok(topic.getExistingChannel('billing')!.paused, 'the channel is paused on the server');
  t.notOk(topic.getExistingChannel('audit')!.paused);
  await frameWith(ui.lastFrame, /└ billing\s+3.*paused/);

  ui.stdin.write('d');
  await frameWith(ui.lastFrame, 'delete channel orders/billing on 1 node(s)? (y/N)');
  ui.stdin.write('n');
  await frameWith(ui.lastFrame, 'cancelled');
  t.ok(topic.getExistingChannel('billing'), 'not deleted after "n"');

  ui.stdin.write('\r');
  await frameWith(ui.lastFrame, 'orders / billing');
  await frameWith(ui.lastFrame, 'no consumers connected');
  ui.stdin.write('\x1b');
  await frameWith(ui.lastFrame, 'TOPIC / CHANNEL');

  ui.stdin.write('/');
  await tick();
  ui.stdin.write('ev');
  const filtered = await frameWith(ui.lastFrame, 'filter: ev');
  t.notMatch(filtered, /orders/, 'the filter hides other topics');
  t.same(acted, ['pause orders/billing']);
});

t.test('a node that does not answer is shown down, the rest stays', async (t) => {
  const nsqd = await startNsqd(t);
  nsqd.getTopic('alive');
  const model = new TopModel();
  // a port nothing listens on: bind one, then release it
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const deadPort = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const poller = new Poller([`127.0.0.1:${nsqd.httpEndpoint.port}`, `127.0.0.1:${deadPort}`], 100, 500);
  const ui = render(<App model={model} poller={poller} />);
  t.teardown(() => {
    poller.stop();
    ui.unmount();
  });
  poller.start();
  const f = await frameWith(ui.lastFrame, 'connection refused');
  t.match(f, /nodes 1 up, 1 down/);
  t.match(f, new RegExp(`127\\.0\\.0\\.1:${deadPort} down: connection refused \\(retrying\\)`));
  t.match(f, /alive/);
});

t.test('--filter is where the dashboard starts; an action\'s message gives way to the key hints after messageMs', async (t) => {
  const nsqd = await startNsqd(t);
  nsqd.getTopic('orders').getChannel('billing');
  nsqd.getTopic('events');
  const model = new TopModel();
  const poller = new Poller([`127.0.0.1:${nsqd.httpEndpoint.port}`], 100, 1000);
  const ui = render(<App model={model} poller={poller} filter="ord" marker messageMs={150} act={async () => 'pause topic orders: done on 1 node'} />);
  t.teardown(() => {
    poller.stop();
    ui.unmount();
  });
  poller.start();
  const first = await frameWith(ui.lastFrame, 'billing');
  t.match(first, /filter: ord/);
  t.notMatch(first, /events/);
  t.match(first, /^> orders /m, 'marker: the selected row starts with ">"');
  t.match(first, /^ {4}└ billing /m, 'the other rows keep the gutter blank');
  ui.stdin.write('p');
  await frameWith(ui.lastFrame, 'pause topic orders: done on 1 node');
  const back = await frameWith(ui.lastFrame, /↑↓ move · Enter open/, 3000);
  t.notMatch(back, /done on 1 node/, 'the message went by itself');
});

t.test('v: the peek view asks at each snapshot and at r, not while frozen; a failed peek is a line; q closes it, not the app', async (t) => {
  const nsqd = await startNsqd(t);
  nsqd.getTopic('orders').getChannel('billing');
  const http = `127.0.0.1:${nsqd.httpEndpoint.port}`;
  const model = new TopModel();
  const poller = new Poller([http], 100, 1000);
  const asked: [Target, number][] = [];
  let fail = false;
  const peek = async (target: Target, n: number): Promise<PeekNode[]> => {
    asked.push([target, n]);
    if (fail) throw new Error('boom');
    const messages = [{ id: '0000000000000007', timestamp: Date.now() * 1e6, attempts: 2, state: 'queued' as const, body: 'aGk=', text: `call ${asked.length}` }];
    return [{ node: http, answer: { topic: target.topic, channel: target.channel, depth: 1, in_flight_count: 0, deferred_count: 0, count: 1, messages } }];
  };
  const ui = render(<App model={model} poller={poller} peek={peek} />);
  t.teardown(() => {
    poller.stop();
    ui.unmount();
  });
  poller.start();
  await frameWith(ui.lastFrame, 'billing');
  ui.stdin.write('j');
  await tick();
  ui.stdin.write('v');
  const view = await frameWith(ui.lastFrame, /0000000000000007  queued +2 +0s  call \d+/);
  t.match(view, /channel orders\/billing — next messages/);
  t.same(asked[0]![0], { topic: 'orders', channel: 'billing', nodes: [http] }, 'the selected channel, on its node');
  t.ok(asked[0]![1] >= 1 && asked[0]![1] <= 1000, 'n within the bounds');
  await frameWith(ui.lastFrame, /call [3-9]/);
  t.pass('asked again as snapshots come');
  ui.stdin.write(' ');
  await frameWith(ui.lastFrame, '[frozen]');
  // a snapshot that came in before the key was taken may still ask once: count from after it
  await new Promise((r) => setTimeout(r, 250));
  const frozenAt = asked.length;
  await new Promise((r) => setTimeout(r, 400));
  t.equal(asked.length, frozenAt, 'frozen: no refresh');
  ui.stdin.write('r');
  await frameWith(ui.lastFrame, `call ${frozenAt + 1}`);
  t.pass('r asks again, frozen or not');
  fail = true;
  ui.stdin.write('r');
  await frameWith(ui.lastFrame, `${http}: boom`);
  ui.stdin.write('q');
  const closed = await frameWith(ui.lastFrame, 'TOPIC / CHANNEL');
  t.notMatch(closed, /next messages/, 'q closes the view and the dashboard stays');
});

t.test('an ordered channel whose head keeps coming back shows as a stuck line in the header', async (t) => {
  const nsqd = await startNsqd(t);
  const ch = nsqd.getTopic('ledger').getChannel('post');
  ch.setOrdered(true);
  const body = Buffer.from('entry');
  for (let i = 0; i < 3; i++) nsqd.getTopic('ledger').publish(body, 0, body.length);
  // a consumer that REQs every delivery: the head goes out again and again, nothing after it
  const { Consumer } = await import('../../src/client/consumer.js');
  const c = new Consumer({ topic: 'ledger', channel: 'post', nsqdTcpAddresses: [`127.0.0.1:${nsqd.tcpEndpoint.port}`], maxInFlight: 3, autoFinish: false, maxBackoff: 0 }, (m) => m.requeue(0));
  c.events.error = () => {};
  await c.start();
  t.teardown(() => c.stop(50));
  const model = new TopModel();
  const poller = new Poller([`127.0.0.1:${nsqd.httpEndpoint.port}`], 100, 1000);
  const ui = render(<App model={model} poller={poller} act={async () => ''} />);
  t.teardown(() => {
    poller.stop();
    ui.unmount();
  });
  poller.start();
  const f = await frameWith(ui.lastFrame, /ledger\/post: ordered channel's head [0-9a-f]{16} stuck, delivered \d+ times/);
  const times = Number(/stuck, delivered (\d+) times/.exec(f)?.[1]);
  t.ok(times >= 5, `a warning in words once the head was delivered ${times} times`);
});

t.test('n: every node with its version, health, uptime, topics and consumers; a node that is down says why', async (t) => {
  const nsqd = await startNsqd(t);
  nsqd.getTopic('orders').getChannel('billing');
  nsqd.getTopic('events');
  const { Consumer } = await import('../../src/client/consumer.js');
  const c = new Consumer({ topic: 'orders', channel: 'billing', nsqdTcpAddresses: [`127.0.0.1:${nsqd.tcpEndpoint.port}`], maxInFlight: 1 }, () => {});
  c.events.error = () => {};
  await c.start();
  t.teardown(() => c.stop(50));
  // a port nothing listens on: the second node is down
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const deadPort = (closed.address() as { port: number }).port;
  await new Promise((r) => closed.close(r));
  const up = `127.0.0.1:${nsqd.httpEndpoint.port}`;
  const model = new TopModel();
  const poller = new Poller([up, `127.0.0.1:${deadPort}`], 100, 1000);
  const ui = render(<App model={model} poller={poller} act={async () => ''} />);
  t.teardown(() => {
    poller.stop();
    ui.unmount();
  });
  poller.start();
  await frameWith(ui.lastFrame, 'billing');
  ui.stdin.write('n');
  const f = await frameWith(ui.lastFrame, /nodes \(n or Esc: back\)[\s\S]*connection refused/);
  const line = f.split('\n').find((l) => l.startsWith(up)) ?? '';
  t.match(line, new RegExp(`^${up.replace(/\./g, '\\.')}\\s+1\\.3\\.0\\s+OK\\s+\\d+s\\s+2\\s+1\\b`), 'the node: version, OK, uptime, 2 topics, 1 consumer');
  t.match(f, new RegExp(`^127\\.0\\.0\\.1:${deadPort}\\s+down: connection refused`, 'm'), 'the node that is down, with why');
  ui.stdin.write('n');
  await frameWith(ui.lastFrame, 'TOPIC / CHANNEL');
  t.pass('n again goes back to the topics');
});

t.test('a cluster found through lookupd: the nodes screen gives each node\'s memory and what the lookupd knows; a topic on two nodes, node by node; the channel lists every consumer in full', async (t) => {
  const lookupd = await startLookupd(t);
  const lookupTcp = [`127.0.0.1:${lookupd.tcpEndpoint.port}`];
  const nodes = [await startNsqd(t, { nsqlookupdTcpAddresses: lookupTcp }), await startNsqd(t, { nsqlookupdTcpAddresses: lookupTcp })];
  const https = nodes.map((n) => `127.0.0.1:${n.httpEndpoint.port}`);
  const body = Buffer.from('hello');
  // 3 messages on the first node, 1 on the second: the breakdown must tell them apart
  nodes.forEach((n, i) => {
    const topic = n.getTopic('orders');
    topic.getChannel('billing');
    for (let k = 0; k < (i === 0 ? 3 : 1); k++) topic.publish(body, 0, body.length);
  });
  // two consumers of our client's (id, hostname, user agent of their own, one with deflate) and one nsqjs Reader with snappy
  const { Consumer } = await import('../../src/client/consumer.js');
  const held: unknown[] = [];
  const ours = [
    new Consumer({ topic: 'orders', channel: 'billing', nsqdTcpAddresses: [`127.0.0.1:${nodes[0]!.tcpEndpoint.port}`], maxInFlight: 1, autoFinish: false, clientId: 'biller-a', hostname: 'host-a.example', userAgent: 'billing/2.0' }, (m) => void held.push(m)),
    new Consumer({ topic: 'orders', channel: 'billing', nsqdTcpAddresses: [`127.0.0.1:${nodes[1]!.tcpEndpoint.port}`], maxInFlight: 1, autoFinish: false, clientId: 'biller-b', hostname: 'host-b.example', deflate: true }, (m) => void held.push(m)),
  ];
  for (const c of ours) {
    c.events.error = () => {};
    await c.start();
    t.teardown(() => c.stop(50));
  }
  const nsq = (await import('nsqjs')).default;
  const reader = new nsq.Reader('orders', 'billing', { nsqdTCPAddresses: [`127.0.0.1:${nodes[0]!.tcpEndpoint.port}`], snappy: true, clientId: 'js-reader' });
  reader.on('message', () => {});
  reader.on('error', () => {});
  reader.connect();
  t.teardown(() => reader.close());

  const lookupHttp = `127.0.0.1:${lookupd.httpEndpoint.port}`;
  const model = new TopModel();
  const poller = new Poller([], 100, 1000, [lookupHttp]);
  const ui = render(<App model={model} poller={poller} act={async () => ''} />);
  t.teardown(() => {
    poller.stop();
    ui.unmount();
  });
  poller.start();
  // every consumer connected on both nodes (the stats say 3 clients)
  const stats = async (http: string) => (await (await fetch(`http://${http}/stats?format=json&include_clients=true`)).json()) as { topics: { channels: { clients: { remote_address: string; client_id: string }[] }[] }[] };
  const deadline = Date.now() + 5000;
  let clients: { remote_address: string; client_id: string }[] = [];
  while (Date.now() < deadline) {
    clients = (await Promise.all(https.map(stats))).flatMap((s) => s.topics.flatMap((x) => x.channels.flatMap((c) => c.clients)));
    if (clients.length === 3) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(clients.length, 3, 'three consumers connected');

  await frameWith(ui.lastFrame, 'billing');
  ui.stdin.write('n');
  const n = await frameWith(ui.lastFrame, /knows 2 nodes/);
  for (const h of https) t.match(n, new RegExp(`^${h.replace(/\./g, '\\.')}\\s+1\\.3\\.0\\s+OK\\s+\\d+s\\s+1\\s+\\d\\s+[\\d.]+[kMG]?B rss`, 'm'), `${h}: its RSS, as /stats include_mem gives it`);
  const known = /knows 2 nodes: (\S+) (\S+)/.exec(n)!;
  t.same([known[1], known[2]].sort(), [...https].sort(), 'the lookupd line names both nodes');
  ui.stdin.write('n');
  await frameWith(ui.lastFrame, 'TOPIC / CHANNEL');

  ui.stdin.write('\r');
  // the poll after every consumer is connected
  const topicFrame = await frameWith(ui.lastFrame, new RegExp(`on 2 nodes[\\s\\S]*^${https[0]!.replace(/\./g, '\\.')}.*\\s2\\s*$`, 'm'));
  const nodeLine = (h: string): string => topicFrame.split('\n').find((l) => l.startsWith(h)) ?? '';
  // depth counts what is not delivered yet: 3 − 2 in flight on node 0 (the topic's own depth is 0 once its channel has them)
  for (const [i, h] of https.entries()) t.match(nodeLine(h), new RegExp(`^${h.replace(/\./g, '\\.')}\\s+\\d+\\s+0\\s+`), `a line for node ${i}`);
  t.match(nodeLine(https[0]!), /\s3\s+1\s+2\s*$/, 'node 0: 3 messages, 1 channel, 2 consumers');
  t.match(nodeLine(https[1]!), /\s1\s+1\s+1\s*$/, 'node 1: 1 message, 1 channel, 1 consumer');

  ui.stdin.write('\r');
  const ch = await frameWith(ui.lastFrame, /consumers \(Esc: back\)[\s\S]*biller-b/);
  for (const c of clients) t.match(ch, c.remote_address, `consumer ${c.client_id} by its remote address`);
  // a terminal as wide as the whole line
  Object.defineProperty(ui.stdout, 'columns', { value: 200, configurable: true });
  ui.stdout.emit('resize');
  const wide = await frameWith(ui.lastFrame, /HOST/);
  t.match(wide, /biller-a@host-a\.example · 127\.0\.0\.1:\d+ → 127\.0\.0\.1:\d+ · billing\/2\.0 · protocol V2 · connected \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(\d+s ago\) · no tls/, 'the selected consumer in full');
  t.match(wide, /biller-a\s+host-a\.example\s+127\.0\.0\.1:\d+\s+billing\/2\.0\s+V2\s+1\s+1\s+1\s+0\s+0\s+\d+s\s+-\s+127\.0\.0\.1:\d+/, 'every column at 200: id, host, address, user agent, version, RDY, in flight, messages, FIN, REQ, connected, features, node');
  // at 100 columns (the test's terminal until the resize) the features show
  const rowOf = (id: string): string => ch.split('\n').find((l) => l.includes(id) && !l.includes('@')) ?? '';
  t.match(rowOf('biller-b'), /deflate/, 'deflate in its features');
  t.match(rowOf('js-reader'), /snappy/, 'nsqjs with snappy');
  t.match(wide.split('\n').find((l) => l.startsWith('biller-a ')) ?? '', /billing\/2\.0/, 'its user agent');
  ui.stdin.write('j');
  await frameWith(ui.lastFrame, /^[^·\n]*(biller-b|js-reader)@/m);
  t.pass('j selects the next consumer, and the line above the table follows it');
});

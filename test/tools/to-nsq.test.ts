// `nsq to-nsq` between two clusters: in-process nsqd nodes and a spawned `nsq serve` that is killed
// (-9) and restarted on its ports, fed by our Producer and read by our Consumer; the spawned binary
// for the command line and the outage, the engine in-process (from the same flag reader) for the
// JSON filters and the choice of destination.

import t from 'tap';
import { Consumer } from '../../src/client/consumer.js';
import type { Message } from '../../src/client/connection.js';
import { Producer } from '../../src/client/producer.js';
import type { NSQD } from '../../src/nsqd/nsqd.js';
import { ToNsq } from '../../src/tools/to-nsq.js';
import { Logger } from '../../src/util/log.js';
import { toNsqOptions } from '../../commands/to-nsq.js';
import { serverPorts, spawnNsq, startNsqd, tempDir, type Spawned } from '../helpers/nsqd.js';
import { channelStats, waitFor } from '../helpers/stats.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

const tcp = (nsqd: NSQD): string => `127.0.0.1:${nsqd.tcpEndpoint.port}`;
const bodies = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix} ${i}`);
const sorted = (a: string[]): string[] => [...a].sort();
const FAST_RETRY = ['default_requeue_delay,100ms', 'max_backoff_duration,200ms'];

async function publish(t: Teardown, address: string, topic: string, msgs: string[]): Promise<void> {
  const p = new Producer(address);
  t.teardown(() => p.close());
  await p.mpublish(topic, msgs);
}

/** Everything that arrives on `topic` of a node, read on a channel of its own, into `got`. */
async function collect(t: Teardown, address: string, topic: string, got: string[] = []): Promise<string[] & { consumer?: Consumer }> {
  const c = new Consumer({ topic, channel: 'check', nsqdTcpAddresses: [address], maxInFlight: 100 }, (m: Message) => {
    got.push(m.body.toString());
  });
  await c.start();
  t.teardown(() => c.stop());
  return Object.assign(got, { consumer: c });
}

/** Messages the source channel still holds: waiting, in flight or deferred. */
async function held(nsqd: NSQD, topic: string): Promise<number> {
  const c = await channelStats(nsqd, topic, 'nsq_to_nsq');
  return c === undefined ? 0 : c.depth + c.in_flight_count + c.deferred_count;
}

async function drained(nsqd: NSQD, topic: string): Promise<number> {
  const c = await waitFor(`${topic}/nsq_to_nsq drained`, async () => {
    const c = await channelStats(nsqd, topic, 'nsq_to_nsq');
    return c !== undefined && c.depth + c.in_flight_count + c.deferred_count === 0 ? c : undefined;
  }, 10_000);
  return c.requeue_count;
}

async function inProcess(t: Teardown, flags: Record<string, unknown>): Promise<{ relay: ToNsq; log: string[] }> {
  const log: string[] = [];
  const { options } = toNsqOptions(flags);
  const relay = new ToNsq(options, new Logger('info', '[nsq_to_nsq] ', (line) => log.push(line)));
  await relay.start();
  t.teardown(() => relay.stop());
  return { relay, log };
}

async function stopped(p: Spawned): Promise<number | null> {
  p.child.kill('SIGTERM');
  return (await p.exit).code;
}

t.test('messages published on A arrive on B, each topic under its own name; A drains; SIGTERM exits 0', async (t) => {
  const [a, b] = await Promise.all([startNsqd(t), startNsqd(t)]);
  const orders = bodies('order', 30);
  const users = bodies('user', 10);
  await Promise.all([publish(t, tcp(a), 'orders', orders), publish(t, tcp(a), 'users', users)]);
  const [gotOrders, gotUsers] = await Promise.all([collect(t, tcp(b), 'orders'), collect(t, tcp(b), 'users')]);
  const p = spawnNsq(t, ['to-nsq', '--topic=orders', '--topic', 'users', `--nsqd-tcp-address=${tcp(a)}`, `--destination-nsqd-tcp-address=${tcp(b)}`]);
  await waitFor('everything on B', () => gotOrders.length >= 30 && gotUsers.length >= 10, 10_000);
  t.same(sorted(gotOrders), sorted(orders), 'orders: each once');
  t.same(sorted(gotUsers), sorted(users), 'users: each once');
  t.same([await drained(a, 'orders'), await drained(a, 'users')], [0, 0], 'both source channels drained, nothing requeued');
  t.equal(await stopped(p), 0);
  t.match(p.stderr(), /\[nsq_to_nsq\] .* INFO: \[orders\/nsq_to_nsq\] consuming from /);
});

t.test('B killed -9: the messages stay in A\'s channel, unfinished; when B is back on its port, they arrive', async (t) => {
  const a = await startNsqd(t);
  const dir = tempDir(t, 'nsq-to-nsq-b-');
  const first = spawnNsq(t, ['serve', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--data-path=${dir}`]);
  const ports = await serverPorts(first);
  const b = `127.0.0.1:${ports.tcp}`;
  const got = await collect(t, b, 'relay');
  const p = spawnNsq(t, ['to-nsq', '--topic=relay', `--nsqd-tcp-address=${tcp(a)}`, `--destination-nsqd-tcp-address=${b}`, ...FAST_RETRY.map((o) => `--consumer-opt=${o}`)]);
  const before = bodies('before', 10);
  await publish(t, tcp(a), 'relay', before);
  await waitFor('the first 10 on B', () => got.length >= 10, 10_000);

  first.child.kill('SIGKILL');
  await first.exit;
  const during = bodies('during', 20);
  await publish(t, tcp(a), 'relay', during);
  // publishing to B has failed (and requeued) a few times
  await waitFor('failed publishes requeued', async () => ((await channelStats(a, 'relay', 'nsq_to_nsq'))?.requeue_count ?? 0) >= 3, 10_000);
  t.equal(await held(a, 'relay'), 20, 'all 20 still in A\'s channel: none finished while B was away');
  t.equal(got.length, 10, 'nothing more reached B');

  const second = spawnNsq(t, ['serve', `--tcp-address=${b}`, `--http-address=127.0.0.1:${ports.http}`, `--data-path=${dir}`]);
  await serverPorts(second);
  // read B again at once (the first reader's reconnect delay has grown meanwhile)
  await got.consumer!.stop();
  await collect(t, b, 'relay', got);
  await waitFor('the other 20 on B', () => got.length >= 30, 12_000);
  t.same(sorted(got), sorted([...before, ...during]), 'every message once: nothing lost, no duplicates');
  await drained(a, 'relay');
  t.match(p.stderr(), /publish to 127\.0\.0\.1:\d+\/relay: .*; message [0-9a-f]{16} requeued/);
  t.equal(await stopped(p), 0);
  second.child.kill('SIGTERM');
  await second.exit;
});

t.test('JSON: --require-json-field/--require-json-value pass the matching objects, --whitelist-json-field keeps those fields; into --destination-topic', async (t) => {
  const [a, b] = await Promise.all([startNsqd(t), startNsqd(t)]);
  await publish(t, tcp(a), 'events', [
    '{"action":"login","user":1,"x":"<a&b>","drop":"me"}',
    '{"action":"logout","user":2}',
    '{"user":3}',
    'not json',
    '["action","login"]',
    '{"action":"login","user":4}',
  ]);
  await publish(t, tcp(a), 'numbers', ['{"n":1.5,"k":"a"}', '{"n":2,"k":"b"}', '{"n":"1.5","k":"c"}', '{"n":true,"k":"d"}', '{"n":"1.50","k":"e"}']);
  const logins = await collect(t, tcp(b), 'logins');
  const numbers = await collect(t, tcp(b), 'numbers');
  const { log } = await inProcess(t, {
    topic: ['events'],
    'nsqd-tcp-address': [tcp(a)],
    'destination-nsqd-tcp-address': [tcp(b)],
    'destination-topic': 'logins',
    'require-json-field': 'action',
    'require-json-value': 'login',
    'whitelist-json-field': ['user', 'action', 'x'],
  });
  await inProcess(t, { topic: ['numbers'], 'nsqd-tcp-address': [tcp(a)], 'destination-nsqd-tcp-address': [tcp(b)], 'require-json-field': 'n', 'require-json-value': '1.50' });
  t.equal(await drained(a, 'events'), 0, 'events drained: passed and left-out messages all finished');
  t.equal(await drained(a, 'numbers'), 0);
  await waitFor('two logins and two numbers on B', () => logins.length >= 2 && numbers.length >= 2);
  t.same(sorted(logins), ['{"action":"login","user":1,"x":"\\u003ca\\u0026b\\u003e"}', '{"action":"login","user":4}'], 'only logins, only the whitelisted fields, keys sorted and escaped as Go writes them');
  t.same(sorted(numbers), sorted(['{"n":1.5,"k":"a"}', '{"n":"1.50","k":"e"}']), 'a number field compared as a number (1.5 is 1.50), a string field as text ("1.5" is not); bodies untouched without a whitelist');
  const text = log.join('\n');
  t.match(text, /message [0-9a-f]{16} left out: not JSON/);
  t.match(text, /message [0-9a-f]{16} left out: not a JSON object/);
  t.match(text, /message [0-9a-f]{16} left out: no field "action" to check the required value in/);
});

t.test('round-robin: half to each destination; hostpool: a destination that is down is left out', async (t) => {
  const [a, b, c, d] = await Promise.all([startNsqd(t), startNsqd(t), startNsqd(t), startNsqd(t)]);
  await Promise.all([publish(t, tcp(a), 'rr', bodies('rr', 20)), publish(t, tcp(a), 'hp', bodies('hp', 20))]);
  const [onB, onC, onD] = await Promise.all([collect(t, tcp(b), 'rr'), collect(t, tcp(c), 'rr'), collect(t, tcp(d), 'hp')]);
  await inProcess(t, { topic: ['rr'], 'nsqd-tcp-address': [tcp(a)], 'destination-nsqd-tcp-address': [tcp(b), tcp(c)], mode: 'round-robin' });
  // nothing listens on port 1
  const { log } = await inProcess(t, { topic: ['hp'], 'nsqd-tcp-address': [tcp(a)], 'destination-nsqd-tcp-address': ['127.0.0.1:1', tcp(d)], mode: 'hostpool', 'consumer-opt': FAST_RETRY });
  await waitFor('all 40 delivered', () => onB.length + onC.length >= 20 && onD.length >= 20, 10_000);
  t.same([onB.length, onC.length], [10, 10], 'round-robin: half each');
  t.same(sorted([...onB, ...onC]), sorted(bodies('rr', 20)), 'round-robin: each once');
  t.same(sorted(onD), sorted(bodies('hp', 20)), 'hostpool: everything on the destination that is up');
  t.equal(await drained(a, 'hp'), 0, 'hostpool: the destination found down at start got nothing to fail');
  t.match(log.join('\n'), /WARNING: destination: connect to 127\.0\.0\.1:1: connection refused \(tried again later\)/);
});

t.test('refused at start: no destination reachable (exit 1 via runRelay); a destination that is also the source', async (t) => {
  const a = await startNsqd(t);
  const { options } = toNsqOptions({ topic: ['x'], 'nsqd-tcp-address': [tcp(a)], 'destination-nsqd-tcp-address': ['127.0.0.1:1'] });
  const relay = new ToNsq(options, new Logger('fatal', ''));
  await t.rejects(relay.start(), { message: 'no destination nsqd can be reached: connect to 127.0.0.1:1: connection refused' });
  t.throws(() => toNsqOptions({ topic: ['x'], 'nsqd-tcp-address': [tcp(a)], 'destination-nsqd-tcp-address': [`localhost:${a.tcpEndpoint.port}`] }), {
    message: `--destination-nsqd-tcp-address localhost:${a.tcpEndpoint.port} is also a source of topic "x": every message would be published back where it came from (give --destination-topic)`,
    exitCode: 2,
  });
  t.ok(toNsqOptions({ topic: ['x'], 'nsqd-tcp-address': [tcp(a)], 'destination-nsqd-tcp-address': [tcp(a)], 'destination-topic': 'y' }), 'into another topic of the same node is fine');
});

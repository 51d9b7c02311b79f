// `nsq serve --nodes N` (commands/serve-nodes.ts) as a user runs it: real supervisor and node
// processes, a real lookupd, our consumer and nsqjs finding the nodes through it; restarts, signals,
// fixed ports inside a private network namespace (unshare -rn), and the refusals.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import nsq from 'nsqjs';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { nodeLogPrefix, planNodes } from '../../commands/serve-nodes.js';
import { post, registered } from '../helpers/cli-cluster.js';
import { serverPorts, spawnNsq, tempDir, type Spawned, type Teardown } from '../helpers/nsqd.js';
import { waitFor } from '../helpers/stats.js';

const EPHEMERAL = ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0'];

interface NodeLine {
  tcp: string;
  http: string;
  dataPath: string;
}

/** The supervisor's "node i: TCP a, HTTP b, data path p" lines, once there is one per node. */
async function nodeLines(s: Spawned, count: number): Promise<NodeLine[]> {
  return waitFor(`${count} node lines on stdout`, () => {
    if (s.child.exitCode !== null) throw new Error(`nsq serve --nodes exited: ${s.stderr()}`);
    const lines = [...s.stdout().matchAll(/^node (\d+): TCP (\S+), HTTP (\S+), data path (.+)$/gm)];
    return lines.length === count ? lines.map((m) => ({ tcp: m[2]!, http: m[3]!, dataPath: m[4]! })) : undefined;
  }, 15_000);
}

/** The PID a node wrote into its data path's lock file. */
const nodePid = (dataPath: string): number => Number(readFileSync(join(dataPath, 'nsqd.lock'), 'utf8'));

/** Kills (by PID) a node this test's supervisor started, if it is still there when the test ends. */
function reap(t: Teardown, pid: number): void {
  t.teardown(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
}

/** Everything the consumer got, once it has `n` messages. */
async function consume(t: Teardown, topic: string, channel: string, lookupd: string, n: number): Promise<string[]> {
  const got: string[] = [];
  const c = new Consumer({ topic, channel, nsqdTcpAddresses: [], lookupdHttpAddresses: [lookupd], lookupdPollInterval: 200, maxInFlight: 10 }, (m) => {
    got.push(m.body.toString());
  });
  await c.start();
  t.teardown(() => c.stop());
  await waitFor(`${n} messages on ${topic}/${channel}`, () => got.length >= n, 10_000);
  await c.stop();
  return got.sort();
}

t.test('the plan: ports move by the step, port 0 stays, node IDs and log prefixes per node', async (t) => {
  const plan = planNodes({ tcpAddress: '0.0.0.0:5000', httpAddress: '127.0.0.1:0', nodeId: 1023, dataPath: '/d' }, {}, 3, 2);
  t.same(plan[2]!.flags.slice(0, 5), ['--tcp-address=0.0.0.0:5004', '--http-address=127.0.0.1:0', '--data-path=/d/node-2', '--node-id=1', '--log-prefix=[nsqd-2] ']);
  t.equal(nodeLogPrefix('', 1), '[node-1] ', 'a prefix without brackets gets one');
  t.throws(() => planNodes({ tcpAddress: '127.0.0.1:4150', httpAddress: '127.0.0.1:4151' }, {}, 2, 1), /node 1's TCP port 4151 is node 0's HTTP port too; give --port-step 2/);
});

t.test('--nodes 2 with a lookupd: one consumer gets what was published to each node; SIGTERM stops both; a restart delivers what was queued', async (t) => {
  const dir = tempDir(t);
  const l = spawnNsq(t, ['lookupd', ...EPHEMERAL]);
  const lp = await serverPorts(l);
  const lookupd = `127.0.0.1:${lp.http}`;
  const args = ['serve', '--nodes', '2', ...EPHEMERAL, '--broadcast-address=127.0.0.1', `--lookupd-tcp-address=127.0.0.1:${lp.tcp}`, `--data-path=${dir}`];
  const s = spawnNsq(t, args);
  const nodes = await nodeLines(s, 2);
  t.same(nodes.map((n) => n.dataPath), [join(dir, 'node-0'), join(dir, 'node-1')], 'each node has its own data path');
  t.ok(existsSync(join(dir, 'node-0')) && existsSync(join(dir, 'node-1')), 'node-0 and node-1 were created');
  t.match(s.stderr(), /^\[nsqd-0\] .* INFO: TCP: listening on /m, 'node 0 logs as [nsqd-0]');
  t.match(s.stderr(), /^\[nsqd-1\] .* INFO: TCP: listening on /m, 'node 1 logs as [nsqd-1]');
  t.notMatch(s.stderr(), /no --lookupd-tcp-address/, 'no warning with a lookupd');
  const ids = [...s.stderr().matchAll(/^\[nsqd-\d\] .* INFO: ID: (\d+)$/gm)].map((m) => Number(m[1])).sort((a, b) => a - b);
  t.equal(ids[1], ids[0]! + 1, 'node IDs are one apart');

  const producers = await waitFor('lookupd lists both nodes', async () => {
    const r = (await (await fetch(`http://${lookupd}/nodes`)).json()) as { producers: { tcp_port: number }[] };
    return r.producers.length === 2 ? r.producers.map((p) => `127.0.0.1:${p.tcp_port}`).sort() : undefined;
  }, 10_000);
  t.same(producers, nodes.map((n) => n.tcp).sort(), 'both nodes registered, at the ports the supervisor printed');

  // both channels exist on both nodes before anything is published, so each gets every message
  for (const n of nodes) {
    await post(n.http, '/topic/create?topic=orders');
    for (const ch of ['ours', 'nsqjs']) await post(n.http, `/channel/create?topic=orders&channel=${ch}`);
    await post(n.http, '/topic/create?topic=kept');
    await post(n.http, '/channel/create?topic=kept&channel=later');
  }
  const p0 = new Producer(nodes[0]!.tcp);
  const p1 = new Producer(nodes[1]!.tcp);
  t.teardown(() => Promise.all([p0.close(), p1.close()]));
  await p0.publish('orders', 'to node 0');
  await p1.publish('orders', 'to node 1');
  await registered(lookupd, 'orders', 2);
  t.same(await consume(t, 'orders', 'ours', lookupd, 2), ['to node 0', 'to node 1'], 'our consumer, given only lookupd, gets both');

  const reader = new nsq.Reader('orders', 'nsqjs', { lookupdHTTPAddresses: [lookupd], maxInFlight: 10 });
  const viaNsqjs: string[] = [];
  reader.on('message', (m) => {
    viaNsqjs.push(m.body.toString());
    m.finish();
  });
  reader.connect();
  t.teardown(() => reader.close());
  await waitFor('nsqjs gets both messages', () => viaNsqjs.length === 2, 10_000);
  t.same(viaNsqjs.sort(), ['to node 0', 'to node 1'], 'nsqjs, given only lookupd, gets both');
  reader.close();

  // left queued on "later": persisted by each node at a clean stop
  await p0.publish('kept', 'kept by node 0');
  await p1.publish('kept', 'kept by node 1');
  await Promise.all([p0.close(), p1.close()]);
  s.child.kill('SIGTERM');
  t.same(await s.exit, { code: 0, signal: null }, 'SIGTERM: the supervisor exits 0 once both nodes have');
  t.match(s.stderr(), /^\[nsqd-0\] .* INFO: NSQ: bye$/m, 'node 0 stopped cleanly');
  t.match(s.stderr(), /^\[nsqd-1\] .* INFO: NSQ: bye$/m, 'node 1 stopped cleanly');

  const again = spawnNsq(t, args);
  await nodeLines(again, 2);
  t.same(await consume(t, 'kept', 'later', lookupd, 2), ['kept by node 0', 'kept by node 1'], 'after a restart on the same data path, both nodes deliver what they held');
  again.child.kill('SIGTERM');
  t.equal((await again.exit).code, 0);
});

t.test('kill -9 of a node: the supervisor restarts it and it serves again; one that keeps dying at once stops everything', async (t) => {
  const dir = tempDir(t);
  const s = spawnNsq(t, ['serve', '--nodes=2', ...EPHEMERAL, `--data-path=${dir}`]);
  const nodes = await nodeLines(s, 2);
  t.match(s.stderr(), /^\[nodes\] .* WARNING: no --lookupd-tcp-address: a consumer given one node's address misses what is published to the others/m, 'one warning without a lookupd');
  const node1 = nodes[1]!.dataPath;
  const first = nodePid(node1);
  reap(t, nodePid(nodes[0]!.dataPath));
  process.kill(first, 'SIGKILL');
  const back = await waitFor('node 1 is back', () => /node 1 is back: TCP (\S+), HTTP (\S+)/.exec(s.stderr()) ?? undefined, 10_000);
  t.match(s.stderr(), /ERROR: node 1 exited \(killed by SIGKILL\): restarting it in \d+ ms/, 'the death is logged with the node index');
  const again = nodePid(node1);
  reap(t, again);
  t.not(again, first, 'a new process');
  t.equal(await (await fetch(`http://${back[2]}/ping`)).text(), 'OK', 'the restarted node answers /ping');
  const p = new Producer(back[1]!);
  await p.publish('t', 'after the restart');
  await p.close();
  const stats = (await (await fetch(`http://${back[2]}/stats?format=json&topic=t`)).json()) as { topics: { message_count: number }[] };
  t.equal(stats.topics[0]?.message_count, 1, 'and takes a publish');

  // killed right after each start: the third death in a row within 2 s stops every node
  let pid = again;
  let backs = 1;
  // (a start slower than 2 s on a loaded machine resets the count: a few more kills then)
  for (let kills = 0; kills < 8 && s.child.exitCode === null; kills++) {
    process.kill(pid, 'SIGKILL');
    const more = await waitFor('node 1 back again, or the supervisor gone', () => {
      if (s.child.exitCode !== null) return 'gone';
      const n = [...s.stderr().matchAll(/node 1 is back/g)].length;
      return n > backs ? 'back' : undefined;
    }, 10_000);
    if (more === 'gone') break;
    backs++;
    pid = nodePid(node1);
    reap(t, pid);
  }
  if (s.child.exitCode === null) return t.fail('still running after 8 kills, each right after a start');
  const { code } = await s.exit;
  t.not(code, 0, 'the supervisor exits non-zero');
  t.match(s.stderr(), /ERROR: node 1 exited \(killed by SIGKILL\), 3 times in a row within 2 s of its start: stopping every node/);
  t.match(s.stderr(), /^\[nsqd-0\] .* INFO: NSQ: bye$/m, 'node 0 was stopped cleanly');
});

t.test('a second SIGTERM kills a node that has not stopped', async (t) => {
  const dir = tempDir(t);
  const s = spawnNsq(t, ['serve', '--nodes', '2', ...EPHEMERAL, `--data-path=${dir}`]);
  const nodes = await nodeLines(s, 2);
  const stuck = nodePid(nodes[1]!.dataPath);
  const other = nodePid(nodes[0]!.dataPath);
  reap(t, other);
  reap(t, stuck);
  // a stopped process cannot act on SIGTERM
  process.kill(stuck, 'SIGSTOP');
  s.child.kill('SIGTERM');
  await waitFor('node 0 gone', () => {
    try {
      process.kill(other, 0);
      return false;
    } catch {
      return true;
    }
  });
  t.match(s.stderr(), /^\[nsqd-0\] .* NSQ: bye$/m, 'node 0 stopped');
  t.equal(s.child.exitCode, null, 'the supervisor waits for node 1');
  s.child.kill('SIGTERM');
  const { code } = await s.exit;
  t.equal(code, 137, 'it exits with the worst status: node 1 killed (128 + 9)');
  t.match(s.stderr(), /WARNING: received SIGTERM again: killing node 1$/m);
});

t.test('a supervisor killed outright: each node stops cleanly on its own', async (t) => {
  const dir = tempDir(t);
  const s = spawnNsq(t, ['serve', '--nodes', '2', ...EPHEMERAL, `--data-path=${dir}`]);
  const nodes = await nodeLines(s, 2);
  for (const n of nodes) reap(t, nodePid(n.dataPath));
  s.child.kill('SIGKILL');
  // the nodes still write to the stderr they were given
  await waitFor('both nodes stopped', () => /^\[nsqd-0\] .* NSQ: bye$/m.test(s.stderr()) && /^\[nsqd-1\] .* NSQ: bye$/m.test(s.stderr()), 10_000);
  t.match(s.stderr(), /^\[nsqd-1\] .* WARNING: the supervising nsq serve --nodes is gone: stopping$/m);
  await waitFor('the lock files removed', () => !existsSync(join(nodes[0]!.dataPath, 'nsqd.lock')) && !existsSync(join(nodes[1]!.dataPath, 'nsqd.lock')));
  t.pass('both data paths unlocked');
});

const isolated = spawnSync('unshare', ['-rn', 'sh', '-c', 'ip link set lo up'], { stdio: 'ignore' }).status === 0 && spawnSync('nsenter', ['--version'], { stdio: 'ignore' }).status === 0;

t.test('fixed ports inside a private network namespace: node 1 at 4152/4153; a taken port fails the whole start', { skip: isolated ? false : 'unshare -rn or nsenter is not available here' }, async (t) => {
  const holder = spawn('unshare', ['-rn', 'sh', '-c', 'ip link set lo up && echo ready && exec sleep 600'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    if (holder.exitCode === null) holder.kill('SIGKILL');
  });
  await new Promise<void>((resolve) => holder.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
  const wrapper = ['nsenter', '-t', String(holder.pid), '-U', '-n', '--preserve-credentials'];
  const dir = tempDir(t);

  // --with-lookupd: node 0 runs it on 4160/4161, node 1 registers with it there
  const s = spawnNsq(t, ['serve', '--nodes', '2', '--with-lookupd', `--data-path=${dir}`], { wrapper });
  const nodes = await nodeLines(s, 2);
  t.same(nodes.map((n) => [n.tcp, n.http]), [['127.0.0.1:4150', '127.0.0.1:4151'], ['127.0.0.1:4152', '127.0.0.1:4153']]);
  t.notMatch(s.stderr(), /no --lookupd-tcp-address/, 'no warning with --with-lookupd');
  // asked from inside the namespace: what lookupd has registered
  const ask = `fetch('http://127.0.0.1:4161/nodes').then((r) => r.json()).then((j) => console.log(j.producers.map((p) => p.tcp_port + '/' + p.http_port).sort().join(' ')))`;
  const listed = await waitFor('lookupd lists both nodes', () => {
    const r = spawnSync(wrapper[0]!, [...wrapper.slice(1), process.execPath, '-e', ask], { encoding: 'utf8' });
    return r.stdout.trim() === '4150/4151 4152/4153' ? r.stdout.trim() : undefined;
  }, 10_000);
  t.equal(listed, '4150/4151 4152/4153', 'lookupd on 4161 lists node 0 at 4150/4151 and node 1 at 4152/4153');
  s.child.kill('SIGINT');
  t.equal((await s.exit).code, 0, 'SIGINT stops both');

  // someone else holds 4153: node 1 cannot start, so the start fails, with its reason
  const squatter = spawnNsq(t, ['lookupd', '--tcp-address=127.0.0.1:4170', '--http-address=127.0.0.1:4153'], { wrapper });
  await serverPorts(squatter);
  const failed = spawnNsq(t, ['serve', '--nodes', '2', `--data-path=${dir}`], { wrapper });
  const { code } = await failed.exit;
  t.equal(code, 1, 'exits 1');
  t.match(failed.stderr(), /^nsq: listen tcp 127\.0\.0\.1:4153: address already in use$/m, "the node's own error line");
  t.match(failed.stderr(), /^nsq: node 1 did not start \(exit code 1\)$/m);
  t.equal(failed.stdout(), '', 'no node lines');
});

t.test('refusals: one line, a non-zero exit, no node started', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'node-2'));
  const cases: [string[], RegExp][] = [
    [['--replica-address=127.0.0.1:4152'], /^nsq: --nodes: --replica-address 127\.0\.0\.1:4152 is node 1 of these nodes, on this machine: a replica must be another machine's node$/m],
    [[], /^nsq: --nodes 2: .*node-2, whose messages no node would read; start with --nodes 3, or move it away$/m],
  ];
  for (const [extra, want] of cases) {
    const r = spawnNsq(t, ['serve', '--nodes', '2', `--data-path=${dir}`, ...extra]);
    const { code } = await r.exit;
    t.not(code, 0, `${extra.join(' ') || 'node-2 left over'}: non-zero exit`);
    t.match(r.stderr(), want);
    t.equal(r.stderr().trim().split('\n').length, 1, 'one line');
  }
  const bad = spawnNsq(t, ['serve', '--nodes', 'two']);
  t.equal((await bad.exit).code, 2);
  t.equal(bad.stderr(), 'nsq: invalid value "two" for flag --nodes: want auto or an integer from 1 to 1024\n');
});

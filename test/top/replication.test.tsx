// The dashboard's replication view from /stats answers captured from real `nsq serve --durable`
// processes (test/fixtures/stats/capture-replication.mjs): each node's health in words, a takeover
// shown on the replica and on the node it took over (matched by replication name, remembered while
// that node is down), the --once lines, and the screen with and without colour.

import t from 'tap';
import type { Snapshot, Stats } from '../../src/top/poller.js';
import { chalk, render, statsFixture as fixture } from '../helpers/ink.js';

const { App } = await import('../../src/top/ui/app.js');
const { TopModel } = await import('../../src/top/model.js');
const { Poller } = await import('../../src/top/poller.js');
const { onceTable } = await import('../../src/top/plain.js');
const { nodeReplication, replicationLine } = await import('../../src/top/replication.js');

const inSync = fixture('replication-origin-in-sync');
const following = fixture('replication-replica-following');
const degraded = fixture('replication-origin-degraded');
const accepting = fixture('replication-origin-accepting');
const tookOver = fixture('replication-replica-took-over');
const goNsqd = fixture('go-nsqd-1.3');
/** B's TCP address as A names it in the captures */
const B = inSync.replication!.links[0]!.address;

const snap = (at: number, ...nodes: [string, Stats | string][]): Snapshot => ({
  at,
  nodes: nodes.map(([address, s]) => (typeof s === 'string' ? { address, ok: false, error: s } : { address, ok: true, stats: s })),
});

t.test('each state in words', async (t) => {
  t.same(replicationLine(nodeReplication(inSync.replication)), { text: `repl 1/1 ok  lag 0 msgs 0B  ·  replica ${B} in sync`, level: 'ok' });
  t.same(replicationLine(nodeReplication(following.replication)), { text: 'copy of A following, 220B', level: 'ok' });
  t.same(replicationLine(nodeReplication(degraded.replication)), {
    text: `repl 0/1 DEGRADED, refusing durable publishes  ·  replica ${B} down, last contact 391ms ago (replication link closed)`,
    level: 'bad',
  });
  const acc = replicationLine(nodeReplication(accepting.replication))!;
  t.match(acc.text, /^repl 0\/1 DEGRADED, accepting with fewer copies {2}· {2}replica \S+ down/);
  t.equal(acc.level, 'warn', 'accepting is a warning: publishes are answered');
  t.same(replicationLine(nodeReplication(tookOver.replication)), { text: 'TOOK OVER A (5 messages)', level: 'warn' });
  t.equal(replicationLine(nodeReplication(goNsqd.replication)), null, 'Go nsqd: nothing');
  t.equal(replicationLine(undefined, ['B'])?.text, 'TAKEN OVER by B');
  const refused = { ...degraded.replication!, links: [{ ...degraded.replication!.links[0]!, state: 'refused' as const, error: 'E_UNAUTHORIZED AUTH failed' }] };
  t.match(replicationLine(nodeReplication(refused))!.text, `replica ${B} refused the link, last contact 391ms ago (E_UNAUTHORIZED AUTH failed)`);
  const restored = (restore: string) => replicationLine(nodeReplication({ ...inSync.replication!, restore, restored_messages: 7 }));
  t.same(restored('done'), { text: `repl 1/1 ok  lag 0 msgs 0B  ·  replica ${B} in sync  ·  restored 7 messages from replicas`, level: 'ok' });
  t.match(restored('fetching'), { text: /· {2}RESTORING from replicas \(fetching\)$/, level: 'warn' });
  t.match(restored('failed'), { text: /· {2}RESTORE FAILED \(the replicas keep their copies\)$/, level: 'bad' });
  t.notMatch(restored('nothing')!.text, /restor/i, 'started empty and nothing to restore: nothing to say');
  const catchingUp = { ...inSync.replication!, in_sync: 0, healthy: false, links: [{ ...inSync.replication!.links[0]!, state: 'catching_up' as const, lag_bytes: 12_345, last_contact_ms: 2500 }] };
  t.match(replicationLine(nodeReplication(catchingUp))!.text, `lag 0 msgs 12kB  ·  replica ${B} catching up, 12kB behind, last contact 2.5s ago`);
});

t.test('the model: per-node replication, and a takeover marked on the node that was taken over', async (t) => {
  const m = new TopModel();
  m.update(snap(1000, ['a:4151', inSync], ['b:4151', following], ['go:4151', goNsqd]));
  const [a, b, go] = m.nodes;
  t.match(a!.replication, { name: 'A', factor: 2, inSync: 1, needed: 1, health: 'ok', lagBytes: 0, links: [{ address: B, state: 'in_sync' }], tookOver: [] });
  t.match(b!.replication, { name: 'B', needed: 0, health: 'copies', mirrors: [{ origin: 'A', state: 'following', bytes: 220 }] });
  t.equal(go!.replication, undefined, 'a node without replication has none');
  t.same(m.nodes.map((n) => n.takenOverBy), [[], [], []]);

  m.update(snap(2000, ['a:4151', 'connection refused'], ['b:4151', tookOver], ['go:4151', goNsqd]));
  const [a2, b2] = m.nodes;
  t.equal(a2!.up, false);
  t.equal(a2!.replicationName, 'A', 'the name seen before it went down');
  t.same(a2!.takenOverBy, ['B'], "B's mirror of A is taken_over: A is marked");
  t.same(b2!.replication!.tookOver, ['A']);
  t.equal(b2!.replication!.takenOverMessages, 5);

  const once = onceTable(m, snap(2000));
  t.match(once, /^nodes: 2 up, 1 down {3}topics: 2 /);
  t.match(once, '\nnode a:4151 is down: connection refused  ·  TAKEN OVER by B\n');
  t.match(once, '\nnode b:4151 (B) TOOK OVER A (5 messages)\n');
  t.notMatch(once, /node go:4151/, 'the Go nsqd gets no line');

  m.update(snap(3000, ['a:4151', inSync], ['b:4151', following], ['go:4151', goNsqd]));
  t.same(m.nodes[0]!.takenOverBy, [], 'back and in sync: no mark');
});

t.test('--once: the degraded origin, and nothing new for a cluster without replication', async (t) => {
  const m = new TopModel();
  m.update(snap(1000, ['a:4151', degraded], ['b:4151', 'connection refused']));
  const once = onceTable(m, snap(1000));
  t.match(once, `\nnode a:4151 (A) repl 0/1 DEGRADED, refusing durable publishes  ·  replica ${B} down, last contact 391ms ago (replication link closed)\n`);
  t.match(once, '\nnode b:4151 is down: connection refused\n', 'a replica never seen up: no name, no mark');
  const plain = new TopModel();
  plain.update(snap(1000, ['go:4151', goNsqd]));
  t.equal(onceTable(plain, snap(1000)).split('\n')[1]!.startsWith('┌'), true, 'the table follows the totals line directly');
});

t.test('the screen: a line per replicating node, coloured by health, readable without colour', async (t) => {
  const model = new TopModel();
  const poller = new Poller(['a:4151'], 60_000);
  const ui = render(<App model={model} poller={poller} />);
  t.teardown(() => ui.unmount());
  /** The frame once it has `text` (ink renders on its own schedule). */
  const frame = async (text: string): Promise<string> => {
    const deadline = Date.now() + 5000;
    while (!(ui.lastFrame() ?? '').includes(text) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return ui.lastFrame() ?? '';
  };
  chalk.level = 1;
  poller.onSnapshot(snap(1000, ['a:4151', inSync], ['b:4151', following]));
  const ok = await frame('copy of A');
  t.match(ok, `\x1b[32ma:4151 (A) repl 1/1 ok  lag 0 msgs 0B  ·  replica ${B} in sync`, 'green while in sync');
  t.match(ok, '\x1b[32mb:4151 (B) copy of A following, 220B');
  poller.onSnapshot(snap(2000, ['a:4151', degraded], ['b:4151', 'connection refused']));
  t.match(await frame('DEGRADED'), '\x1b[31ma:4151 (A) repl 0/1 DEGRADED, refusing durable publishes', 'red while refusing');
  poller.onSnapshot(snap(3000, ['a:4151', degraded], ['b:4151', 'connection refused'], ['c:4151', accepting]));
  t.match(await frame('c:4151'), '\x1b[33mc:4151 (C) repl 0/1 DEGRADED, accepting with fewer copies', 'yellow while accepting');
  chalk.level = 0;
  poller.onSnapshot(snap(4000, ['a:4151', 'connection refused'], ['b:4151', tookOver], ['c:4151', accepting]));
  const plain = await frame('TOOK OVER');
  t.notMatch(plain, '\x1b[', 'no colour at level 0 (NO_COLOR)');
  t.match(plain, '\na:4151 down: connection refused (retrying)  ·  TAKEN OVER by B\n', 'the node B took over, marked in words');
  t.match(plain, '\nb:4151 (B) TOOK OVER A (5 messages)\n');
  t.match(plain, '\nc:4151 (C) repl 0/1 DEGRADED, accepting with fewer copies');
});

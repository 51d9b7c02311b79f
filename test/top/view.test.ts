// Dashboard navigation as a reducer: keys in, view state and effects out.

import t from 'tap';
import { TopModel } from '../../src/top/model.js';
import { emptyText, headerNotes, initialView, keyHints, lines, pageOf, press, screen, type Key, type ViewState } from '../../src/top/view.js';
import type { Stats } from '../../src/top/poller.js';

function stats(): Stats {
  const ch = (name: string, paused = false) => ({ channel_name: name, depth: 1, backend_depth: 0, in_flight_count: 0, deferred_count: 0, message_count: 1, requeue_count: 0, timeout_count: 0, client_count: 0, clients: [], paused, e2e_processing_latency: { count: 0, percentiles: null } });
  const topic = (name: string, channels: ReturnType<typeof ch>[]) => ({ topic_name: name, channels, depth: 0, backend_depth: 0, message_count: 1, message_bytes: 1, paused: false, e2e_processing_latency: { count: 0, percentiles: null } });
  return { version: '1.3.0', health: 'OK', start_time: 1, topics: [topic('alpha', [ch('a1'), ch('a2', true)]), topic('beta', [])], producers: null };
}

const model = new TopModel();
model.update({ at: 1000, nodes: [{ address: 'n:4151', ok: true, stats: stats() }] });

function run(keys: (string | Partial<Key>)[], start: ViewState = initialView): { v: ViewState; effects: unknown[] } {
  let v = start;
  const effects: unknown[] = [];
  for (const k of keys) {
    const key: Key = typeof k === 'string' ? { input: k } : { input: '', ...k };
    const [next, effect] = press(v, key, model);
    v = next;
    if (effect) effects.push(effect);
  }
  return { v, effects };
}

t.test('the main screen lists topics with their channels beneath', async (t) => {
  const ls = lines(initialView, model).map((l) => (l.kind === 'topic' ? l.row.name : l.kind === 'channel' ? `  ${l.row.name}` : ''));
  t.same(ls, ['alpha', '  a1', '  a2', 'beta']);
});

t.test('j/k and arrows move within bounds', async (t) => {
  t.equal(run(['j', 'j', 'j', 'j', 'j']).v.cursor, 3);
  t.equal(run(['j', { upArrow: true }, 'k', 'k']).v.cursor, 0);
  t.equal(run([{ downArrow: true }, { downArrow: true }]).v.cursor, 2);
});

t.test('Enter drills into a topic, then a channel; Esc and Backspace go back', async (t) => {
  const topic = run([{ return: true }]).v;
  t.same(screen(topic), { kind: 'topic', topic: 'alpha' });
  const channel = run([{ return: true }, { return: true }]).v;
  t.same(screen(channel), { kind: 'channel', topic: 'alpha', channel: 'a1' });
  t.same(screen(run([{ return: true }, { return: true }, { escape: true }]).v), { kind: 'topic', topic: 'alpha' });
  t.same(screen(run([{ return: true }, { return: true }, { escape: true }, { backspace: true }]).v), { kind: 'topics' });
  t.same(screen(run(['j', { return: true }]).v), { kind: 'channel', topic: 'alpha', channel: 'a1' }, 'Enter on a channel row opens its consumers');
});

t.test('/ filters by name; Esc clears it', async (t) => {
  const { v } = run(['/', 'b', 'e', { return: true }]);
  t.equal(v.filter, 'be');
  t.notOk(v.filtering);
  t.same(lines(v, model).map((l) => (l.kind === 'topic' ? l.row.name : '')), ['beta']);
  t.equal(run(['/', 'x', { escape: true }]).v.filter, '');
  t.equal(run(['/', 'a', 'b', { backspace: true }]).v.filter, 'a');
});

t.test('p pauses or unpauses what is selected; e and d ask first', async (t) => {
  t.same(run(['p']).effects, [{ kind: 'action', action: 'pause', target: { topic: 'alpha', nodes: ['n:4151'] } }]);
  t.same(run(['j', 'j', 'p']).effects, [{ kind: 'action', action: 'unpause', target: { topic: 'alpha', channel: 'a2', nodes: ['n:4151'] } }], 'a paused channel is unpaused');
  const asked = run(['j', 'd']);
  t.same(asked.effects, [], 'nothing happens before the answer');
  t.equal(asked.v.confirm?.action, 'delete');
  t.same(run(['j', 'd', 'y']).effects, [{ kind: 'action', action: 'delete', target: { topic: 'alpha', channel: 'a1', nodes: ['n:4151'] } }]);
  const no = run(['e', 'n']);
  t.same(no.effects, []);
  t.equal(no.v.message, 'cancelled');
});

t.test('s cycles the sort, space freezes, ? shows help, q quits', async (t) => {
  t.same([run(['s']).v.sort, run(['s', 's']).v.sort, run(['s', 's', 's', 's']).v.sort], ['depth', 'in', 'name']);
  t.ok(run([' ']).v.frozen);
  t.notOk(run([' ', ' ']).v.frozen);
  t.ok(run(['?']).v.help);
  t.notOk(run(['?', 'x']).v.help, 'any key closes the help');
  t.same(run(['q']).effects, [{ kind: 'quit' }]);
  t.same(run([{ input: 'c', ctrl: true }]).effects, [{ kind: 'quit' }]);
});

t.test('v opens the next messages of the selected topic or channel; r asks again; Esc, v and q close it', async (t) => {
  t.same(run(['v']).v.peek, { target: { topic: 'alpha', nodes: ['n:4151'] }, round: 0 }, 'a topic');
  const open = run(['j', 'v']).v;
  t.same(open.peek, { target: { topic: 'alpha', channel: 'a1', nodes: ['n:4151'] }, round: 0 }, 'a channel');
  t.equal(run(['r', 'r'], open).v.peek?.round, 2, 'r: each press asks again');
  for (const close of ['v', 'q', { escape: true }] as const) {
    const r = run([close], open);
    t.equal(r.v.peek, null, `${JSON.stringify(close)} closes it`);
    t.same(r.effects, [], 'and q does not quit from the view');
  }
  t.equal(run(['j', 'j', 'x'], open).v.cursor, 1, 'other keys do nothing while it is open');
  t.ok(run([' '], open).v.frozen, 'but space freezes, to read the messages');
  const consumers = { ...initialView, stack: [{ kind: 'channel', topic: 'alpha', channel: 'a2' }] } as ViewState;
  t.same(run(['v'], consumers).v.peek?.target, { topic: 'alpha', channel: 'a2', nodes: ['n:4151'] }, "on a channel's consumers: that channel");
  t.same(run([{ ctrl: true, input: 'c' }], open).effects, [{ kind: 'quit' }], 'Ctrl-C still quits');
});

t.test('a key press ends a message: the key hints come back', async (t) => {
  const cancelled = run(['e', 'n']).v;
  t.equal(cancelled.message, 'cancelled');
  t.equal(run(['j'], cancelled).v.message, null, 'j moves and ends it');
  t.equal(run(['j'], cancelled).v.cursor, 1);
  t.equal(run(['x'], cancelled).v.message, null, 'so does a key that does nothing');
  t.equal(run([{ input: '', downArrow: true }, 'p'], { ...initialView, stack: [{ kind: 'channel', topic: 'alpha', channel: 'a1' }] }).v.message, 'select a topic or channel to pause', 'a key that says something says it');
});

t.test('what the screen says without rows', async (t) => {
  t.equal(emptyText(initialView, new TopModel()), 'waiting for the first answer…', 'before the first poll');
  const down = new TopModel();
  down.update({ at: 1000, nodes: [{ address: 'n:4151', ok: false, error: 'connection refused' }] });
  t.equal(emptyText(initialView, down), 'no nsqd answered: nodes unreachable (retrying)');
  const none = new TopModel();
  none.update({ at: 1000, nodes: [], lookupds: [{ address: 'l:4161', ok: true }] });
  t.equal(emptyText(initialView, none), 'no nsqd registered with lookupd yet');
  const lost = new TopModel();
  lost.update({ at: 1000, nodes: [], lookupds: [{ address: 'l:4161', ok: false, error: 'connection refused' }] });
  t.equal(emptyText(initialView, lost), 'no lookupd answered: cannot find the nodes (retrying)');
  const empty = new TopModel();
  empty.update({ at: 1000, nodes: [{ address: 'n:4151', ok: true, stats: { ...stats(), topics: [] } }] });
  t.equal(emptyText(initialView, empty), 'no topics yet', 'only when a node answered');
  t.equal(emptyText({ ...initialView, filter: 'zzz' }, model), 'no topic or channel matches "zzz"');
});

t.test('header notes: nodes down and lookupds down, each on a line, capped', async (t) => {
  const m = new TopModel();
  m.update({ at: 1000, nodes: [{ address: 'n:4151', ok: true, stats: stats() }, { address: 'm:4151', ok: false, error: 'connection refused' }], lookupds: [{ address: 'l:4161', ok: false, error: 'connection refused' }, { address: 'k:4161', ok: true }] });
  t.same(headerNotes(m), [
    { key: 'm:4151', level: 'bad', text: 'm:4151 down: connection refused (retrying)' },
    { key: 'lookupd l:4161', level: 'bad', text: 'lookupd l:4161 down: connection refused (retrying)' },
  ]);
  t.same(m.totals().nodesUp + m.totals().nodesDown, 2, 'lookupds are not counted as nodes');
  t.same(headerNotes(m, 1), [{ key: '…', level: 'bad', text: '… and 2 more' }]);
});

t.test('header notes: an ordered channel whose head keeps coming back is a stuck line', async (t) => {
  const withHead = (attempts: number): Stats => {
    const s = stats();
    const c = s.topics![0]!.channels[0]!;
    Object.assign(c, { ordered: true, head_id: '0a1b2c3d4e5f6071', head_age_ms: 9000, head_attempts: attempts });
    return s;
  };
  const m = new TopModel();
  m.update({ at: 1000, nodes: [{ address: 'n:4151', ok: true, stats: withHead(2) }] });
  t.same(headerNotes(m), [], 'a head delivered twice is not stuck');
  m.update({ at: 2000, nodes: [{ address: 'n:4151', ok: true, stats: withHead(7) }] });
  t.same(headerNotes(m), [{ key: 'head alpha/a1', level: 'warn', text: "! alpha/a1: ordered channel's head 0a1b2c3d4e5f6071 stuck, delivered 7 times (nothing after it goes out until it is finished)" }], 'delivered 7 times: a warning in words (readable without colour)');
});

t.test('n opens the nodes screen and n or Esc closes it', async (t) => {
  const opened = run(['n']).v;
  t.same(screen(opened), { kind: 'nodes' });
  t.same(lines(opened, model), [], 'nothing to select there');
  t.same(screen(run(['n', 'n']).v), { kind: 'topics' }, 'n again: back');
  t.same(screen(run(['n', { escape: true }]).v), { kind: 'topics' }, 'Esc: back');
});

t.test('key hints fit the width; rows are shown a page at a time', async (t) => {
  for (const w of [40, 60, 80, 100, 120]) t.ok([...keyHints(w)].length <= w, `hints fit ${w} columns`);
  t.match(keyHints(40), /\? help · q quit$/, 'help and quit stay');
  t.equal(keyHints(200), '↑↓ move · Enter open · / filter · s sort · p pause · e empty · d delete · v messages · space freeze · ? help · q quit');
  t.match(keyHints(60, '11–20 of 25'), /^11–20 of 25 · /);
  t.same(pageOf(5, 4, 10), { start: 0, end: 5 }, 'all rows when they fit');
  t.same(pageOf(25, 9, 10), { start: 0, end: 10 });
  t.same(pageOf(25, 10, 10), { start: 10, end: 20 }, 'the cursor past the page turns it');
  t.same(pageOf(25, 24, 10), { start: 20, end: 25 });
});

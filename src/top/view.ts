// What the dashboard shows and where the cursor is: a plain reducer over key presses, so
// navigation is testable without a terminal. Components render what this and the model say.

import { alerts } from './alerts.js';
import { SORT_KEYS, type ClientRow, type SortKey, type TopModel, type TopicRow, type ChannelRow } from './model.js';
import { replicationLine, type Level } from './replication.js';

export type Screen = { kind: 'topics' } | { kind: 'topic'; topic: string } | { kind: 'channel'; topic: string; channel: string } | { kind: 'nodes' };

export type ActionKind = 'pause' | 'unpause' | 'empty' | 'delete';

export interface Target {
  topic: string;
  channel?: string;
  nodes: string[];
}

export interface ViewState {
  stack: Screen[];
  cursor: number;
  filter: string;
  filtering: boolean;
  sort: SortKey;
  frozen: boolean;
  help: boolean;
  confirm: { action: ActionKind; target: Target } | null;
  message: string | null;
  /** `v`: the next messages of this topic or channel are shown; `round` counts the `r` presses (each asks again) */
  peek: { target: Target; round: number } | null;
}

export const initialView: ViewState = {
  stack: [{ kind: 'topics' }],
  cursor: 0,
  filter: '',
  filtering: false,
  sort: 'name',
  frozen: false,
  help: false,
  confirm: null,
  message: null,
  peek: null,
};

/** A selectable line of the current screen. */
export type Line = { kind: 'topic'; row: TopicRow } | { kind: 'channel'; row: ChannelRow } | { kind: 'client'; row: ClientRow };

export function screen(v: ViewState): Screen {
  return v.stack[v.stack.length - 1]!;
}

export function lines(v: ViewState, model: TopModel): Line[] {
  const s = screen(v);
  if (s.kind === 'topics') {
    const out: Line[] = [];
    for (const t of model.topics(v.filter, v.sort)) {
      out.push({ kind: 'topic', row: t });
      for (const c of t.channels) out.push({ kind: 'channel', row: c });
    }
    return out;
  }
  // the nodes screen lists nodes and lookupds, nothing to select or act on
  if (s.kind === 'nodes') return [];
  if (s.kind === 'topic') {
    const t = model.topics('', v.sort).find((x) => x.name === s.topic);
    return t === undefined ? [] : t.channels.map((row) => ({ kind: 'channel', row }) as Line);
  }
  return model.clients(s.topic, s.channel).map((row) => ({ kind: 'client', row }) as Line);
}

export function targetOf(line: Line | undefined): Target | null {
  if (line === undefined) return null;
  if (line.kind === 'topic') return { topic: line.row.name, nodes: line.row.nodes };
  if (line.kind === 'channel') return { topic: line.row.topic, channel: line.row.name, nodes: line.row.nodes };
  return null;
}

/** On a channel's screen (its rows are consumers), the channel itself. */
function screenTarget(v: ViewState, model: TopModel): Target | null {
  const s = screen(v);
  if (s.kind !== 'channel') return null;
  const row = model.topic(s.topic)?.channels.find((c) => c.name === s.channel);
  return row === undefined ? null : { topic: s.topic, channel: s.channel, nodes: row.nodes };
}

export interface Key {
  input: string;
  upArrow?: boolean;
  downArrow?: boolean;
  return?: boolean;
  escape?: boolean;
  backspace?: boolean;
  delete?: boolean;
  ctrl?: boolean;
}

/** What the key asks for beyond a new view state. */
export type Effect = { kind: 'quit' } | { kind: 'action'; action: ActionKind; target: Target } | null;

export function press(v: ViewState, key: Key, model: TopModel): [ViewState, Effect] {
  const all = lines(v, model);
  if (key.ctrl && key.input === 'c') return [v, { kind: 'quit' }];
  // an action's message has been read once a key is pressed: the key hints come back
  if (v.message !== null) v = { ...v, message: null };
  if (v.confirm !== null) {
    if (key.input === 'y' || key.input === 'Y') return [{ ...v, confirm: null, message: null }, { kind: 'action', action: v.confirm.action, target: v.confirm.target }];
    return [{ ...v, confirm: null, message: 'cancelled' }, null];
  }
  if (v.filtering) {
    if (key.return) return [{ ...v, filtering: false }, null];
    if (key.escape) return [{ ...v, filtering: false, filter: '', cursor: 0 }, null];
    if (key.backspace || key.delete) return [{ ...v, filter: v.filter.slice(0, -1), cursor: 0 }, null];
    if (key.input && !key.ctrl) return [{ ...v, filter: v.filter + key.input, cursor: 0 }, null];
    return [v, null];
  }
  if (v.help) return [{ ...v, help: false }, null];
  if (v.peek !== null) {
    if (key.escape || key.backspace || key.delete || key.input === 'v' || key.input === 'q') return [{ ...v, peek: null }, null];
    if (key.input === 'r') return [{ ...v, peek: { ...v.peek, round: v.peek.round + 1 } }, null];
    // to read the messages while they move
    if (key.input === ' ') return [{ ...v, frozen: !v.frozen }, null];
    return [v, null];
  }
  const last = Math.max(0, all.length - 1);
  if (key.upArrow || key.input === 'k') return [{ ...v, cursor: Math.max(0, Math.min(v.cursor, last) - 1) }, null];
  if (key.downArrow || key.input === 'j') return [{ ...v, cursor: Math.min(last, v.cursor + 1) }, null];
  if (key.return) {
    const line = all[Math.min(v.cursor, last)];
    if (line?.kind === 'topic') return [{ ...v, stack: [...v.stack, { kind: 'topic', topic: line.row.name }], cursor: 0, message: null }, null];
    if (line?.kind === 'channel') return [{ ...v, stack: [...v.stack, { kind: 'channel', topic: line.row.topic, channel: line.row.name }], cursor: 0, message: null }, null];
    return [v, null];
  }
  if (key.escape || key.backspace || key.delete) {
    if (v.stack.length > 1) return [{ ...v, stack: v.stack.slice(0, -1), cursor: 0, message: null }, null];
    if (v.filter !== '') return [{ ...v, filter: '', cursor: 0 }, null];
    return [v, null];
  }
  switch (key.input) {
    case 'q':
      return [v, { kind: 'quit' }];
    case '/':
      return [{ ...v, filtering: true, stack: [v.stack[0]!], cursor: 0 }, null];
    case 's':
      return [{ ...v, sort: SORT_KEYS[(SORT_KEYS.indexOf(v.sort) + 1) % SORT_KEYS.length]! }, null];
    case ' ':
      return [{ ...v, frozen: !v.frozen }, null];
    case '?':
      return [{ ...v, help: true }, null];
    case 'n':
      // every nsqd and lookupd (nsqadmin's nodes and lookup pages); n again or Esc goes back
      if (screen(v).kind === 'nodes') return [{ ...v, stack: v.stack.slice(0, -1), cursor: 0 }, null];
      return [{ ...v, stack: [...v.stack, { kind: 'nodes' }], cursor: 0, message: null }, null];
    case 'p': {
      const line = all[Math.min(v.cursor, last)];
      const target = targetOf(line);
      if (target === null || line === undefined || line.kind === 'client') return [{ ...v, message: 'select a topic or channel to pause' }, null];
      return [v, { kind: 'action', action: line.row.paused ? 'unpause' : 'pause', target }];
    }
    case 'v': {
      const target = targetOf(all[Math.min(v.cursor, last)]) ?? screenTarget(v, model);
      if (target === null) return [{ ...v, message: 'select a topic or channel to view its messages' }, null];
      return [{ ...v, peek: { target, round: 0 } }, null];
    }
    case 'e':
    case 'd': {
      const target = targetOf(all[Math.min(v.cursor, last)]);
      if (target === null) return [{ ...v, message: 'select a topic or channel first' }, null];
      return [{ ...v, confirm: { action: key.input === 'e' ? 'empty' : 'delete', target } }, null];
    }
  }
  return [v, null];
}

/** A line under the header: a node that is down or replicates, a lookupd that does not answer (health in words, so it reads without colour). */
export interface Note {
  key: string;
  text: string;
  level: Level;
}

/** The header's notes, at most `max` lines: the last then says how many more there are. */
export function headerNotes(model: TopModel, max = Infinity): Note[] {
  const notes: Note[] = [];
  for (const n of model.nodes) {
    const repl = replicationLine(n.replication, n.takenOverBy);
    if (!n.up) notes.push({ key: n.address, level: 'bad', text: `${n.address} down: ${n.error ?? 'no answer'} (retrying)${repl === null ? '' : `  ·  ${repl.text}`}` });
    else if (repl !== null) notes.push({ key: n.address, level: repl.level, text: `${n.address} (${n.replication?.name ?? n.replicationName}) ${repl.text}` });
  }
  for (const l of model.lookupds) if (!l.ok) notes.push({ key: `lookupd ${l.address}`, level: 'bad', text: `lookupd ${l.address} down: ${l.error ?? 'no answer'} (retrying)` });
  for (const a of alerts(model)) notes.push(a);
  if (notes.length <= max) return notes;
  const kept = notes.slice(0, Math.max(0, max - 1));
  const more = notes.slice(kept.length);
  return [...kept, { key: '…', level: more.some((n) => n.level === 'bad') ? 'bad' : 'warn', text: `… and ${more.length} more` }];
}

/** What the screen says instead of rows: before the first answer, when no node answers, when nothing matches. */
export function emptyText(v: ViewState, model: TopModel): string {
  const snapshot = model.snapshot;
  if (snapshot === null) return 'waiting for the first answer…';
  if (!snapshot.nodes.some((n) => n.ok)) {
    if (snapshot.nodes.length > 0) return 'no nsqd answered: nodes unreachable (retrying)';
    if (model.lookupds.some((l) => l.ok)) return 'no nsqd registered with lookupd yet';
    return 'no lookupd answered: cannot find the nodes (retrying)';
  }
  const s = screen(v);
  if (s.kind === 'topic') return model.topic(s.topic) === undefined ? `topic ${s.topic} is gone` : 'no channels';
  if (s.kind === 'channel') return 'no consumers connected';
  if (v.filter !== '' && model.topics().length > 0) return `no topic or channel matches "${v.filter}"`;
  return 'no topics yet';
}

const HINTS = ['↑↓ move', 'Enter open', '/ filter', 's sort', 'p pause', 'e empty', 'd delete', 'v messages', 'space freeze'];
const HINTS_ALWAYS = '? help · q quit';
/** the footer while the peek view (`v`) is open */
export const PEEK_HINTS = 'r again · space freeze · Esc/v/q close';

/** The key hints that fit `width`, after `lead` (where the page is): the least used go first, `? help · q quit` stays. */
export function keyHints(width: number, lead = ''): string {
  const shown = [...HINTS];
  const line = (): string => [...(lead === '' ? [] : [lead]), ...shown, HINTS_ALWAYS].join(' · ');
  while (shown.length > 0 && [...line()].length > width) shown.pop();
  return line();
}

/**
 * The rows of a list of `count` that are shown in `height` lines: whole pages, so the rows stay
 * put while the cursor moves within a page.
 */
export function pageOf(count: number, selected: number, height: number): { start: number; end: number } {
  if (height <= 0 || count <= height) return { start: 0, end: count };
  const start = Math.floor(Math.max(0, Math.min(selected, count - 1)) / height) * height;
  return { start, end: Math.min(count, start + height) };
}

export function describeTarget(t: Target): string {
  return t.channel === undefined ? `topic ${t.topic}` : `channel ${t.topic}/${t.channel}`;
}

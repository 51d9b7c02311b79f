// `nsq top` in a real terminal (tmux), the screen as a person reads it: --filter from the start,
// the selected row without colours, the key hints after an action's message, and what it says
// while no node answers.

import { createServer } from 'node:net';
import t, { type Test } from 'tap';
import type { NSQD } from '../../src/nsqd/nsqd.js';
import { startNsqd } from '../helpers/nsqd.js';
import { nsqCommand, tmuxServer, type Tmux } from '../helpers/tmux.js';

/** the program's start on a loaded machine: ink and react load before the first frame */
const FIRST_FRAME_MS = 15_000;
const HINTS = /↑↓ move · .*\? help · q quit/;

/** `nsq top` against `http` in a new session of `cols`×`rows`, in a person's environment and `env`. */
function top(tmux: Tmux, session: string, http: string, args: string[] = [], size: [number, number] = [110, 24], env: Record<string, string> = {}): void {
  tmux('new-session', '-d', '-s', session, '-x', String(size[0]), '-y', String(size[1]), nsqCommand(['top', `--nsqd-http-address=${http}`, '--interval=200ms', ...args], env));
}

/** An nsqd with topics events and orders (channels audit and billing), one message in each. */
async function node(t: Test): Promise<{ http: string; nsqd: NSQD }> {
  const nsqd = await startNsqd(t);
  const orders = nsqd.getTopic('orders');
  orders.getChannel('audit');
  orders.getChannel('billing');
  orders.publish(Buffer.from('x'), 0, 1);
  nsqd.getTopic('events').publish(Buffer.from('x'), 0, 1);
  return { http: `127.0.0.1:${nsqd.httpEndpoint.port}`, nsqd };
}

const markedLines = (screen: string): string[] => screen.split('\n').filter((l) => l.startsWith('>'));

t.test('--filter: the live view starts filtered, as after typing / and the text; Esc clears it', async (t) => {
  const { http } = await node(t);
  const tmux = tmuxServer(t);
  top(tmux, 'f', http, ['--filter=ord']);
  const first = await tmux.screenWith('f', 'billing', FIRST_FRAME_MS);
  t.match(first, /^nsq top .* filter: ord/, 'the header shows the filter');
  t.notMatch(first, /events/, 'a topic that does not match is not listed');
  t.match(first, /^orders\s+0 .*\n  └ audit\s+1 .*\n  └ billing\s+1 /m, 'the topic that matches, with its channels');
  tmux('send-keys', '-t', 'f', 'Escape');
  const all = await tmux.screenWith('f', 'events');
  t.notMatch(all, /filter:/, 'Esc clears it');
});

t.test('NO_COLOR or --no-color: the selected row is marked with ">", and the mark moves with j/k', async (t) => {
  const { http, nsqd } = await node(t);
  const tmux = tmuxServer(t);
  top(tmux, 'env', http, [], [110, 24], { NO_COLOR: '1' });
  top(tmux, 'flag', http, ['--no-color']);
  top(tmux, 'colour', http);
  for (const session of ['env', 'flag']) {
    const first = await tmux.screenWith(session, 'billing', FIRST_FRAME_MS);
    t.equal(markedLines(first).length, 1, `${session}: one row is marked`);
    t.match(markedLines(first)[0], /^> events\s+1\s/, `${session}: the first`);
    t.notMatch(tmux('capture-pane', '-t', session, '-p', '-e'), /\x1b\[/, `${session}: no styles at all`);
  }
  // the control: with colours the selected row is in reverse video, and there is no mark
  const coloured = await tmux.screenWith('colour', 'billing', FIRST_FRAME_MS, ['-e']);
  t.match(coloured, /\x1b\[(?:\d+;)*7m[^\n]*events\s+1\s/, 'colours: the selected row in reverse video');
  t.equal(markedLines(tmux('capture-pane', '-t', 'colour', '-p')).length, 0, 'colours: no mark');
  const moved = async (key: string, row: RegExp): Promise<void> => {
    tmux('send-keys', '-t', 'env', key);
    const s = await tmux.screenWith('env', (s) => markedLines(s).length === 1 && row.test(markedLines(s)[0]!));
    t.equal(markedLines(s).length, 1, `after ${key}: one marked row, ${row}`);
  };
  await moved('j', /^> orders /);
  await moved('j', /^>   └ audit /);
  await moved('k', /^> orders /);
  // what a prompt acts on is what is marked
  tmux('send-keys', '-t', 'env', 'd');
  await tmux.screenWith('env', 'delete topic orders on 1 node(s)? (y/N)');
  tmux('send-keys', '-t', 'env', 'n');
  await tmux.screenWith('env', 'cancelled');
  t.ok(nsqd.getTopic('orders').getExistingChannel('billing'), 'nothing deleted');
});

t.test('an action\'s message gives way to the key hints at the next key', async (t) => {
  const { http, nsqd } = await node(t);
  const tmux = tmuxServer(t);
  top(tmux, 'm', http);
  await tmux.screenWith('m', 'billing', FIRST_FRAME_MS);
  tmux('send-keys', '-t', 'm', 'p');
  const done = await tmux.screenWith('m', 'pause topic events: done on 1 node');
  t.notMatch(done, HINTS, 'the message takes the hints\' line');
  t.ok(nsqd.getTopic('events').paused);
  tmux('send-keys', '-t', 'm', 'j');
  const back = await tmux.screenWith('m', HINTS);
  t.notMatch(back, /pause topic events/, 'the message is gone');
});

t.test('no node answers: it says so, not "no topics yet"', async (t) => {
  // a port nothing listens on: bind one, then release it
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const empty = await startNsqd(t);
  const tmux = tmuxServer(t);
  top(tmux, 'down', `127.0.0.1:${port}`);
  top(tmux, 'empty', `127.0.0.1:${empty.httpEndpoint.port}`);
  const down = await tmux.screenWith('down', 'connection refused', FIRST_FRAME_MS);
  t.match(down, /nodes 0 up, 1 down/);
  t.match(down, /no nsqd answered: nodes unreachable \(retrying\)/);
  t.notMatch(down, /no topics yet/);
  const none = await tmux.screenWith('empty', 'nodes 1 up', FIRST_FRAME_MS);
  t.match(none, /no topics yet/, 'a node that answers with no topics');
});

// `nsq top`'s `v` in a real terminal (tmux): the next messages of the selected channel with their
// states, closed as the other views close; afterwards a consumer receives every message (the view
// changed nothing); a channel deleted while the view is open is one line, and the dashboard stays.

import { once } from 'node:events';
import t from 'tap';
import nsq from 'nsqjs';
import type { Message } from 'nsqjs';
import type { NSQD } from '../../src/nsqd/nsqd.js';
import { startNsqd } from '../helpers/nsqd.js';
import { httpBase } from '../helpers/stats.js';
import { nsqCommand, tmuxServer, type Tmux } from '../helpers/tmux.js';

/** the program's start on a loaded machine: ink and react load before the first frame */
const FIRST_FRAME_MS = 15_000;
/** the deferred message comes due after the view showed it, so the consumer gets it within the test */
const DEFER_MS = 4000;

async function post(nsqd: NSQD, path: string, body?: string): Promise<void> {
  const res = await fetch(`${httpBase(nsqd)}${path}`, { method: 'POST', body, signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
}

function top(tmux: Tmux, session: string, nsqd: NSQD): void {
  tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '24', nsqCommand(['top', `--nsqd-http-address=127.0.0.1:${nsqd.httpEndpoint.port}`, '--interval=200ms']));
}

t.test('v on a channel: its messages in flight, queued and deferred; Esc closes; a consumer then gets them all', async (t) => {
  const nsqd = await startNsqd(t);
  await post(nsqd, '/topic/create?topic=work');
  await post(nsqd, '/channel/create?topic=work&channel=c');
  await post(nsqd, '/mpub?topic=work', 'first\nsecond');
  await post(nsqd, '/pub?topic=work', 'line1\nline2');
  const reader = new nsq.Reader('work', 'c', { nsqdTCPAddresses: [`127.0.0.1:${nsqd.tcpEndpoint.port}`], maxInFlight: 1, clientId: 'holder' });
  t.teardown(() => reader.close());
  const got: Message[] = [];
  reader.on('message', (m: Message) => got.push(m));
  reader.connect();
  await once(reader, 'message');

  const tmux = tmuxServer(t);
  top(tmux, 'v', nsqd);
  await tmux.screenWith('v', /└ c\s/, FIRST_FRAME_MS);
  await post(nsqd, `/pub?topic=work&defer=${DEFER_MS}`, 'later');
  tmux('send-keys', '-t', 'v', 'j');
  tmux('send-keys', '-t', 'v', 'v');
  const view = await tmux.screenWith('v', 'later');
  t.match(view, /channel work\/c — next messages/, 'the view says what it shows');
  t.match(view.trimEnd().split('\n').at(-1), /^r again · space freeze · Esc\/v\/q close$/, 'its keys on the last line');
  t.match(view, /node 127\.0\.0\.1:\d+: depth 2, in flight 1, deferred 1 \(showing 4\)/, 'a heading for the node');
  t.match(view, /^[0-9a-f]{16}  in_flight, holder@127\.0\.0\.1:\d+ +1 +\d+s  first$/m, 'the message in flight, with its consumer');
  t.match(view, /^[0-9a-f]{16}  queued +0 +\d+s  second$/m, 'a queued one');
  t.match(view, /^[0-9a-f]{16}  queued +0 +\d+s  line1\\nline2$/m, 'a body on one line, its newline escaped');
  t.match(view, /^[0-9a-f]{16}  deferred, due in \ds +0 +\d+s  later$/m, 'the deferred one, with its due time');
  t.ok(/first[\s\S]*second[\s\S]*line1[\s\S]*later/.test(view), 'in the order of delivery');

  tmux('send-keys', '-t', 'v', 'Escape');
  const back = await tmux.screenWith('v', (s) => /TOPIC \/ CHANNEL/.test(s) && !/next messages/.test(s));
  t.match(back, /└ c\s/, 'Esc: the dashboard again');

  // the view took nothing: the held message is still the consumer's, the rest follow, the deferred one when due
  got[0]!.finish();
  await new Promise<void>((resolve) => {
    reader.on('message', (m: Message) => {
      m.finish();
      if (got.length === 4) resolve();
    });
  });
  t.same(got.map((m) => m.body.toString()), ['first', 'second', 'line1\nline2', 'later'], 'every message, once');
  t.same(got.map((m) => m.attempts), [1, 1, 1, 1], 'first attempts: nothing was delivered by the peek');
});

t.test('the channel deleted while the view is open: one line says so, the dashboard stays up', async (t) => {
  const nsqd = await startNsqd(t);
  const topic = nsqd.getTopic('gone');
  topic.getChannel('c');
  topic.publish(Buffer.from('soon deleted'), 0, 12);
  const tmux = tmuxServer(t);
  top(tmux, 'd', nsqd);
  await tmux.screenWith('d', /└ c\s/, FIRST_FRAME_MS);
  tmux('send-keys', '-t', 'd', 'j');
  tmux('send-keys', '-t', 'd', 'v');
  await tmux.screenWith('d', 'soon deleted');
  await post(nsqd, '/channel/delete?topic=gone&channel=c');
  const error = await tmux.screenWith('d', /404/);
  t.match(error, /^127\.0\.0\.1:\d+: nsqd 127\.0\.0\.1:\d+ cannot peek at gone\/c: 404 CHANNEL_NOT_FOUND$/m, 'the node\'s answer on one line');
  t.notMatch(error, /soon deleted/, 'the messages it showed are gone');
  t.ok(tmux.alive('d'), 'the dashboard is still up');
  tmux('send-keys', '-t', 'd', 'v');
  // the table shows the last poll until the next one: wait for the poll after the delete
  const back = await tmux.screenWith('d', (s) => /TOPIC \/ CHANNEL/.test(s) && !/next messages/.test(s) && !/└ c\s/.test(s));
  t.match(back, /^gone\s/m, 'v closes the view; the channel is gone from the table, its topic stays');
});

t.test('two nodes with the channel: each node\'s messages under its heading; a node that stops is one line, the other stays', async (t) => {
  const a = await startNsqd(t);
  const b = await startNsqd(t);
  for (const [n, body] of [[a, 'from-a'], [b, 'from-b']] as const) {
    n.getTopic('shared').getChannel('c');
    n.getTopic('shared').publish(Buffer.from(body), 0, body.length);
  }
  const tmux = tmuxServer(t);
  const http = (n: NSQD): string => `127.0.0.1:${n.httpEndpoint.port}`;
  tmux('new-session', '-d', '-s', 'c', '-x', '120', '-y', '24', nsqCommand(['top', `--nsqd-http-address=${http(a)}`, `--nsqd-http-address=${http(b)}`, '--interval=200ms']));
  await tmux.screenWith('c', (s) => /nodes 2 up/.test(s) && /└ c\s/.test(s), FIRST_FRAME_MS);
  tmux('send-keys', '-t', 'c', 'j');
  tmux('send-keys', '-t', 'c', 'v');
  const both = await tmux.screenWith('c', (s) => s.includes('from-a') && s.includes('from-b'));
  const lines = both.split('\n');
  const heading = (n: NSQD): number => lines.findIndex((l) => l.startsWith(`node ${http(n)}: depth 1`));
  const body = (text: string): number => lines.findIndex((l) => l.endsWith(`  ${text}`));
  t.ok(heading(a) >= 0 && heading(b) >= 0, 'a heading for each node');
  for (const [n, text] of [[a, 'from-a'], [b, 'from-b']] as const) t.equal(body(text), heading(n) + 1, `${text} under its node's heading`);

  await b.stop();
  const one = await tmux.screenWith('c', new RegExp(`^${http(b).replace(/\./g, '\\.')}: .+$`, 'm'));
  t.match(one, /from-a/, 'the node that answers is still shown');
  t.notMatch(one, /from-b/);
  t.ok(tmux.alive('c'), 'the dashboard is still up');
});

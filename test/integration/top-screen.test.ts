// `nsq top` in a real terminal (tmux), the screen as a person reads it: --filter from the start,
// the selected row without colours, whole frames after a resize, the help in a small terminal,
// the key hints after an action's message, what it says while no node answers, and the terminal
// given back after q or a signal.

import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import t, { type Test } from 'tap';
import { KEYS } from '../../src/top/ui/help.js';
import { keyHints } from '../../src/top/view.js';
import { overviewChartRows } from '../../src/top/chart.js';
import type { NSQD } from '../../src/nsqd/nsqd.js';
import { spawnNsq, startNsqd } from '../helpers/nsqd.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nsqCommand, tmuxServer, type Tmux } from '../helpers/tmux.js';

/** the program's start on a loaded machine: ink and react load before the first frame */
const FIRST_FRAME_MS = 15_000;
const HINTS = /↑↓ move · .*\? help · q quit/;

/** `nsq top` against `http` in a new session of `cols`×`rows`, in a person's environment and `env`. */
/** screen captures for people to look at (git ignores the folder) */
const ARTIFACTS = fileURLToPath(new URL('../../../test/artifacts/', import.meta.url));

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

t.test('a resize leaves nothing of the frame before; the help fits 60x20', async (t) => {
  const { http } = await node(t);
  const tmux = tmuxServer(t);
  // started from a shell with output before it, as a person does
  tmux('new-session', '-d', '-s', 'r', '-x', '110', '-y', '24', `seq 1 5; exec ${nsqCommand(['top', `--nsqd-http-address=${http}`, '--interval=200ms'])}`);
  await tmux.screenWith('r', 'billing', FIRST_FRAME_MS);
  /** the screen is one frame of `rows` lines: header on top, hints at the bottom, each row once */
  const whole = (cols: number, rows: number) => (s: string): boolean => {
    const lines = s.split('\n');
    const count = (re: RegExp): number => lines.filter((l) => re.test(l)).length;
    const charts = overviewChartRows(rows);
    return (
      lines.length >= rows &&
      /^nsq top /.test(lines[0]!) &&
      // the hints drawn for this width: the frame is the new one
      lines[rows - 1]!.trimEnd() === keyHints(cols) &&
      count(/^nsq top /) === 1 &&
      count(/^TOPIC \/ CHANNEL/) === 1 &&
      count(/^events /) === 1 &&
      count(/└ billing/) === 1 &&
      count(HINTS) === 1 &&
      // the overview's charts where the terminal has the rows: one title line, then their rows
      count(/^in \S+\/s +max /) === (charts > 0 ? 1 : 0) &&
      // the header, the charts, the table's head, its 4 rows, the hints: any other line is left over
      lines.filter((l) => l.trim() !== '').length === 7 + (charts > 0 ? charts + 1 : 0)
    );
  };
  for (const [cols, rows] of [[90, 24], [70, 24], [50, 18], [100, 30], [60, 20]] as const) {
    tmux('resize-window', '-t', 'r', '-x', String(cols), '-y', String(rows));
    const s = await tmux.screenWith('r', whole(cols, rows));
    t.ok(whole(cols, rows)(s), `${cols}x${rows}: one whole frame, nothing left over`);
  }

  tmux('send-keys', '-t', 'r', '?');
  const help = await tmux.screenWith('r', 'any key closes this help');
  const lines = help.split('\n');
  for (const [k, what] of KEYS) t.ok(lines.some((l) => l.includes(`${k.padEnd(16)}${what}`)), `help line "${k}" is whole on one line`);
  t.ok(lines.some((l) => /^╭─+╮$/.test(l.trimEnd()) && l.trimEnd().length <= 60), 'the box top fits');
  t.ok(lines.some((l) => /^╰─+╯$/.test(l.trimEnd())), 'and its bottom is on screen');
  t.match(lines[0], /^nsq top /);
  t.match(lines[19], HINTS, 'the hints stay on the last line');
});

t.test('more rows than the terminal has: a page at a time, under a header that stays', async (t) => {
  const nsqd = await startNsqd(t);
  for (let i = 0; i < 30; i++) nsqd.getTopic(`t${String(i).padStart(2, '0')}`);
  const tmux = tmuxServer(t);
  top(tmux, 'p', `127.0.0.1:${nsqd.httpEndpoint.port}`, [], [60, 12]);
  const first = await tmux.screenWith('p', 't08', FIRST_FRAME_MS);
  const lines = first.split('\n');
  t.match(lines[0], /^nsq top  nodes 1 up/, 'the header on the first line');
  t.match(lines[1], /^TOPIC \/ CHANNEL/);
  t.match(lines[2], /^t00 /);
  t.match(lines[10], /^t08 /, '9 rows fit');
  t.match(lines[11], /^1–9 of 30 · .*\? help · q quit/, 'the last line says where the page is');
  tmux('send-keys', '-t', 'p', ...Array<string>(9).fill('j'));
  const next = await tmux.screenWith('p', '10–18 of 30');
  t.match(next.split('\n')[2], /^t09 /, 'moving past the page turns it');
  t.match(next.split('\n')[0], /^nsq top /);
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

t.test('q and SIGTERM give the terminal back as it was', async (t) => {
  const { http } = await node(t);
  const tmux = tmuxServer(t);
  const cmd = nsqCommand(['top', `--nsqd-http-address=${http}`, '--interval=200ms']);
  for (const session of ['q', 'term']) tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '20', `echo before top; ${cmd}; echo "exit $?"; sleep 60`);
  for (const session of ['q', 'term']) await tmux.screenWith(session, 'billing', FIRST_FRAME_MS);
  tmux('send-keys', '-t', 'q', 'q');
  // the shell's child is env, which execs node: the pid of top
  const shell = tmux('display-message', '-p', '-t', 'term', '#{pane_pid}').trim();
  const pid = Number(execFileSync('pgrep', ['-P', shell], { encoding: 'utf8' }).trim());
  process.kill(pid, 'SIGTERM');
  for (const [session, code] of [['q', 0], ['term', 143]] as const) {
    const back = await tmux.screenWith(session, `exit ${code}`);
    t.match(back, /^before top\nexit \d+\n/, `${session}: what was on the screen is back, and nothing of the dashboard`);
  }
});

t.test('the overview charts traffic from nsq bench at 60x20 and 160x48, and alerts on a backlog nobody consumes', async (t) => {
  const nsqd = await startNsqd(t);
  nsqd.getTopic('traffic').getChannel('sink');
  const http = `127.0.0.1:${nsqd.httpEndpoint.port}`;
  // real traffic from the real binary: nsq bench pub at a steady rate for the whole test
  const bench = spawnNsq(t, ['bench', 'pub', `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpEndpoint.port}`, '--topic=traffic', '--rate=2000', '--duration=60s', '--batch=1']);
  const tmux = tmuxServer(t);
  mkdirSync(ARTIFACTS, { recursive: true });
  for (const [cols, rows] of [[60, 20], [160, 48]] as const) {
    const session = `c${cols}`;
    top(tmux, session, http, [], [cols, rows]);
    // drawn: a title with a rate above 0, and a chart row with dots in it
    const drawn = (s: string): boolean => /^in [1-9][\d.]*k?\/s +max /m.test(s) && /[\u2801-\u28ff]/.test(s) && /^! traffic\/sink: backlog grows/m.test(s);
    const s = await tmux.screenWith(session, drawn, FIRST_FRAME_MS + 10_000);
    const lines = s.split('\n');
    const charts = overviewChartRows(rows);
    const title = lines.findIndex((l) => /^in /.test(l));
    t.ok(title > 0, `${cols}x${rows}: the chart's titles under the header`);
    t.ok(lines.slice(title + 1, title + 1 + charts).every((l) => /^[\u2800-\u28ff]+ {2}[\u2800-\u28ff]+ {2}[\u2800-\u28ff]+ *$/.test(l)), `${cols}x${rows}: ${charts} rows of three charts side by side`);
    t.match(lines[title + 1 + charts], /^TOPIC \/ CHANNEL/, `${cols}x${rows}: the table right after them`);
    t.match(s, /^traffic /m, 'the topic is listed');
    if (cols >= 160) t.match(s, /^ {2}└ sink +[\d.]+k? +█+/m, 'the deepest queue has the full depth bar');
    t.match(s, /^! traffic\/sink: backlog grows with no consumer \(depth \d+/m, 'and the alert: its backlog grows with nobody consuming');
    writeFileSync(join(ARTIFACTS, `top-overview-${cols}x${rows}.txt`), tmux('capture-pane', '-t', session, '-p', '-e'));
  }
  bench.child.kill('SIGTERM');
});

t.test('at 60x20 and 160x48 with nsq bench traffic: n lists each node; a topic on two nodes, node by node; the channel screen charts and lists its consumer by remote address', async (t) => {
  const a = await startNsqd(t);
  const b = await startNsqd(t);
  for (const n of [a, b]) n.getTopic('flow').getChannel('work');
  b.getTopic('flow').publish(Buffer.from('x'), 0, 1);
  const https = [a, b].map((n) => `127.0.0.1:${n.httpEndpoint.port}`);
  const tcp = `127.0.0.1:${a.tcpEndpoint.port}`;
  spawnNsq(t, ['bench', 'pub', `--nsqd-tcp-address=${tcp}`, '--topic=flow', '--rate=1000', '--duration=90s', '--batch=1']);
  spawnNsq(t, ['bench', 'sub', `--nsqd-tcp-address=${tcp}`, '--topic=flow', '--channel=work', '--duration=90s', '--user-agent=flow-worker/1.0', '--snappy']);
  // the consumer's address as the node sees it
  let remote = '';
  const deadline = Date.now() + FIRST_FRAME_MS;
  while (remote === '' && Date.now() < deadline) {
    const s = (await (await fetch(`http://${https[0]}/stats?format=json&include_clients=true&topic=flow`)).json()) as { topics: { channels: { clients: { remote_address: string }[] }[] }[] };
    remote = s.topics[0]?.channels[0]?.clients[0]?.remote_address ?? '';
    if (remote === '') await new Promise((r) => setTimeout(r, 100));
  }
  t.not(remote, '', 'nsq bench sub is connected');
  const tmux = tmuxServer(t);
  mkdirSync(ARTIFACTS, { recursive: true });
  const esc = (s: string): string => s.replace(/\./g, '\\.');
  for (const [cols, rows] of [[60, 20], [160, 48]] as const) {
    const session = `n${cols}`;
    tmux('new-session', '-d', '-s', session, '-x', String(cols), '-y', String(rows), nsqCommand(['top', ...https.map((h) => `--nsqd-http-address=${h}`), '--interval=200ms']));
    await tmux.screenWith(session, /^flow /m, FIRST_FRAME_MS);
    tmux('send-keys', '-t', session, 'n');
    // at 60 columns the version, uptime and memory give way to health, topics and clients
    const nodes = await tmux.screenWith(session, (s) => https.every((h) => new RegExp(`^${esc(h)} +(1\\.3\\.0 +)?OK +`, 'm').test(s)));
    t.pass(`${cols}x${rows}: the nodes screen lists both nodes, up and OK`);
    if (cols >= 160) t.match(nodes, new RegExp(`^${esc(https[0]!)} +1\\.3\\.0 +OK +\\d+s `, 'm'), 'with version and uptime at 160 columns');
    if (cols >= 160) t.match(nodes, new RegExp(`^${esc(https[0]!)} .* [\\d.]+[kMG]?B rss`, 'm'), 'with their memory');
    writeFileSync(join(ARTIFACTS, `top-nodes-${cols}x${rows}.txt`), tmux('capture-pane', '-t', session, '-p', '-e'));
    tmux('send-keys', '-t', session, 'Escape');
    await tmux.screenWith(session, /^TOPIC \/ CHANNEL/m);
    tmux('send-keys', '-t', session, 'Enter');
    const topic = await tmux.screenWith(session, (s) => /on 2 nodes/.test(s) && https.every((h) => new RegExp(`^${esc(h)} +[\\d.]+k? `, 'm').test(s)));
    t.pass(`${cols}x${rows}: the topic screen has a line for each of its two nodes`);
    t.match(topic, /^CHANNEL/m, 'and its channels beneath');
    writeFileSync(join(ARTIFACTS, `top-topic-${cols}x${rows}.txt`), tmux('capture-pane', '-t', session, '-p', '-e'));
    tmux('send-keys', '-t', session, 'Enter');
    const charts = overviewChartRows(rows);
    const channel = await tmux.screenWith(session, (s) => s.includes(remote) && /^depth /m.test(s), 10_000);
    const lines = channel.split('\n');
    const title = lines.findIndex((l) => /^depth /.test(l));
    t.ok(lines.slice(title + 1, title + 1 + charts).every((l) => /^[\u2800-\u28ff]+( {2}[\u2800-\u28ff]+){3} *$/.test(l)), `${cols}x${rows}: ${charts} rows of four charts side by side`);
    // CLIENT, then HOST where there is room, then ADDRESS
    t.match(channel, new RegExp(`^\\S+ +(\\S+ +)?${esc(remote)} `, 'm'), `${cols}x${rows}: the consumer's row by its remote address`);
    t.match(channel, new RegExp(`@.* · ${esc(remote)} → ${esc(https[0]!.replace(/:\d+$/, ''))}`), 'and in full above the table');
    if (cols >= 160) t.match(channel, /flow-worker\/1\.0.*snappy/, 'its user agent and snappy, at 160 columns');
    writeFileSync(join(ARTIFACTS, `top-channel-${cols}x${rows}.txt`), tmux('capture-pane', '-t', session, '-p', '-e'));
  }
});

// `nsq top` on two replicating `nsq serve --durable` processes (A copies to B): what a person sees
// as the replica is killed (A degraded, refusing) and restarted (in sync again), and as A is killed
// and B takes its topics over: in `--once` output, and in a real terminal (tmux) with NO_COLOR.

import t, { type Test } from 'tap';
import { BIN, spawnNsq, tempDir } from '../helpers/nsqd.js';
import { api, inSync, kill9, serve, waitFor, type Node } from '../helpers/replication.js';
import { tmuxServer } from '../helpers/tmux.js';

/** B (a replica only) and A copying to it with factor 2, A in sync. */
async function pair(t: Test): Promise<{ a: Node; b: Node }> {
  const b = await serve(t, tempDir(t), ['--replica-name=B']);
  const a = await serve(t, tempDir(t), ['--replica-name=A', `--replica-address=127.0.0.1:${b.tcp}`, '--replication-factor=2']);
  await waitFor('A in sync', () => inSync(a));
  t.equal((await api(a, 'POST', '/pub?topic=jobs', 'x')).status, 200, 'a durable publish, so B holds some bytes');
  return { a, b };
}

/** The same node again, on its TCP and HTTP ports, with its disk. */
const restart = (t: Test, n: Node): Promise<Node> => serve(t, n.dir, [...n.args, `--http-address=127.0.0.1:${n.http}`], n.tcp);

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

t.test('--once: in sync, degraded with the replica killed, in sync again after its restart', async (t) => {
  const nodes = await pair(t);
  const a = nodes.a;
  let b = nodes.b;
  const once = async (): Promise<string> => {
    const p = spawnNsq(t, ['top', '--once', `--nsqd-http-address=127.0.0.1:${a.http}`, `--nsqd-http-address=127.0.0.1:${b.http}`, '--interval=100ms']);
    t.equal((await p.exit).code, 0, 'top --once exits 0');
    return p.stdout();
  };
  const aLine = `node 127.0.0.1:${a.http} (A) repl`;
  const bLine = `node 127.0.0.1:${b.http} (B)`;

  const ok = await once();
  t.match(ok, `\n${aLine} 1/1 ok  lag 0 msgs 0B  ·  replica 127.0.0.1:${b.tcp} in sync\n`, "A's line: 1 of 1 replica in sync");
  t.match(ok, new RegExp(`\\n${escape(bLine)} copy of A following, [1-9]\\d*B\\n`), "B's line: the copy it holds");

  await kill9(b);
  await waitFor('A degraded', async () => !(await inSync(a)));
  const down = await once();
  t.match(down, /^nodes: 1 up, 1 down/);
  t.match(down, `\n${aLine} 0/1 DEGRADED, refusing durable publishes  ·  replica 127.0.0.1:${b.tcp} down, last contact `, 'A says it refuses and why');
  t.match(down, `\nnode 127.0.0.1:${b.http} is down: connection refused\n`);

  b = await restart(t, b);
  await waitFor('A in sync again', () => inSync(a));
  const again = await once();
  t.match(again, `\n${aLine} 1/1 ok  lag 0 msgs 0B  ·  replica 127.0.0.1:${b.tcp} in sync\n`, 'in sync again');
  t.notMatch(again, /DEGRADED|is down/);
});

t.test('in a terminal, NO_COLOR: degraded, in sync again, then A taken over by B', async (t) => {
  const nodes = await pair(t);
  const a = nodes.a;
  let b = nodes.b;
  const tmux = tmuxServer(t);
  const session = 'repl';
  tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '24', `NO_COLOR=1 ${process.execPath} ${BIN} top --nsqd-http-address=127.0.0.1:${a.http} --nsqd-http-address=127.0.0.1:${b.http} --interval=200ms`);
  const aLine = `127.0.0.1:${a.http} (A) repl`;
  const screen = (text: string | RegExp | ((s: string) => boolean)): Promise<string> => tmux.screenWith(session, text, 10_000);

  const ok = await screen(`${aLine} 1/1 ok  lag 0 msgs 0B  ·  replica 127.0.0.1:${b.tcp} in sync`);
  t.match(ok, new RegExp(`127\\.0\\.0\\.1:${b.http} \\(B\\) copy of A following, [1-9]\\d*B`));
  const colours = tmux('capture-pane', '-t', session, '-p', '-e');
  t.notMatch(colours, /\x1b\[[0-9;]*(?:3[0-7]|9[0-7]|38;)[0-9;]*m/, 'NO_COLOR: no colour on screen, the words carry the state');

  await kill9(b);
  // the first poll after the kill may see B's kept-alive connection reset rather than refused
  const degraded = await screen((s) => s.includes(`${aLine} 0/1 DEGRADED, refusing durable publishes`) && s.includes(`127.0.0.1:${b.http} down: connection refused (retrying)`));
  t.match(degraded, `replica 127.0.0.1:${b.tcp} down`);

  b = await restart(t, b);
  await screen(`${aLine} 1/1 ok  lag 0 msgs 0B  ·  replica 127.0.0.1:${b.tcp} in sync`);
  t.pass('back in sync on screen after the replica restarts');

  await kill9(a);
  const taken = await screen('TAKEN OVER by B');
  t.match(taken, `127.0.0.1:${a.http} down: connection refused (retrying)  ·  TAKEN OVER by B`, "A's line: down, and taken over by B (its name remembered)");
  t.match(taken, `127.0.0.1:${b.http} (B) TOOK OVER A (`, "B's line: what it took over");
  tmux('send-keys', '-t', session, 'q');
});

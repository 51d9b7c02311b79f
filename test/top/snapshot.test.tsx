// The dashboard's screen as a person sees it, colours included (level fixed), from a recorded
// Go nsqd /stats answer: a change to what is shown fails here.

import t from 'tap';
import { render, statsFixture } from '../helpers/ink.js';

const { App } = await import('../../src/top/ui/app.js');
const { TopModel } = await import('../../src/top/model.js');
const { Poller } = await import('../../src/top/poller.js');

const fixture = () => statsFixture('go-nsqd-1.3');

t.test('main screen and consumer screen, with colours', async (t) => {
  const model = new TopModel();
  // never started: snapshots are fed by hand so the screen is the same on every run
  const poller = new Poller(['10.0.0.1:4151'], 60_000);
  const ui = render(<App model={model} poller={poller} />);
  t.teardown(() => ui.unmount());
  const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 30));
  await tick();
  const next = fixture();
  next.topics![0]!.message_count += 100;
  next.topics![0]!.channels[0]!.message_count += 100;
  next.topics![0]!.channels[0]!.requeue_count += 10;
  next.topics![0]!.channels[1]!.message_count += 100;
  next.topics![0]!.channels[1]!.depth += 100;
  poller.onSnapshot({ at: 1_700_000_160_000, nodes: [{ address: '10.0.0.1:4151', ok: true, stats: fixture() }, { address: '10.0.0.2:4151', ok: false, error: 'connection refused' }] });
  poller.onSnapshot({ at: 1_700_000_161_000, nodes: [{ address: '10.0.0.1:4151', ok: true, stats: next }, { address: '10.0.0.2:4151', ok: false, error: 'connection refused' }] });
  await tick();
  const main = ui.lastFrame()!;
  t.match(main, '\x1b[31m', 'red for the node that is down');
  t.match(main, /\x1b\[2m[^\n]*└ audit/, 'the paused channel is dim');
  t.match(main, /\x1b\[33m[^\n]*└ billing/, 'requeues make the channel yellow');
  t.matchSnapshot(main, 'main screen');
  ui.stdin.write('j');
  await tick();
  ui.stdin.write('j');
  await tick();
  ui.stdin.write('\r');
  await tick();
  t.matchSnapshot(ui.lastFrame(), 'consumers of orders/billing');
});

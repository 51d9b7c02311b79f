// The topic screen of a durable topic says what its journal retains (docs/retention.md): the
// oldest retained publish time over the topic's nodes and their bytes, from /stats' retained_from
// and retained_bytes; a Go nsqd's topic, which has neither, shows no such line.

import t from 'tap';
import { render, statsFixture } from '../helpers/ink.js';
import type { Teardown } from '../helpers/nsqd.js';

const { App } = await import('../../src/top/ui/app.js');
const { TopModel } = await import('../../src/top/model.js');
const { Poller } = await import('../../src/top/poller.js');
const { age } = await import('../../src/top/format.js');

const NOW = Date.parse('2026-12-03T12:00:00Z');
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 30));

async function topicScreen(t: Teardown, retained: boolean): Promise<string> {
  const model = new TopModel();
  const poller = new Poller(['10.0.0.1:4151', '10.0.0.2:4151'], 60_000);
  const ui = render(<App model={model} poller={poller} />);
  t.teardown(() => ui.unmount());
  await tick();
  const a = statsFixture('go-nsqd-1.3');
  const b = statsFixture('go-nsqd-1.3');
  if (retained) {
    // two nodes: the older start and the sum of the bytes are the topic's
    Object.assign(a.topics![0]!, { retention_ms: 86_400_000, retention_size: 0, retained_from: NOW - 2 * 3600_000 - 13 * 60_000, retained_bytes: 1_500_000 });
    Object.assign(b.topics![0]!, { retention_ms: 86_400_000, retention_size: 0, retained_from: NOW - 3600_000, retained_bytes: 500_000 });
  }
  poller.onSnapshot({ at: NOW, nodes: [{ address: '10.0.0.1:4151', ok: true, stats: a }, { address: '10.0.0.2:4151', ok: true, stats: b }] });
  // waits on what the screen shows, not on a fixed time: a loaded machine draws later (CI failed once)
  await shows(ui, 'TOPIC / CHANNEL');
  ui.stdin.write('\r');
  return shows(ui, 'channels (Enter: consumers, Esc: back)');
}

async function shows(ui: { lastFrame: () => string | undefined }, text: string): Promise<string> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const f = ui.lastFrame() ?? '';
    if (f.includes(text) || Date.now() > deadline) return f;
    await tick();
  }
}

t.test('a durable topic: retained bytes and since when, over its nodes', async (t) => {
  const frame = await topicScreen(t, true);
  t.match(frame, 'retained: 2.0MB of journal since 2026-12-03 09:47:00 UTC (2h13m ago)');
});

t.test('a Go nsqd topic: no retained line', async (t) => {
  const frame = await topicScreen(t, false);
  t.notMatch(frame, 'retained:');
  t.match(frame, 'channels (Enter: consumers, Esc: back)', 'it is the topic screen');
});

t.test('age', async (t) => {
  t.equal(age(5_000), '5s');
  t.equal(age(4 * 60_000 + 5000), '4m');
  t.equal(age(2 * 3600_000), '2h');
  t.equal(age(26 * 3600_000), '1d2h');
});

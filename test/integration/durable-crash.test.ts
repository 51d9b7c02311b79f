// Durable mode under kill -9: publishers on several connections (PUB, MPUB, DPUB), a consumer that
// FINs most messages and requeues the rest, the server killed with SIGKILL at random moments several
// times in a row and restarted on the same data path. At the end every message whose publish was
// answered OK and that was never FINed must be delivered. Bigger runs: `npm run bench -- --only crash`.

import t from 'tap';
import { runCrashRounds } from '../../bench/durable-crash.js';
import { tempDir } from '../helpers/nsqd.js';

t.test('kill -9 at random moments never loses an acknowledged, unfinished message', async (t) => {
  const dir = tempDir(t, 'nsq-durable-crash-');
  const r = await runCrashRounds({ dataPath: dir, rounds: 4, roundMs: [300, 900], publishers: 4, teardown: (fn) => t.teardown(fn) });
  t.ok(r.acked > 500, `publishes were acknowledged across the rounds (${r.acked})`);
  t.ok(r.finished > 100, `a good part was FINed (${r.finished})`);
  t.ok(r.unfinishedAtCrash > 0, `some acknowledged messages were unfinished when the server was killed (${r.unfinishedAtCrash})`);
  t.same(r.neverDelivered, [], 'every acknowledged message was delivered at least once');
  t.same(r.lost, [], 'every acknowledged, never-FINed message came back after the last restart');
  t.equal(r.kills, 4, 'the server was killed with SIGKILL four times');
});

t.test('the control: plain mode loses acknowledged messages under the same kill -9 (so the check above can fail)', async (t) => {
  const dir = tempDir(t, 'nsq-plain-crash-');
  const r = await runCrashRounds({ dataPath: dir, rounds: 2, roundMs: [300, 500], publishers: 4, durable: false, teardown: (fn) => t.teardown(fn) });
  t.ok(r.acked > 100, `publishes were acknowledged (${r.acked})`);
  t.ok(r.lost.length > 0, `plain mode lost acknowledged, unfinished messages (${r.lost.length} or more)`);
});

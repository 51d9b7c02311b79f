// The lag in messages behind a replica's last confirmed commit (src/nsqd/commit-counts.ts): exact
// while the commits are remembered, pruned below what every replica confirmed, and a lower bound
// once more than its limit of commits went unconfirmed.

import t from 'tap';
import { CommitCounts } from '../../src/nsqd/commit-counts.js';

t.test('records after a confirmed commit', async (t) => {
  const c = new CommitCounts();
  t.equal(c.after(0), 0, 'nothing committed: no lag');
  c.add(2, 5, 0);
  c.add(3, 1, 0);
  c.add(7, 10, 0);
  t.equal(c.after(0), 16, 'confirmed nothing: everything');
  t.equal(c.after(2), 11);
  t.equal(c.after(5), 10, 'a commit between counted ones (one without records) counts as the one before');
  t.equal(c.after(7), 0);
  t.equal(c.after(99), 0);
  // every replica confirmed 3: entries below go, the answers stay the same
  c.add(8, 4, 3);
  t.equal(c.after(3), 14);
  t.equal(c.after(7), 4);
  t.equal(c.total, 20);
});

t.test('a replica that never confirms: at most 100,000 commits remembered, a lower bound after that', async (t) => {
  const c = new CommitCounts();
  for (let seq = 2; seq < 250_002; seq++) c.add(seq, 1, 0);
  t.equal(c.after(250_000), 1);
  t.equal(c.after(200_000), 50_001, 'exact within the window');
  const bound = c.after(0);
  t.ok(bound >= 99_999 && bound < 250_000, `beyond it, a lower bound (${bound} of 250,000)`);
});

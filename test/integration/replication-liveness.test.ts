// A live origin is never taken for a lost one (docs/replication.md, Failover), also with a short
// --failover-timeout: not by a replica that comes back after a long outage (the origin calls again
// in time), nor by one that was SIGSTOPped itself (its own standstill is not the origin's silence).
// The idle-link case is in replication.test.ts.

import { setTimeout as delay } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { tempDir } from '../helpers/nsqd.js';
import { inSync, kill9, publishMix, serve, stats, waitFor, type Node } from '../helpers/replication.js';

/** A on B, in sync, with unfinished messages (deferred for a minute). */
async function pair(t: Test): Promise<{ a: Node; b: Node; bDir: string }> {
  const bDir = tempDir(t);
  const b = await serve(t, bDir, ['--replica-name=B']);
  const a = await serve(t, tempDir(t), ['--replica-name=A', `--replica-address=127.0.0.1:${b.tcp}`, '--replication-factor=2']);
  await waitFor('A in sync with B', () => inSync(a));
  await publishMix(t, a, 'live', 'm', 20, 60_000);
  return { a, b, bDir };
}

/** Polls B for `ms`: how often it showed a takeover, and how many messages it took over at the end. */
async function watchTakeovers(b: Node, ms: number): Promise<{ seen: number; taken: number }> {
  let seen = 0;
  let taken = 0;
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const r = (await stats(b).catch(() => null))?.replication;
    if (r !== undefined) {
      if (r.mirrors.some((m) => m.state !== 'following')) seen++;
      taken = r.taken_over_messages;
    }
    await delay(100);
  }
  return { seen, taken };
}

t.test('a replica back after a long outage hears from its origin within the failover timeout: no takeover', async (t) => {
  const { a, b, bDir } = await pair(t);
  await kill9(b);
  // A's reconnect back-off grows meanwhile (it doubled up to 5 s: B came back, A called later than B's timeout)
  await delay(4000);
  const b2 = await serve(t, bDir, ['--replica-name=B'], b.tcp);
  const w = await watchTakeovers(b2, 3000);
  t.ok(await inSync(a), 'A is in sync with B again');
  t.equal(w.taken, 0, 'B took none of the live origin A over');
  t.equal(w.seen, 0, 'B never showed a takeover of A');
});

t.test('a replica SIGSTOPped past the failover timeout does not take its live origin over when it resumes', async (t) => {
  const { a, b } = await pair(t);
  b.proc.child.kill('SIGSTOP');
  await delay(2500);
  b.proc.child.kill('SIGCONT');
  const w = await watchTakeovers(b, 3000);
  await waitFor('A in sync with B again', () => inSync(a));
  t.equal(w.taken, 0, 'B took none of A over: it was B that stood still, not A');
  t.equal(w.seen, 0, 'B never showed a takeover of A');
});

// Fault injection against 3 `nsq serve --durable` in a replication ring (A→B→C→A, R=2) with 2
// lookupds, publishers counting every OK (PUB, MPUB, DPUB, HTTP) and consumers through lookupd
// FINing: kill -9 with the disk lost, kill -9 and back with the disk, SIGSTOP past the failover
// timeout, the replication link cut. After every round no acknowledged message is undelivered;
// duplicates and failover times are reported. The controls (plain, durable without replication)
// must lose under the same kill -9 + rm -rf, or the check could not see a loss.
// The long run: `npm run bench -- --only replication-faults` (bench/replication-faults.ts).

import t, { type Test } from 'tap';
import { describeSummary, runReplicationFaults, summarize, type FaultsResult, type Round } from '../../bench/replication-faults.js';

const FAILOVER_MS = 1000;
const SHORT = { failoverMs: FAILOVER_MS, loadMs: 1200, afterMs: 500, pauseMs: 2, drainTimeoutMs: 20_000 };

function report(t: Test, r: FaultsResult): void {
  t.comment(`${r.acked} acknowledged, ${r.refused} refused, ${r.unknown} unanswered; ${r.deliveries} deliveries, ${r.duplicates} duplicates; ${r.lost} lost; ${r.seconds.toFixed(1)} s (${r.startSeconds.toFixed(1)} s to start the cluster)`);
}

t.test('3 nodes in a ring, 4 kinds of fault: no acknowledged message is lost', async (t) => {
  const rounds: Round[] = [
    { fault: 'wipe', node: 0 },
    { fault: 'restart', node: 1 },
    { fault: 'stop', node: 2 },
    { fault: 'cut', node: 0 },
  ];
  const r = await runReplicationFaults({ mode: 'replicated', rounds, proxiedLink: 0, ...SHORT, teardown: t, log: (line) => t.comment(line) });
  for (const [k, round] of r.rounds.entries()) {
    const what = `round ${k + 1} (${round.fault} ${round.node})`;
    t.ok(round.acked > 100, `${what}: publishes were acknowledged (${round.acked})`);
    t.same(round.lostBodies, [], `${what}: acknowledged and never delivered: none (${round.lost}; the cluster held ${round.heldAtEnd})`);
    t.equal(round.refusedDelivered, 0, `${what}: no refused publish was delivered`);
    if (round.fault !== 'wipe') t.not(round.takeoverMs, null, `${what}: ${round.replica} took ${round.node} over (after ${round.takeoverMs} ms)`);
    // every duplicate is a message delivered again by a replica that took it over (or by a node
    // restored from one), or one in flight when the node failed: a node that comes back must not
    // deliver what was taken, and a live node must not be taken over
    const bound = round.takenOver + round.restored + round.inFlightAtFault;
    t.ok(round.duplicates <= bound, `${what}: ${round.duplicates} duplicates, at most the ${bound} taken over, restored or in flight`);
  }
  for (const s of summarize(r.rounds)) t.comment(describeSummary(s));
  t.equal(r.lost, 0, 'at the end: acknowledged and never delivered: none');
  // a publisher blocked on a node whose replica is gone is answered once the replica is back, or not at all
  t.ok(r.refused + r.unknown > 0, `publishes were refused (${r.refused}) or left unanswered (${r.unknown}) while a node had no replica in sync`);
  report(t, r);
});

// the controls: the same fault must show a loss, or the checks above prove nothing
for (const mode of ['plain', 'durable'] as const) {
  t.test(`control: ${mode === 'plain' ? 'plain nodes' : '--durable without replication'} lose acknowledged messages to kill -9 + rm -rf`, async (t) => {
    const r = await runReplicationFaults({ mode, rounds: [{ fault: 'wipe', node: 0 }], ...SHORT, drainTimeoutMs: 5000, teardown: t, log: (line) => t.comment(line) });
    t.ok(r.acked > 100, `publishes were acknowledged (${r.acked})`);
    t.ok(r.lost > 0, `acknowledged and never delivered: ${r.lost} (the check sees a loss)`);
    report(t, r);
  });
}

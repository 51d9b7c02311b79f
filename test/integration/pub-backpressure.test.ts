// `nsq pub` fed without end while its nsqd is stopped (a real `nsq serve`, SIGSTOPped after the
// first message arrived): over TCP it stops reading its input once the connection holds
// WRITE_HIGH_WATER, well before its 16 MiB unacknowledged limit; after SIGCONT every record
// arrives and it exits 0. The control is the same run over --http, where only that limit holds
// the reading back: the measurement sees pub read 16 MiB.

import t from 'tap';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { serverPorts, spawnNsq, type Teardown } from '../helpers/nsqd.js';
import { topicOn } from '../helpers/cli-cluster.js';
import { waitFor } from '../helpers/stats.js';

const MiB = 1024 * 1024;
const LINE = Buffer.from('a'.repeat(64 * 1024 - 1) + '\n');
/** how long pub must take no more input to count as stalled (waiting for nothing to happen) */
const STALL_MS = 1500;
/** pub's unacknowledged limit (DEFAULTS.highWaterBytes in src/tools/pub.ts) */
const PENDING_LIMIT = 16 * MiB;

/** Feeds pub until it stops taking input while nsqd is stopped; returns how much it took. */
async function stalledPub(t: Teardown, over: 'tcp' | 'http'): Promise<{ taken: number; lines: number }> {
  const serve = spawnNsq(t, ['serve', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--mem-queue-size=100000']);
  const ports = await serverPorts(serve);
  const node = `127.0.0.1:${ports.http}`;
  const pid = serve.child.pid!;
  const target = over === 'tcp' ? [`--nsqd-tcp-address=127.0.0.1:${ports.tcp}`] : ['--http', `--nsqd-http-address=${node}`];
  const pub = spawnNsq(t, ['pub', `--topic=${over}`, ...target], { open: true });
  const stdin = pub.child.stdin!;
  // connected and publishing before the stop
  stdin.write(LINE);
  let lines = 1;
  await waitFor('the first record at nsqd', async () => ((await topicOn(node, over))?.message_count ?? 0) >= 1, 10_000);
  process.kill(pid, 'SIGSTOP');
  let stopped = true;
  t.teardown(() => {
    if (stopped) process.kill(pid, 'SIGCONT');
  });
  let taken = LINE.length;
  for (;;) {
    lines++;
    taken += LINE.length;
    if (stdin.write(LINE)) continue;
    const r = await Promise.race([once(stdin, 'drain').then(() => 'drained' as const), sleep(STALL_MS, 'stalled' as const)]);
    if (r === 'stalled') break;
    if (taken > 4 * PENDING_LIMIT) break;
  }
  process.kill(pid, 'SIGCONT');
  stopped = false;
  stdin.end();
  const exit = await pub.exit;
  if (exit.code !== 0) throw new Error(`pub exited ${exit.code}: ${pub.stderr()}`);
  const count = (await topicOn(node, over))?.message_count;
  if (count !== lines) throw new Error(`nsqd has ${count} of ${lines} records`);
  return { taken, lines };
}

t.test('over TCP, pub stops reading at the connection bound while nsqd is stopped; all arrive after SIGCONT', async (t) => {
  const { taken, lines } = await stalledPub(t, 'tcp');
  // WRITE_HIGH_WATER (1 MiB) and the kernel's socket and pipe buffers (~3.5 MiB here)
  t.ok(taken < PENDING_LIMIT * 0.75, `pub took ${(taken / MiB).toFixed(1)} MiB before it stopped reading`);
  t.pass(`pub exited 0 and nsqd has all ${lines} records`);
});

t.test('control: over --http only the unacknowledged limit holds pub back, and the measurement sees it', async (t) => {
  const { taken, lines } = await stalledPub(t, 'http');
  t.ok(taken >= PENDING_LIMIT, `pub took ${(taken / MiB).toFixed(1)} MiB before it stopped reading`);
  t.pass(`pub exited 0 and nsqd has all ${lines} records`);
});

// Durable dead letters with replication (docs/dead-letters.md, "Start (recovery), and a replica's
// takeover"): the move record replicates as journal bytes, and a replica that takes over a lost
// origin delivers the moved messages from the dead-letter topic only, never again at their source.

import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Consumer } from '../../src/client/consumer.js';
import { tempDir } from '../helpers/nsqd.js';
import { api, consumeFor, inSync, kill9, serve, stats, tookOver, waitFor } from '../helpers/replication.js';

t.test('kill -9 and a deleted data path after moves: the replica delivers them from orders.dead, none at orders', async (t) => {
  const b = await serve(t, tempDir(t), ['--replica-name=B']);
  const a = await serve(t, tempDir(t), ['--replica-name=A', `--replica-address=127.0.0.1:${b.tcp}`, '--replication-factor=2', '--max-attempts=1']);
  await waitFor('A in sync with B', () => inSync(a));
  for (const path of ['/topic/create?topic=orders', '/channel/create?topic=orders&channel=work', '/topic/create?topic=orders.dead', '/channel/create?topic=orders.dead&channel=ops']) {
    t.equal((await api(a, 'POST', path)).status, 200, path);
  }
  const bodies = Array.from({ length: 8 }, (_, i) => `m${i}`);
  t.equal((await api(a, 'POST', '/mpub?topic=orders', bodies.join('\n'))).status, 200);
  const c = new Consumer({ topic: 'orders', channel: 'work', nsqdTcpAddresses: [`127.0.0.1:${a.tcp}`], maxInFlight: 4, autoFinish: false, maxBackoff: 0 }, (m) => m.requeue(0));
  c.events.error = () => {};
  t.teardown(() => c.stop(100));
  await c.start();
  const moved = async (): Promise<number> => (await stats(a)).topics?.find((x) => x.topic_name === 'orders')?.channels.find((x) => x.channel_name === 'work')?.dead_lettered_count ?? 0;
  await waitFor('all moved on A', async () => (await moved()) === 8);
  await c.stop();
  // the acks of the moves reach B with the next commit
  await api(a, 'POST', '/pub?topic=other', 'x');
  await kill9(a);
  rmSync(a.dir, { recursive: true, force: true });
  // B's copy without the source channel's acks (as if they had not reached it): only the move
  // records can keep the takeover from delivering at the source (done inside the 1 s failover timeout)
  const acks = (readdirSync(b.dir, { recursive: true }) as string[]).filter((f) => /(^|\/)orders:work\.acks\.\d+\.dat$/.test(f));
  t.ok(acks.length > 0, `B's copy has the source channel's acks (${acks.join(', ')})`);
  for (const f of acks) rmSync(join(b.dir, f));

  await waitFor('B takes over', () => tookOver(b), 10_000);
  t.same(await consumeFor(t, b, 'orders', 'work', 800), [], 'B delivers none of them at the source channel');
  t.same((await consumeFor(t, b, 'orders.dead', 'ops', 800)).sort(), bodies, 'B delivers each from the dead-letter topic');
});

// Durable dead letters under kill -9 (docs/dead-letters.md, "Durable mode"): `nsq serve --durable
// --max-attempts=2`, publishers answered OK, a consumer (our client) that REQs everything so every
// message moves to <topic>.dead, a dead-letter consumer (nsqjs) that FINs; the server is killed with
// SIGKILL at random moments and restarted on the same data path. At the end every acknowledged
// message reached the dead-letter topic (none lost), and no message was delivered at its source
// after the dead-letter topic had delivered it (a move on disk is never undone). The control runs
// the same loop in plain mode and must lose messages, so the check can see a loss.

import { once } from 'node:events';
import nsq from 'nsqjs';
import type { Message as NsqjsMessage } from 'nsqjs';
import t from 'tap';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { serverPorts, spawnNsq, tempDir, type Spawned, type Teardown } from '../helpers/nsqd.js';
import { delay, type TopicJson } from '../helpers/stats.js';

interface Run {
  acked: Set<string>;
  /** bodies the dead-letter consumer got (and FINed) */
  dead: Set<string>;
  /** bodies the source delivered after the dead-letter topic had delivered them */
  sourceAfterDead: string[];
  kills: number;
  /** kills that came while the source channel still held messages (moves under way) */
  killedWhileMoving: number;
  /** moves counted by the source channel in the final run */
  deadLettered: number;
}

const TOPIC = 'work';

async function depths(http: number): Promise<{ source: number; dead: number }> {
  const res = await fetch(`http://127.0.0.1:${http}/stats?format=json`, { signal: AbortSignal.timeout(5000) });
  const topics = ((await res.json()) as { topics: TopicJson[] | null }).topics ?? [];
  const held = (name: string, ch: string): number => {
    const c = topics.find((x) => x.topic_name === name)?.channels.find((x) => x.channel_name === ch);
    return c === undefined ? -1 : c.depth + c.in_flight_count + c.deferred_count;
  };
  return { source: held(TOPIC, 'c'), dead: held(`${TOPIC}.dead`, 'd') };
}

async function crashLoop(t: Teardown, o: { durable: boolean; rounds: number }): Promise<Run> {
  const dir = tempDir(t, 'nsq-dead-crash-');
  const args = ['serve', `--data-path=${dir}`, '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--max-attempts=2', ...(o.durable ? ['--durable'] : [])];
  const run: Run = { acked: new Set(), dead: new Set(), sourceAfterDead: [], kills: 0, killedWhileMoving: 0, deadLettered: 0 };
  let seq = 0;
  for (let round = 0; round <= o.rounds; round++) {
    const last = round === o.rounds;
    const proc: Spawned = spawnNsq(t, args);
    const { tcp, http } = await serverPorts(proc);
    const addr = `127.0.0.1:${tcp}`;
    if (round === 0) {
      for (const path of [`/topic/create?topic=${TOPIC}`, `/channel/create?topic=${TOPIC}&channel=c`, `/topic/create?topic=${TOPIC}.dead`, `/channel/create?topic=${TOPIC}.dead&channel=d`]) {
        await fetch(`http://127.0.0.1:${http}${path}`, { method: 'POST' });
      }
    }
    const source = new Consumer({ topic: TOPIC, channel: 'c', nsqdTcpAddresses: [addr], maxInFlight: 4, autoFinish: false, maxBackoff: 0 }, (m) => {
      const body = m.body.toString();
      if (run.dead.has(body)) run.sourceAfterDead.push(body);
      m.requeue(0);
    });
    source.events.error = () => {};
    const reader = new nsq.Reader(`${TOPIC}.dead`, 'd', { nsqdTCPAddresses: [addr], maxInFlight: 50 });
    reader.on('error', () => {});
    reader.on('message', (m: NsqjsMessage) => {
      run.dead.add(m.body.toString());
      m.finish();
    });
    const ready = once(reader, 'ready');
    reader.connect();
    await ready;
    await source.start();
    // publishers until the kill: only what was answered OK counts
    let publishing = !last;
    const producer = new Producer(addr);
    const pub = (async () => {
      while (publishing) {
        const batch = Array.from({ length: 40 }, () => `m-${seq++}`);
        try {
          await producer.mpublish(TOPIC, batch);
        } catch {
          return;
        }
        for (const b of batch) run.acked.add(b);
        await delay(15);
      }
    })();
    if (!last) {
      await delay(250 + Math.random() * 500);
      if ((await depths(http)).source > 0) run.killedWhileMoving++;
      proc.child.kill('SIGKILL');
      await proc.exit;
      run.kills++;
      publishing = false;
    } else {
      // the final run: every message moves; done once both channels hold nothing for a while
      const deadline = Date.now() + 15_000;
      let quiet = 0;
      while (Date.now() < deadline && quiet < 3) {
        const d = await depths(http);
        quiet = d.source === 0 && d.dead === 0 ? quiet + 1 : 0;
        await delay(100);
      }
      const res = await fetch(`http://127.0.0.1:${http}/stats?format=json&topic=${TOPIC}`);
      const topics = ((await res.json()) as { topics: TopicJson[] | null }).topics ?? [];
      run.deadLettered = topics[0]?.channels.find((c) => c.channel_name === 'c')?.dead_lettered_count ?? 0;
      proc.child.kill('SIGTERM');
      await proc.exit;
    }
    await pub;
    await producer.close().catch(() => {});
    await source.stop(100).catch(() => {});
    reader.close();
  }
  return run;
}

const missing = (r: Run): string[] => [...r.acked].filter((b) => !r.dead.has(b));

t.test('kill -9 while messages move to <topic>.dead: every acknowledged message ends in the dead-letter topic, none goes back', async (t) => {
  const r = await crashLoop(t, { durable: true, rounds: 5 });
  t.equal(r.kills, 5, 'killed with SIGKILL five times');
  t.ok(r.acked.size > 300, `publishes were acknowledged across the rounds (${r.acked.size})`);
  t.ok(r.killedWhileMoving > 0, `some kills came while the source still held messages to move (${r.killedWhileMoving} of ${r.kills})`);
  t.ok(r.deadLettered > 0, `the last run moved messages too (${r.deadLettered})`);
  t.same(missing(r).slice(0, 20), [], `no acknowledged message is missing from the dead-letter topic (${missing(r).length} missing)`);
  t.same(r.sourceAfterDead.slice(0, 20), [], 'no message was delivered at its source after the dead-letter topic delivered it');
});

t.test('the control: plain mode, the same loop, loses acknowledged messages (so the check above can see a loss)', async (t) => {
  const r = await crashLoop(t, { durable: false, rounds: 2 });
  t.ok(r.acked.size > 100, `publishes were acknowledged (${r.acked.size})`);
  t.ok(missing(r).length > 0, `plain mode lost acknowledged messages (${missing(r).length} of ${r.acked.size})`);
});

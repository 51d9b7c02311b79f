// A producer against a stopped nsqd (a real `nsq serve`, SIGSTOPped): the client honours the
// socket's backpressure and says when it is full, so a publisher that waits for whenWritable()
// holds a bounded amount however much it has to send; after SIGCONT everything is acknowledged.
// The control publishes without waiting and shows the same measurement seeing the growth.

import t from 'tap';
import { randomBytes } from 'node:crypto';
import { setImmediate as setImmediateP, setTimeout as sleep } from 'node:timers/promises';
import { Producer } from '../../src/client/producer.js';
import { WRITE_HIGH_WATER } from '../../src/client/connection.js';
import { serverPorts, spawnNsq, type Teardown } from '../helpers/nsqd.js';
import { topicOn } from '../helpers/cli-cluster.js';

const BODY_SIZE = 64 * 1024;
/** far more than loopback's socket buffers (a few MiB each way) take while the server is stopped */
const TOTAL = 320; // 20 MiB
/** how long the producer must make no progress to count as stalled (waiting for nothing to happen) */
const STALL_MS = 1000;

async function stoppedServer(t: Teardown): Promise<{ tcp: number; node: string; stop: () => void; resume: () => void }> {
  const serve = spawnNsq(t, ['serve', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--mem-queue-size=100000']);
  const ports = await serverPorts(serve);
  const pid = serve.child.pid!;
  let stopped = false;
  // a stopped process is killed all the same; SIGCONT first so it can exit normally if asked
  t.teardown(() => {
    if (stopped) process.kill(pid, 'SIGCONT');
  });
  return {
    tcp: ports.tcp,
    node: `127.0.0.1:${ports.http}`,
    stop: () => {
      process.kill(pid, 'SIGSTOP');
      stopped = true;
    },
    resume: () => {
      process.kill(pid, 'SIGCONT');
      stopped = false;
    },
  };
}

for (const mode of ['plain', 'deflate'] as const) {
  // random bodies: deflate cannot shrink them below what the socket buffers take
  const bodies = Array.from({ length: TOTAL }, () => randomBytes(BODY_SIZE));
  const transport = mode === 'deflate' ? { deflate: true } : {};

  t.test(`${mode}: waiting for whenWritable, a stopped nsqd costs at most WRITE_HIGH_WATER and a message; all arrive after SIGCONT`, async (t) => {
    const server = await stoppedServer(t);
    const topic = `bp_${mode}`;
    const producer = new Producer(`127.0.0.1:${server.tcp}`, transport);
    await producer.connect();
    server.stop();
    const acks: Promise<void>[] = [];
    let peak = 0;
    let stalledAt = -1;
    for (let i = 0; i < TOTAL; i++) {
      if (!producer.writable) {
        const waited = await Promise.race([producer.whenWritable().then(() => 'writable' as const), sleep(STALL_MS, 'stalled' as const)]);
        if (waited === 'stalled') {
          stalledAt = i;
          break;
        }
      }
      acks.push(producer.publish(topic, bodies[i]!));
      peak = Math.max(peak, producer.bufferedBytes);
    }
    t.ok(stalledAt > 0 && stalledAt < TOTAL, `the stopped server stalled the producer (after ${stalledAt} of ${TOTAL} messages)`);
    t.ok(peak <= WRITE_HIGH_WATER + BODY_SIZE, `buffered at most WRITE_HIGH_WATER + one message (peak ${peak} bytes)`);
    t.ok(producer.bufferedBytes <= WRITE_HIGH_WATER + BODY_SIZE, `and so while stopped (${producer.bufferedBytes} bytes)`);

    server.resume();
    for (let i = stalledAt; i < TOTAL; i++) {
      if (!producer.writable) await producer.whenWritable();
      acks.push(producer.publish(topic, bodies[i]!));
      peak = Math.max(peak, producer.bufferedBytes);
    }
    await Promise.all(acks);
    t.ok(peak <= WRITE_HIGH_WATER + BODY_SIZE, `still bounded after SIGCONT (peak ${peak} bytes)`);
    t.equal((await topicOn(server.node, topic))?.message_count, TOTAL, 'nsqd has every message');
    await producer.close();
  });

  t.test(`${mode} control: publishing without waiting, the same measurement sees the buffer grow while nsqd is stopped`, async (t) => {
    const server = await stoppedServer(t);
    const topic = `bp_control_${mode}`;
    const producer = new Producer(`127.0.0.1:${server.tcp}`, transport);
    await producer.connect();
    server.stop();
    const acks = bodies.map((b) => producer.publish(topic, b));
    // the batches go to the connection, and from it to the socket, in the next two turns
    await setImmediateP();
    await setImmediateP();
    const buffered = producer.bufferedBytes;
    t.ok(buffered > 8 * WRITE_HIGH_WATER, `well past the bound: ${buffered} bytes buffered`);
    t.equal(producer.writable, false, 'and the producer says so');
    server.resume();
    await Promise.all(acks);
    t.equal((await topicOn(server.node, topic))?.message_count, TOTAL, 'nothing lost either way');
    await producer.close();
  });
}

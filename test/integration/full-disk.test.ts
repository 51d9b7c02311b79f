// A full disk for real: `nsq serve` on a 4 MiB tmpfs (1 MiB files, so reading 500 messages
// frees nothing) in a mount namespace (unshare -rm), filled by
// publishers until the disk refuses, consumed while full, restarted, then given space back.
// Guards the promises: no crash, no acknowledged message lost, no errored publish delivered,
// /ping NOK while full and OK again once space is freed without anyone publishing.

import { spawnSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import t from 'tap';
import { Connection, type Message } from '../../src/client/connection.js';
import { serverPorts, spawnNsq, tempDir, type Spawned } from '../helpers/nsqd.js';

type Test = { teardown(fn: () => unknown): void };

const probe = spawnSync('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs /mnt 2>/dev/null || mount -t tmpfs -o size=1m tmpfs /tmp'], { stdio: 'ignore' });
const nsenter = spawnSync('nsenter', ['--version'], { stdio: 'ignore' });
const SKIP = probe.status !== 0 ? 'mount namespaces are not allowed here (unshare -rm + mount tmpfs failed)' : nsenter.status !== 0 ? 'nsenter is not installed' : false;

const BODY = Buffer.alloc(1000, 'x');

/** A process holding a mount namespace with a 4 MiB tmpfs at `dir`, 2.5 MB of it taken by `filler`. */
async function holdTmpfs(t: Test, dir: string): Promise<ChildProcess> {
  const script = `mount -t tmpfs -o size=4m tmpfs '${dir}' && head -c 2500000 /dev/zero > '${dir}/filler' && echo ready && exec sleep 600`;
  const holder = spawn('unshare', ['-rm', 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    if (holder.exitCode === null && holder.signalCode === null) holder.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    holder.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    holder.on('exit', (code) => reject(new Error(`the tmpfs holder exited (${code})`)));
  });
  return holder;
}

/** `nsq serve` inside the holder's namespace (same network namespace: ports are reachable). */
async function serveIn(t: Test, holder: ChildProcess, dir: string, durable: boolean): Promise<{ s: Spawned; tcp: number; http: number }> {
  const args = ['serve', `--data-path=${dir}`, '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--mem-queue-size=100', '--max-bytes-per-file=1048576'];
  if (durable) args.push('--durable');
  const s = spawnNsq(t, args, { wrapper: ['nsenter', '-t', String(holder.pid), '-U', '-m', '--preserve-credentials'] });
  const ports = await serverPorts(s);
  return { s, ...ports };
}

async function ping(http: number): Promise<{ status: number; text: string }> {
  const r = await fetch(`http://127.0.0.1:${http}/ping`);
  return { status: r.status, text: await r.text() };
}

async function waitFor(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Publishes numbered 1000-byte messages, 20 in flight per connection, until the disk has refused
 * `refusals` of them; a refused connection (E_PUB_FAILED is fatal) is replaced.
 */
async function fill(tcp: number, acked: Set<string>, errored: Set<string>, refusals: number): Promise<void> {
  let next = 0;
  while (errored.size < refusals) {
    const conn = await Connection.open({ host: '127.0.0.1', port: tcp });
    await new Promise<void>((resolve) => {
      let open = 0;
      let dead = false;
      const one = (): void => {
        if (dead || errored.size >= refusals) {
          if (open === 0) resolve();
          return;
        }
        const body = `m${next++}-`;
        open++;
        conn.publish('full', Buffer.concat([Buffer.from(body), BODY])).then(
          () => {
            acked.add(body);
            open--;
            one();
          },
          (err: unknown) => {
            // E_PUB_FAILED, or pipelined behind it when the connection closed: not acknowledged,
            // so never to be delivered (the server answers every publish it executed, in order)
            errored.add(body);
            dead = true;
            open--;
            if (open === 0) resolve();
          },
        );
      };
      for (let i = 0; i < 20; i++) one();
    });
    conn.close();
  }
}

/** Subscribes with RDY `rdy`; `onMessage` decides what to do with each message. */
async function subscribe(tcp: number, rdy: number, onMessage: (m: Message) => void): Promise<Connection> {
  const conn = await Connection.open({ host: '127.0.0.1', port: tcp });
  conn.events.message = onMessage;
  await conn.subscribe('full', 'c');
  conn.ready(rdy);
  return conn;
}

const name = (m: Message): string => m.body.subarray(0, m.body.indexOf('-') + 1).toString();

/** What a user would count: acknowledged but never delivered, and refused but delivered anyway. */
function audit(acked: Set<string>, errored: Set<string>, delivered: Set<string>): { lost: number; errorsDelivered: number } {
  let lost = 0;
  for (const b of acked) if (!delivered.has(b)) lost++;
  let errorsDelivered = 0;
  for (const b of errored) if (delivered.has(b)) errorsDelivered++;
  return { lost, errorsDelivered };
}

/** Consumes and FINs until `want` distinct messages arrived and nothing more comes for 500 ms. */
async function drain(t: Test, tcp: number, delivered: Set<string>, want: number): Promise<void> {
  let last = Date.now();
  const conn = await subscribe(tcp, 500, (m) => {
    delivered.add(name(m));
    m.finish();
    last = Date.now();
  });
  t.teardown(() => conn.close());
  await waitFor(`${want} messages`, () => delivered.size >= want && Date.now() - last > 500, 15_000);
  conn.close();
}

t.test('the audit sees a lost and an errored-but-delivered message (control)', async (t) => {
  const acked = new Set(['a-', 'b-', 'c-']);
  const errored = new Set(['x-']);
  t.same(audit(acked, errored, new Set(['a-', 'b-', 'c-'])), { lost: 0, errorsDelivered: 0 }, 'all delivered: clean');
  t.same(audit(acked, errored, new Set(['a-', 'c-', 'x-'])), { lost: 1, errorsDelivered: 1 }, 'a consumer that dropped b and got x is caught');
});

for (const durable of [false, true]) {
  const mode = durable ? '--durable' : 'plain mode';
  t.test(`${mode}: a 4 MiB tmpfs filled to the brim`, { skip: SKIP }, async (t) => {
    const dir = tempDir(t, 'nsq-full-');
    const holder = await holdTmpfs(t, dir);
    let srv = await serveIn(t, holder, dir, durable);
    await fetch(`http://127.0.0.1:${srv.http}/channel/create?topic=full&channel=c`, { method: 'POST' });

    const acked = new Set<string>();
    const errored = new Set<string>();
    await fill(srv.tcp, acked, errored, 5);
    t.ok(acked.size > 500, `publishers got OK for ${acked.size} messages before the disk refused`);
    const full = await ping(srv.http);
    t.same([full.status, full.text.slice(0, 14)], [500, 'NOK - ENOSPC: '], `/ping says NOK while the disk is full (${full.text})`);

    // consuming while full: the reads catch up with the writes the disk refused
    const held = new Set<string>();
    const consumer = await subscribe(srv.tcp, 500, (m) => held.add(name(m)));
    t.teardown(() => consumer.close());
    await waitFor('500 deliveries', () => held.size >= 500);
    t.equal(srv.s.child.exitCode, null, 'SUB + RDY 500 on a full disk: the server is still running');
    t.equal((await ping(srv.http)).status, 500, 'and still NOK');

    if (durable) {
      // a restart while the disk is still full: recovery, then RDY again
      consumer.close();
      srv.s.child.kill('SIGTERM');
      const stopped = await srv.s.exit;
      t.equal(stopped.code, 0, 'SIGTERM on a full disk: a clean stop (the journal has everything)');
      srv = await serveIn(t, holder, dir, durable);
      const again = new Set<string>();
      const c2 = await subscribe(srv.tcp, 500, (m) => again.add(name(m)));
      t.teardown(() => c2.close());
      await waitFor('500 deliveries after the restart', () => again.size >= 500);
      t.equal(srv.s.child.exitCode, null, 'restarted on the full disk, RDY 500: still running');
      c2.close();
    }

    // space comes back; nobody publishes: /ping must notice by itself
    rmSync(`/proc/${holder.pid}/root${dir}/filler`);
    await waitFor('/ping OK', async () => (await ping(srv.http)).status === 200);
    t.pass('/ping is OK again after space was freed, without any publish');

    if (!durable) {
      consumer.close();
      srv.s.child.kill('SIGTERM');
      t.equal((await srv.s.exit).code, 0, 'SIGTERM: a clean stop, everything written');
      srv = await serveIn(t, holder, dir, durable);
    }
    const delivered = new Set<string>();
    await drain(t, srv.tcp, delivered, acked.size);
    const { lost, errorsDelivered } = audit(acked, errored, delivered);
    t.equal(lost, 0, `none of the ${acked.size} acknowledged messages is lost`);
    t.equal(errorsDelivered, 0, `none of the ${errored.size} refused publishes is delivered`);
    t.equal(srv.s.child.exitCode, null, 'the server never crashed');
    t.notMatch(srv.s.stderr(), /Uncaught|\n\s+at /, 'no stack trace in the log');
    const left = readdirSync(`/proc/${holder.pid}/root${dir}`).filter((f) => f.endsWith('.tmp'));
    t.same(left, [], 'no temporary metadata files left behind by the refused writes');
    srv.s.child.kill('SIGTERM');
    t.equal((await srv.s.exit).code, 0);
  });
}

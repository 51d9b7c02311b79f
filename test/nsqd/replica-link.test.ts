// An origin's replication link and a replica's session over a real TCP connection: every commit is
// confirmed only once the replica's mirror holds the origin's files byte for byte; a link cut and
// reopened catches up from the replica's STATE (missing data, files removed meanwhile, a longer
// file on the replica: the origin's torn tail); a hostile peer on either end is refused, never crashes.

import { once } from 'node:events';
import { readFileSync, rmSync, truncateSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { AckLog, Journal, channelAckPrefix } from '../../src/nsqd/journal.js';
import { ReplicaLink, listDurableFiles, type LinkState } from '../../src/nsqd/replica-link.js';
import { ReplicaSession, type SessionHost } from '../../src/nsqd/replica-session.js';
import { ReplicaCall } from '../../src/nsqd/replica-call.js';
import { ReplicaMirror, listMirrors } from '../../src/nsqd/replica-mirror.js';
import { encodeJson, encodeSeq, T_CONFIRM, T_FETCH, T_HELLO, T_STATE } from '../../src/protocol/replication.js';
import { Logger } from '../../src/util/log.js';
import { tempDir } from '../helpers/nsqd.js';

const INC = '5eed';

interface Replica {
  server: Server;
  port: number;
  root: string;
  sessions: ReplicaSession[];
  log: string[];
  released: string[];
  /** the `asker` of each listing call (FETCH with incarnation null) */
  askers: (string | undefined)[];
}

async function startReplica(t: Test, root = join(tempDir(t), 'replicas'), failoverMs?: number): Promise<Replica> {
  const log: string[] = [];
  const logger = new Logger('debug', '', (l) => log.push(l));
  const r: Replica = { server: createServer(), port: 0, root, sessions: [], log, released: [], askers: [] };
  const host: SessionHost = {
    root,
    logger,
    selfName: 'replica:1',
    failoverMs,
    opened() {},
    closed() {},
    takenOver: () => null,
    // calls: every copy under `root` of that origin (the engine also holds them back from takeover)
    hold: (_s, origin, incarnation, asker) => {
      r.askers.push(asker);
      return listMirrors(root)
        .filter((m) => m.origin === origin && (incarnation === null || m.incarnation === incarnation))
        .map((m) => {
          const copy = new ReplicaMirror(root, origin, m.incarnation);
          copy.close();
          return { incarnation: m.incarnation, last_contact: copy.state.last_contact, bytes: copy.bytes };
        });
    },
    release: (_s, origin, incarnation) => {
      r.released.push(`${origin}/${incarnation}`);
      new ReplicaMirror(root, origin, incarnation).drop();
    },
  };
  r.server.on('connection', (s: Socket) => r.sessions.push(new ReplicaSession(s, Buffer.alloc(0), host)));
  r.server.listen(0, '127.0.0.1');
  await once(r.server, 'listening');
  r.port = (r.server.address() as { port: number }).port;
  t.teardown(() => {
    for (const s of r.sessions) s.close();
    r.server.close();
  });
  return r;
}

/** A stand-in for the engine's durable side: a journal and an ack log, numbered commits. */
class Origin {
  readonly dir: string;
  readonly journal: Journal;
  readonly acks: AckLog;
  seq = 1;
  id = 0;
  states: LinkState[] = [];
  confirmed = 0;
  link!: ReplicaLink;
  #known = new Map<string, number>();

  readonly failoverMs: number;

  constructor(t: Test, failoverMs = 5000) {
    this.failoverMs = failoverMs;
    this.dir = tempDir(t);
    this.journal = new Journal(this.dir, 'orders', 16 * 1024, []);
    this.acks = new AckLog(this.dir, channelAckPrefix('orders', 'billing'), []);
    this.link = this.newLink();
  }

  newLink(): ReplicaLink {
    return new ReplicaLink('127.0.0.1:x', {
      dataPath: this.dir,
      identity: { name: 'origin:1', incarnation: INC, replicas: ['127.0.0.1:x'] },
      logger: new Logger('fatal', '', () => {}),
      events: {
        confirmed: (_l, seq) => (this.confirmed = seq),
        state: (_l, s) => this.states.push(s),
      },
      meta: () => ({ topics: [{ name: 'orders', paused: false, channels: [{ name: 'billing', start_id: 0 }] }] }),
      currentSeq: () => this.seq,
      failoverMs: this.failoverMs,
    });
  }

  /** One turn: `n` messages and acks for every third, written, fsynced, and handed to the link. */
  turn(n: number, size = 100): number {
    for (let k = 0; k < n; k++) {
      const id = ++this.id;
      const body = Buffer.alloc(size, id % 251);
      this.journal.append(id, id, 0, 1, '', body, 0, body.length);
      if (id % 3 === 0) this.acks.add(id);
    }
    this.journal.log.write(true);
    this.acks.log.write(false);
    this.seq++;
    for (const [name, size] of listDurableFiles(this.dir)) {
      if (this.#known.get(name) !== size) this.link.grew(name, size);
      this.#known.set(name, size);
    }
    this.link.commit(this.seq);
    return this.seq;
  }

  async attach(port: number): Promise<Socket> {
    const s = connect({ host: '127.0.0.1', port });
    await once(s, 'connect');
    this.link.attach(s, Buffer.alloc(0));
    return s;
  }
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The mirror holds exactly the origin's durable files. */
function sameFiles(t: Test, origin: string, mirror: string, what: string): void {
  const a = listDurableFiles(origin);
  const b = listDurableFiles(mirror);
  t.same([...b.keys()].sort(), [...a.keys()].sort(), `${what}: the same files`);
  let same = true;
  for (const name of a.keys()) if (!readFileSync(join(origin, name)).equals(readFileSync(join(mirror, name)))) same = false;
  t.ok(same, `${what}: byte for byte`);
}

const mirrorDir = (r: Replica): string => join(r.root, 'origin%3A1', INC);

t.test('each commit is confirmed once the mirror holds it; the mirror equals the origin', async (t) => {
  const r = await startReplica(t);
  const o = new Origin(t);
  t.teardown(() => o.link.close());
  await o.attach(r.port);
  await until('in sync', () => o.link.inSync);
  for (let i = 0; i < 40; i++) {
    const seq = o.turn(25);
    await until(`confirm ${seq}`, () => o.confirmed >= seq);
  }
  t.ok(listDurableFiles(o.dir).size > 3, 'the journal rolled into several segments');
  sameFiles(t, o.dir, mirrorDir(r), 'after 40 commits');
  t.same(o.states, ['catching_up', 'in_sync']);
});

t.test('an idle link pings well inside a short failover timeout, both ways: it stays in sync and the replica keeps hearing from it', async (t) => {
  const FAILOVER_MS = 1000;
  const r = await startReplica(t, undefined, FAILOVER_MS);
  const o = new Origin(t, FAILOVER_MS);
  t.teardown(() => o.link.close());
  await o.attach(r.port);
  await until('in sync', () => o.link.inSync);
  // idle for three failover timeouts: the replica's clock (last contact) and the origin's (last heard)
  let replicaSilent = 0;
  let originSilent = 0;
  for (const end = Date.now() + 3 * FAILOVER_MS; Date.now() < end; ) {
    await new Promise((r) => setTimeout(r, 10));
    const now = Date.now();
    replicaSilent = Math.max(replicaSilent, now - r.sessions[0]!.mirror!.state.last_contact);
    originSilent = Math.max(originSilent, now - o.link.lastContact);
  }
  t.ok(replicaSilent < FAILOVER_MS / 2, `the replica heard from the origin at least every ${replicaSilent} ms`);
  t.ok(originSilent < FAILOVER_MS / 2, `the origin heard from the replica at least every ${originSilent} ms`);
  t.same(o.states, ['catching_up', 'in_sync'], 'never out of sync');
});

t.test('a cut link catches up from the STATE: missing data, removed files, a longer file there', async (t) => {
  const r = await startReplica(t);
  const o = new Origin(t);
  t.teardown(() => o.link.close());
  const s = await o.attach(r.port);
  await until('in sync', () => o.link.inSync);
  for (let i = 0; i < 10; i++) o.turn(30);
  await until('confirm', () => o.confirmed >= o.seq);
  s.destroy();
  await until('down', () => o.link.state === 'down');
  // while it is down: more commits, a segment compacted away, and the newest file cut short (as a
  // crash's torn tail: the replica has bytes the origin no longer has)
  for (let i = 0; i < 10; i++) o.turn(30);
  const files = [...listDurableFiles(o.dir).keys()].filter((f) => f.includes('.journal.')).sort();
  rmSync(join(o.dir, files[0]!));
  const newest = files[files.length - 1]!;
  const before = readFileSync(join(o.dir, newest)).length;
  t.ok(before > 0);
  await o.attach(r.port);
  await until('in sync again', () => o.link.inSync);
  sameFiles(t, o.dir, mirrorDir(r), 'after catching up');
  // the replica had all of `newest`; now cut it on the origin after its first batch (a crash's torn
  // tail is cut at start) and reconnect: the replica must follow
  o.link.close();
  const firstBatch = 8 + readFileSync(join(o.dir, newest)).readUInt32BE(0);
  t.ok(firstBatch < before, 'the newest segment has more than one batch');
  truncateSync(join(o.dir, newest), firstBatch);
  o.link = o.newLink();
  await o.attach(r.port);
  await until('in sync a third time', () => o.link.inSync);
  sameFiles(t, o.dir, mirrorDir(r), 'after the origin lost a tail');
  t.equal(readFileSync(join(mirrorDir(r), newest)).length, firstBatch);
});

t.test('large commits go through the socket in bounded pieces and all arrive', async (t) => {
  const r = await startReplica(t);
  const o = new Origin(t);
  t.teardown(() => o.link.close());
  await o.attach(r.port);
  await until('in sync', () => o.link.inSync);
  // 3 turns of 5 MiB bodies in 1 MiB segments: frames above the chunk size, the socket above its high water
  for (let i = 0; i < 3; i++) o.turn(50, 100_000);
  await until('confirm', () => o.confirmed >= o.seq, 30_000);
  sameFiles(t, o.dir, mirrorDir(r), 'after 15 MB');
});

t.test('a hostile origin is refused with an ERROR frame; the mirror keeps only what was valid', async (t) => {
  const r = await startReplica(t);
  /** Sends `bytes`, returns what came back once the replica closed (or, `open`, its first answer). */
  const bad = async (bytes: Buffer, open = false): Promise<string> => {
    const s = connect({ host: '127.0.0.1', port: r.port });
    await once(s, 'connect');
    const got: Buffer[] = [];
    s.on('data', (b: Buffer) => got.push(b));
    s.write(bytes);
    if (open) await once(s, 'data');
    else await once(s, 'close');
    s.destroy();
    return Buffer.concat(got).toString('latin1');
  };
  t.match(await bad(Buffer.from('GET / HTTP/1.1\r\n\r\n')), /E_REPL_FRAME/, 'not replication frames');
  t.match(await bad(encodeSeq(0x06, 1)), /COMMIT before HELLO/, 'no HELLO first');
  t.match(await bad(encodeJson(0x01, { version: 2, name: 'x', incarnation: 'aa', replicas: [] })), /version 2 is not 1/);
  t.match(await bad(encodeJson(0x01, { version: 1, name: 'replica:1', incarnation: 'aa', replicas: [] })), /cannot be its own replica/);
  t.match(await bad(encodeJson(0x01, { version: 1, name: 'x', incarnation: '../..', replicas: [] })), /without an incarnation/);
  t.match(await bad(encodeJson(0x01, { version: 1, name: 'x', incarnation: 'aa', replicas: [] }), true), /"incarnation":"aa"/, 'a good HELLO is answered with STATE');
  t.match(r.log.join('\n'), /origin \? : |origin \?: /, 'refusals are logged');
  // the session's host is still serving: a real origin links fine afterwards
  const o = new Origin(t);
  t.teardown(() => o.link.close());
  await o.attach(r.port);
  await until('in sync', () => o.link.inSync);
  o.turn(5);
  await until('confirm', () => o.confirmed >= o.seq);
  sameFiles(t, o.dir, mirrorDir(r), 'after the hostile ones');
});

t.test('a hostile replica (bad STATE, a CONFIRM for nothing sent) takes the link down, nothing else', async (t) => {
  for (const [what, answer] of [
    ['STATE for another incarnation', encodeJson(T_STATE, { incarnation: 'other', files: {} })],
    ['STATE with a negative size', encodeJson(T_STATE, { incarnation: INC, files: { 'orders.journal.000000.dat': -1 } })],
    ['CONFIRM for a commit never sent', Buffer.concat([encodeJson(T_STATE, { incarnation: INC, files: {} }), encodeSeq(T_CONFIRM, 99_999)])],
    ['garbage', Buffer.from('\x00\x00\x00\x05garbage!')],
  ] as const) {
    const server = createServer((s) => s.once('data', () => s.write(answer)));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const o = new Origin(t);
    await o.attach((server.address() as { port: number }).port);
    await until(`${what}: down`, () => o.link.state === 'down');
    t.notOk(o.confirmed > 1, `${what}: nothing confirmed`);
    server.close();
  }
});

t.test('calls: FETCH lists a copy and streams it back byte for byte; CLAIM and RELEASE are confirmed; bad calls refused', async (t) => {
  const r = await startReplica(t);
  const o = new Origin(t);
  await o.attach(r.port);
  await until('in sync', () => o.link.inSync);
  for (let i = 0; i < 5; i++) o.turn(300, 500);
  await until('confirm', () => o.confirmed >= o.seq);
  const open = async (): Promise<ReplicaCall> => {
    const s = connect({ host: '127.0.0.1', port: r.port });
    await once(s, 'connect');
    const call = new ReplicaCall('replica', s, Buffer.alloc(0), 5000);
    t.teardown(() => call.close());
    return call;
  };
  o.link.close();

  const call = await open();
  const held = await call.held('origin:1', 'ffff');
  t.match(held, [{ incarnation: INC }], 'the copy is listed');
  t.equal(r.askers.at(-1), 'ffff', "the asker's own incarnation reaches the host (FETCH's self), which leaves that copy out");
  t.ok(held[0]!.bytes > 100_000 && held[0]!.last_contact > 0, 'with its size and last contact');
  t.same(await call.held('nobody:1', 'ffff'), [], 'no copy of an unknown origin');
  const staging = join(tempDir(t), 'restore');
  const into = new ReplicaMirror(staging, 'origin:1', INC);
  await call.fetch('origin:1', INC, into);
  sameFiles(t, o.dir, into.dir, 'fetched');
  t.match(into.meta, { topics: [{ name: 'orders' }] }, 'and its metadata');
  // the files are already there: a second fetch (another replica's copy) adds nothing and ends cleanly
  await call.fetch('origin:1', INC, into);
  sameFiles(t, o.dir, into.dir, 'fetched twice');
  into.close();
  await call.claim('origin:1', INC, 'other:1');
  await call.release('origin:1', INC);
  t.same(r.released, [`origin:1/${INC}`], 'RELEASE reached the host');
  t.same(listMirrors(r.root), [], 'and the copy is gone');

  const refused = async (frames: Buffer[]): Promise<string> => {
    const s = connect({ host: '127.0.0.1', port: r.port });
    await once(s, 'connect');
    const got: Buffer[] = [];
    s.on('data', (b: Buffer) => got.push(b));
    for (const f of frames) s.write(f);
    await once(s, 'close');
    return Buffer.concat(got).toString('latin1');
  };
  t.match(await refused([encodeJson(T_FETCH, { version: 1, name: 'origin:1', incarnation: INC, have: {} })]), /E_REPL_GONE/, 'FETCH of a copy not held');
  t.match(await refused([encodeJson(T_FETCH, { version: 1, name: 'origin:1', incarnation: '../x', have: {} })]), /without an incarnation/);
  t.match(await refused([encodeJson(T_FETCH, { version: 1, name: 'replica:1', incarnation: null, have: {} })]), /is this node/);
  t.match(
    await refused([encodeJson(T_FETCH, { version: 1, name: 'origin:1', incarnation: null, have: {} }), encodeJson(T_HELLO, { version: 1, name: 'x', incarnation: 'aa', replicas: [] })]),
    /HELLO on a call/,
    'a call cannot turn into a link',
  );
  await t.rejects((await open()).fetch('origin:1', 'abcd', new ReplicaMirror(staging, 'origin:1', 'abcd')), /refused: E_REPL_GONE/, 'the caller sees the refusal');
});

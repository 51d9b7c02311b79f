// Replication's engine side (docs/replication.md): this node's identity, its links to the replicas
// it copies to (--replica-address), the sessions of the origins that copy to it, the rule that holds
// a durable publish's OK until R-1 replicas confirmed it, and the takeover of an origin that has
// been silent for --failover-timeout.

import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { JournalRecord } from './journal.js';
import { collectMoves, replayTopic } from './journal-replay.js';
import { ReplicaLink, listDurableFiles, type LinkState } from './replica-link.js';
import { ReplicaMirror, escapeName, listMirrors, listRetired } from './replica-mirror.js';
import { ReplicaCall, type HeldCopy } from './replica-call.js';
import { CommitCounts } from './commit-counts.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { crypto } from '../util/builtins.js';
import { ReplicaSession, type Hello, type SessionHost } from './replica-session.js';
import { splitHostPort } from './listen.js';
import { syncDir } from './segment-log.js';
import type { NSQD } from './nsqd.js';
import { encodeError, encodeJson, encodeSeq, T_TAKEN, T_TAKEN_OK } from '../protocol/replication.js';
import type { ReplicationLinkStats, ReplicationMirrorStats, ReplicationStats } from '../protocol/stats-json.js';
import { keepGranted } from './auth.js';
import { E_AUTH_FAILED, E_AUTH_FIRST, E_INVALID, E_UNAUTHORIZED } from '../protocol/errors.js';

/**
 * A publish that is on this node's disk (and may already be delivered) but that its replicas did not
 * confirm within the failover timeout, or the node stopped first: it is neither acknowledged nor
 * refused. Its connection is closed without an answer, as a crash would leave it, so the publisher
 * retries (a duplicate, never a loss and never an error-answered message that is delivered).
 */
import { ReplicationUnconfirmed } from './replication-unconfirmed.js';

/** A REPL's authorization: when it expires, and how to ask for it again (resolves to the next expiry; rejects once refused). */
export interface ReplGrant {
  expires: number;
  renew: () => Promise<number>;
}

export const IDENTITY_FILE = 'replication.json';
export const MIRRORS_DIR = 'replicas';
/** where a node that starts empty gathers its replicas' copies of it before taking them in */
export const RESTORE_DIR = 'restore';

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5000;

/**
 * Dial failures that mean the replica answered and will not take the link until a configuration
 * changes (its --tls-* or AUTH against this node's, or not an nsq serve node), not that it is down.
 * E_TLS and E_AUTH_REQUIRED are the client's own: no TLS offered or the handshake failed; AUTH asked
 * for and no --replication-auth-secret.
 */
const LINK_REFUSALS = new Set(['E_TLS', 'E_AUTH_REQUIRED', E_AUTH_FAILED, E_AUTH_FIRST, E_UNAUTHORIZED, E_INVALID]);

export interface TakeoverRecord {
  incarnation: string;
  /** numbers this node's takeovers, so an origin can say which one it applied */
  number: number;
  /** per topic, the highest message ID of the origin that this node took over */
  boundary: Record<string, number>;
  /** epoch ms */
  at: number;
}

interface Identity {
  name: string;
  incarnation: string;
  /** origins this node took over, by name, until they come back and apply it */
  taken_over: Record<string, TakeoverRecord>;
  /** takeovers of this node that it has applied, by the replica's name: their number and boundary */
  applied?: Record<string, { number: number; boundary: Record<string, number> }>;
}

/** A copy's files summed per topic (`orders.journal.000001.dat`, `orders:billing.acks.000000.dat`, ...). */
function bytesPerTopic(files: Iterable<[string, number]>): { bytes: number; topics: Record<string, number> } {
  const topics: Record<string, number> = {};
  let bytes = 0;
  for (const [name, size] of files) {
    const topic = name.replace(/\.(?:journal|acks)\.\d+\.dat$/, '').split(':')[0]!;
    topics[topic] = (topics[topic] ?? 0) + size;
    bytes += size;
  }
  return { bytes, topics };
}

interface WatchedMirror {
  origin: string;
  incarnation: string;
  /** epoch ms of the origin's last frame (or of this node's start, or of the end of a call that held it) */
  lastContact: number;
  /** where this node stands in the origin's replica list (-1: not found); the k-th waits (k+1) timeouts */
  rank: number;
  replicas: string[];
}

class LinkRunner {
  link: ReplicaLink;
  error = '';
  /** the last dial was refused by the replica (LINK_REFUSALS), not unanswered */
  refused = false;
  #retry = RECONNECT_MIN_MS;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  readonly #r: Replication;

  constructor(r: Replication, link: ReplicaLink) {
    this.#r = r;
    this.link = link;
  }

  start(): void {
    void this.#connect();
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    try {
      const { socket, early } = await this.#r.dial(this.link.address);
      if (this.#closed) {
        socket.destroy();
        return;
      }
      this.error = '';
      this.refused = false;
      this.link.attach(socket, early);
    } catch (err) {
      const e = err as Error & { code?: unknown };
      // every retry fails the same way while nothing changes: the log says it once
      const again = e.message === this.error;
      this.error = e.message;
      this.refused = typeof e.code === 'string' && LINK_REFUSALS.has(e.code);
      this.#r.linkFailed(this, this.error, again);
      this.later();
    }
  }

  /**
   * The link is down: try again after a back-off (doubling up to 5 s, reset once in sync), never
   * longer than a quarter of the failover timeout: a replica that comes back gives this node one
   * timeout from its start before it takes it over, so this node must call again well within it.
   */
  later(): void {
    if (this.#closed || this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#connect();
    }, this.#retry);
    this.#timer.unref();
    this.#retry = Math.min(this.#retry * 2, Math.max(RECONNECT_MIN_MS, Math.min(RECONNECT_MAX_MS, this.#r.failoverMs / 4)));
  }

  synced(): void {
    this.#retry = RECONNECT_MIN_MS;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.link.close('stopping');
  }
}

/** Deletes a copy's folder (its messages are safe elsewhere) and makes that durable. */
function dropDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  syncDir(join(dir, '..'));
}

export class Replication implements SessionHost {
  readonly nsqd: NSQD;
  readonly factor: number;
  readonly failoverMs: number;
  readonly degradedAccept: boolean;
  readonly root: string;
  identity!: Identity;
  #links: LinkRunner[] = [];
  #seq = 1;
  /** publishers' answers waiting for confirmations, oldest first */
  #waiters: Array<{ seq: number; at: number; done: (err: Error | null) => void }> = [];
  #sessions = new Map<string, ReplicaSession>();
  /** mirrors found on disk or opened by a session: key origin/incarnation */
  #mirrors = new Map<string, WatchedMirror>();
  /** copies held back from takeover while a call (FETCH, CLAIM) is open: session → mirror keys */
  #holds = new Map<ReplicaSession, Set<string>>();
  /** work that waits until a commit is on this node's replicas too (dropping a taken-over copy) */
  #onward: Array<{ seq: number; run: () => void }> = [];
  #takingOver = false;
  takenOverMessages = 0;
  restoredMessages = 0;

  constructor(nsqd: NSQD) {
    this.nsqd = nsqd;
    const o = nsqd.options;
    this.factor = o.replicationFactor;
    this.failoverMs = o.failoverTimeout;
    this.degradedAccept = o.replicationDegraded === 'accept';
    this.root = join(nsqd.dataPath, MIRRORS_DIR);
  }

  get logger(): NSQD['logger'] {
    return this.nsqd.logger;
  }

  get selfName(): string {
    return this.identity.name;
  }

  /** Replicas needed besides this node for an OK. */
  get needed(): number {
    return Math.max(0, this.factor - 1);
  }

  // ---- start and stop ---------------------------------------------------------------------------

  /** After the listeners are bound: identity, mirrors held here, links to the replicas. */
  start(): void {
    const o = this.nsqd.options;
    const name = o.replicaName !== '' ? o.replicaName : `${o.broadcastAddress}:${this.nsqd.tcpEndpoint.port}`;
    this.identity = this.#loadIdentity(name);
    // an interrupted restore: its copies are still held by the replicas (which take them over if asked by no one)
    rmSync(join(this.nsqd.dataPath, RESTORE_DIR), { recursive: true, force: true });
    const now = Date.now();
    // copies taken over before a restart go once this node's journal (which holds their messages) is replicated
    for (const dir of listRetired(this.root)) this.#afterOnward(this.#seq, () => dropDir(dir));
    for (const m of listMirrors(this.root)) {
      const mirror = new ReplicaMirror(this.root, m.origin, m.incarnation);
      const replicas = mirror.state.replicas ?? [];
      mirror.close();
      // a restarted replica gives every origin a whole failover timeout from its own start
      this.#mirrors.set(`${m.origin}/${m.incarnation}`, { ...m, lastContact: now, rank: this.#rankIn(replicas), replicas });
    }
    for (const address of o.replicaAddresses) {
      const runner: LinkRunner = new LinkRunner(
        this,
        new ReplicaLink(address, {
          dataPath: this.nsqd.dataPath,
          identity: { name: this.identity.name, incarnation: this.identity.incarnation, replicas: o.replicaAddresses },
          logger: this.logger,
          events: {
            confirmed: () => this.#settle(),
            state: (_link, state, why) => this.#linkState(runner, state, why),
            stated: (link, record) => this.#stated(runner, record),
          },
          meta: () => this.nsqd.durableMetadata(),
          currentSeq: () => this.#seq,
          failoverMs: this.failoverMs,
        }),
      );
      this.#links.push(runner);
    }
    // watermarks of takeovers applied before (a restart must not deliver those messages either)
    for (const a of Object.values(this.identity.applied ?? {})) this.#applyBoundary(a.boundary);
    if (this.#links.length > 0 && this.#returning) {
      // back with its disk: nothing is delivered until the replicas said what they took over (or the timeout)
      for (const l of this.#links) this.#awaitingState.add(l);
      this.nsqd.holdDelivery(true);
      this.#holdTimer = setTimeout(() => this.#release('not every replica answered in time'), this.failoverMs);
      this.#holdTimer.unref();
    }
    for (const l of this.#links) l.start();
    if (this.#fresh && this.#links.length > 0) void this.#restore();
    this.logger.info(`REPLICATION: ${this.identity.name} (incarnation ${this.identity.incarnation}), factor ${this.factor}, replicas ${o.replicaAddresses.join(', ') || 'none'}`);
  }

  #loadIdentity(name: string): Identity {
    const file = join(this.nsqd.dataPath, IDENTITY_FILE);
    try {
      const j = JSON.parse(readFileSync(file, 'utf8')) as Identity;
      if (typeof j.incarnation === 'string' && /^[0-9a-f]{1,32}$/.test(j.incarnation)) {
        if (j.name !== name) this.logger.warn(`REPLICATION: this data path was replicated as ${j.name}; now ${name} (replicas know it by the old name until they hear the new one)`);
        this.#returning = true;
        return { name, incarnation: j.incarnation, taken_over: j.taken_over ?? {}, applied: j.applied ?? {} };
      }
    } catch {
      // a new data path (or a lost disk): a new incarnation
    }
    const id: Identity = { name, incarnation: crypto().randomBytes(8).toString('hex'), taken_over: {}, applied: {} };
    this.#fresh = true;
    // a node that only receives copies writes its file when it first has something to keep
    if (this.nsqd.options.replicaAddresses.length > 0) this.#saveIdentity(id);
    return id;
  }

  /** the identity was on disk: this node has been replicated before and may have been taken over */
  #returning = false;
  /** no identity on disk: a new node, or one whose disk was lost (its replicas may hold a copy of it) */
  #fresh = false;
  #awaitingState = new Set<LinkRunner>();
  #holdTimer: NodeJS.Timeout | null = null;

  #release(why: string): void {
    if (!this.nsqd.deliveryHeld) return;
    if (this.#holdTimer !== null) clearTimeout(this.#holdTimer);
    this.#holdTimer = null;
    this.#awaitingState.clear();
    this.logger.info(`REPLICATION: delivering (${why})`);
    this.nsqd.holdDelivery(false);
  }

  #applyBoundary(boundary: Record<string, number>): void {
    for (const [topic, id] of Object.entries(boundary)) {
      const t = this.nsqd.getExistingTopic(topic);
      if (t !== undefined && typeof id === 'number' && id > t.takenUpTo) t.takenUpTo = id;
    }
  }

  /**
   * A replica answered HELLO. When it took this incarnation over while this node was away, its
   * boundary is applied (those messages are skipped, not delivered), kept in replication.json, and
   * only then confirmed with TAKEN_OK. Delivery starts once every replica answered.
   */
  #stated(runner: LinkRunner, record: Record<string, unknown> | null): void {
    if (record !== null && record['incarnation'] === this.identity.incarnation) {
      const boundary = record['boundary'];
      const number = record['number'];
      const by = typeof record['by'] === 'string' ? record['by'] : runner.link.address;
      if (boundary !== null && typeof boundary === 'object' && typeof number === 'number' && Number.isSafeInteger(number)) {
        const b: Record<string, number> = {};
        for (const [k, v] of Object.entries(boundary as Record<string, unknown>)) if (typeof v === 'number' && Number.isSafeInteger(v)) b[k] = v;
        this.#applyBoundary(b);
        const applied = (this.identity.applied ??= {});
        const prev = applied[by];
        // boundaries only grow: keep the highest per topic (a replica's numbering restarts with it)
        const merged: Record<string, number> = { ...(prev?.boundary ?? {}) };
        for (const [k, v] of Object.entries(b)) merged[k] = Math.max(v, merged[k] ?? -1);
        if (prev === undefined || prev.number !== number || JSON.stringify(prev.boundary) !== JSON.stringify(merged)) {
          applied[by] = { number, boundary: merged };
          this.#saveIdentity();
          this.logger.warn(`REPLICATION: replica ${by} delivered this node's messages while it was away (takeover ${number}): skipping them here`);
        }
        runner.link.send(encodeSeq(T_TAKEN_OK, number));
      }
    }
    if (this.#awaitingState.delete(runner) && this.#awaitingState.size === 0) this.#release('every replica answered');
  }

  #saveIdentity(id = this.identity): void {
    writeFileAtomic(join(this.nsqd.dataPath, IDENTITY_FILE), JSON.stringify(id));
    syncDir(this.nsqd.dataPath);
  }

  close(): void {
    this.#closed = true;
    if (this.#holdTimer !== null) clearTimeout(this.#holdTimer);
    for (const l of this.#links) l.close();
    for (const s of [...this.#sessions.values()]) s.close();
    const err = new ReplicationUnconfirmed('replication: the node stopped before its replicas confirmed');
    for (const w of this.#waiters.splice(0)) w.done(err);
  }

  // ---- origin side: links and the OK rule --------------------------------------------------------

  /** Connects to a replica's TCP port: V2, IDENTIFY (TLS when this node has a root CA or a certificate), AUTH, REPL. */
  async dial(address: string): Promise<{ socket: Duplex; early: Buffer }> {
    const { host, port } = splitHostPort(address, '--replica-address');
    const { Connection } = await import('../client/connection.js');
    const o = this.nsqd.options;
    const conn = await Connection.open({
      host,
      port,
      clientId: 'nsq-replication',
      hostname: this.identity.name,
      userAgent: 'nsq-replication/1',
      heartbeatInterval: -1,
      connectTimeout: Math.min(5000, this.failoverMs),
      tls: this.nsqd.replicaTls ?? undefined,
      authSecret: o.replicationAuthSecret !== '' ? o.replicationAuthSecret : undefined,
    });
    return conn.detach(Buffer.from('REPL 1\n'));
  }

  linkFailed(runner: LinkRunner, why: string, again: boolean): void {
    if (!again) this.logger.warn(`REPLICATION: replica ${runner.link.address}${runner.refused ? ' refused the link' : ''}: ${why} (retrying)`);
    this.#logHealth();
    this.#settle();
  }

  #linkState(runner: LinkRunner, state: LinkState, why?: string): void {
    if (state === 'in_sync') {
      runner.synced();
      this.logger.info(`REPLICATION: replica ${runner.link.address} in sync`);
      this.#logHealth();
    } else if (state === 'down') {
      runner.error = why ?? '';
      runner.refused = false;
      this.logger.warn(`REPLICATION: replica ${runner.link.address} out of sync: ${why ?? 'closed'}`);
      this.#logHealth();
      runner.later();
    }
    this.#settle();
  }

  /** the last health line logged said degraded: each change is logged once, not each failed retry */
  #loggedDegraded = false;

  /** After a link failed or came into sync: says when publishes lose or regain their copies, and what they get meanwhile. */
  #logHealth(): void {
    const why = this.degraded();
    if (why !== null && !this.#loggedDegraded) {
      this.#loggedDegraded = true;
      this.logger.warn(`REPLICATION: DEGRADED, ${why}: ${this.degradedAccept ? 'accepting durable publishes with fewer copies (--replication-degraded=accept)' : 'refusing durable publishes'}`);
    } else if (why === null && this.#loggedDegraded) {
      this.#loggedDegraded = false;
      this.logger.info(`REPLICATION: ${this.inSync} of ${this.needed} replica(s) in sync: durable publishes have every copy again`);
    }
  }

  get inSync(): number {
    let n = 0;
    for (const l of this.#links) if (l.link.inSync) n++;
    return n;
  }

  /** Null while publishes can be acknowledged; else why they cannot (fewer in-sync replicas than needed). */
  degraded(): string | null {
    const have = this.inSync;
    if (have >= this.needed) return null;
    return `replication: ${have} of ${this.needed} replica(s) in sync`;
  }

  /** Whether a durable publish may be taken now (refused up front while degraded, unless accept). */
  refusal(): string | null {
    if (this.degradedAccept) return null;
    return this.degraded();
  }

  /** The durable files of commit `seq` are on this node's disk: send them, return the sequence. */
  committed(records = 0): number {
    const seq = ++this.#seq;
    if (records > 0) this.#count(seq, records);
    for (const l of this.#links) l.link.commit(seq);
    return seq;
  }

  // ---- lag in messages: journal records committed here since a replica's last confirmation ------

  #counts = new CommitCounts();
  /** the same per durable topic */
  #topicCounts = new Map<string, CommitCounts>();

  /** The commit under way made `records` of `topic`'s journal records durable (before committed()). */
  topicCommitted(topic: string, records: number): void {
    if (records === 0) return;
    let c = this.#topicCounts.get(topic);
    if (c === undefined) this.#topicCounts.set(topic, (c = new CommitCounts()));
    c.add(this.#seq + 1, records, this.#slowestConfirmed());
  }

  #slowestConfirmed(): number {
    let min = Infinity;
    for (const l of this.#links) if (l.link.confirmedSeq < min) min = l.link.confirmedSeq;
    return min;
  }

  #count(seq: number, records: number): void {
    this.#counts.add(seq, records, this.#slowestConfirmed());
  }

  /** Records committed after commit `seq` (a replica's confirmation): at least that many are not on it. */
  lagMessages(seq: number): number {
    return this.#counts.after(seq);
  }

  /**
   * A durable topic's replication for /stats: its records committed here that the slowest counted
   * replica has not confirmed (null when this node copies to no one).
   */
  topicLag(topic: string): { lag_messages: number } | null {
    if (this.#links.length === 0) return null;
    const c = this.#topicCounts.get(topic);
    if (c === undefined) return { lag_messages: 0 };
    const confirmed = this.#links.map((l) => l.link.confirmedSeq).sort((x, y) => y - x);
    // the replicas an OK counts on: the `needed` best confirmed ones
    const seq = confirmed[Math.max(0, Math.min(this.needed, confirmed.length) - 1)] ?? 0;
    return { lag_messages: c.after(seq) };
  }

  /** A durable file grew (a batch was written) or went: the links send it with the next commit. */
  fileGrew(file: string, size: number): void {
    for (const l of this.#links) l.link.grew(file, size);
  }

  fileRemoved(file: string): void {
    for (const l of this.#links) l.link.removed(file);
  }

  metaChanged(): void {
    for (const l of this.#links) l.link.metaChanged();
  }

  /** `done` runs once R-1 in-sync replicas confirmed commit `seq` (or with the reason it cannot be). */
  whenReplicated(seq: number, done: (err: Error | null) => void): void {
    this.#waiters.push({ seq, at: Date.now(), done });
    this.#settle();
  }

  /** The highest commit confirmed by `needed` in-sync replicas. */
  #replicatedSeq(): number {
    if (this.needed === 0) return Infinity;
    const confirmed = this.#links.filter((l) => l.link.inSync).map((l) => l.link.confirmedSeq);
    if (confirmed.length < this.needed) return this.degradedAccept ? Infinity : -1;
    confirmed.sort((a, b) => b - a);
    return confirmed[this.needed - 1]!;
  }

  #settle(): void {
    if (this.#waiters.length === 0) return;
    const upTo = this.#replicatedSeq();
    let n = 0;
    while (n < this.#waiters.length && this.#waiters[n]!.seq <= upTo) n++;
    if (n > 0) for (const w of this.#waiters.splice(0, n)) w.done(null);
  }

  /** Scan loop: waits older than the failover timeout while degraded fail; silent origins are taken over. */
  scan(now: number): void {
    // a scan much later than its interval: this node stood still (SIGSTOP, a blocked event loop) and
    // could not hear its origins meanwhile; that time is not their silence
    const every = this.nsqd.scanIntervalMs;
    const still = this.#lastScan === 0 ? 0 : now - this.#lastScan - every;
    this.#lastScan = now;
    if (still > every) for (const m of this.#mirrors.values()) m.lastContact = Math.min(now, Math.max(m.lastContact, this.#contact(m) + still));
    if (this.#waiters.length > 0 && this.degraded() !== null && !this.degradedAccept) {
      const why = new ReplicationUnconfirmed(`${this.degraded()!} for ${this.failoverMs} ms: not confirmed`);
      while (this.#waiters.length > 0 && now - this.#waiters[0]!.at > this.failoverMs) this.#waiters.shift()!.done(why);
    }
    this.#runOnward();
    if (this.#takingOver) return;
    for (const [key, m] of this.#mirrors) {
      if (this.#held(key)) continue;
      const contact = this.#contact(m);
      if (now - contact <= this.failoverMs * (Math.max(0, m.rank) + 1)) continue;
      this.#mirrors.delete(key);
      this.#takingOver = true;
      void this.#claimAndTakeOver(m, now - contact).finally(() => {
        this.#takingOver = false;
      });
      return;
    }
  }

  /** epoch ms of the last frame heard from a copy's origin (on its live session, if any) */
  #contact(m: WatchedMirror): number {
    const s = this.#sessions.get(m.origin);
    return s?.mirror !== null && s?.hello?.incarnation === m.incarnation ? Math.max(m.lastContact, s.mirror!.state.last_contact) : m.lastContact;
  }

  /** when the scan last ran (epoch ms; 0 before the first) */
  #lastScan = 0;

  #held(key: string): boolean {
    for (const keys of this.#holds.values()) if (keys.has(key)) return true;
    return false;
  }

  // ---- replica side: sessions (SessionHost) ------------------------------------------------------

  /**
   * REPL on a V2 connection: this node becomes a replica of whoever sends HELLO. With auth on,
   * `grant` is the REPL's authorization: asked for again whenever it expires, and the link is
   * closed once it no longer covers topic .* channel .* (the origin's next dial is then refused at AUTH).
   */
  accept(socket: Duplex, early: Buffer, grant?: ReplGrant): void {
    const session = new ReplicaSession(socket, early, this);
    if (grant === undefined) return;
    const stop = keepGranted(grant.expires, grant.renew, (err) => {
      this.logger.warn(`REPLICATION: origin ${session.origin}: AUTH failed ${err.message}; link closed`);
      session.send(encodeError(E_UNAUTHORIZED, 'AUTH failed for REPL'));
      session.close();
    });
    socket.once('close', stop);
  }

  opened(session: ReplicaSession, hello: Hello): void {
    const old = this.#sessions.get(hello.name);
    this.#sessions.set(hello.name, session);
    if (old !== undefined && old !== session) old.close();
    const key = `${hello.name}/${hello.incarnation}`;
    const rank = this.#rankIn(hello.replicas);
    const taken = this.identity.taken_over[hello.name];
    if (taken !== undefined && taken.incarnation === hello.incarnation) {
      // taken over already: the origin learns it from STATE and nothing is mirrored until it applied it
      return;
    }
    this.#mirrors.set(key, { origin: hello.name, incarnation: hello.incarnation, lastContact: Date.now(), rank, replicas: hello.replicas });
    // an older incarnation of this origin (it lost its disk) that is still held here: its messages are
    // delivered by this node once the timeout runs out, as for a lost node (its clock keeps running)
    this.logger.info(`REPLICATION: replicating ${hello.name} (incarnation ${hello.incarnation}${rank > 0 ? `, takeover rank ${rank}` : ''})`);
  }

  closed(session: ReplicaSession): void {
    const held = this.#holds.get(session);
    if (held !== undefined) {
      // the call ended without a RELEASE: the copies' clocks start again from now
      this.#holds.delete(session);
      const now = Date.now();
      for (const key of held) {
        const m = this.#mirrors.get(key);
        if (m !== undefined) m.lastContact = Math.max(m.lastContact, now);
      }
    }
    const h = session.hello;
    if (h === null) return;
    if (this.#sessions.get(h.name) === session) this.#sessions.delete(h.name);
    const m = this.#mirrors.get(`${h.name}/${h.incarnation}`);
    if (m !== undefined && session.mirror !== null) m.lastContact = Math.max(m.lastContact, session.mirror.state.last_contact);
  }

  takenOver(hello: Hello): Record<string, unknown> | null {
    const t = this.identity.taken_over[hello.name];
    if (t === undefined || t.incarnation !== hello.incarnation) return null;
    return { ...t, by: this.identity.name };
  }

  takenApplied(hello: Hello, n: number): void {
    const t = this.identity.taken_over[hello.name];
    if (t === undefined || t.number !== n) return;
    delete this.identity.taken_over[hello.name];
    this.#saveIdentity();
    // from here its copy (refilled by the catch-up) is watched again like any other
    this.#mirrors.set(`${hello.name}/${hello.incarnation}`, { origin: hello.name, incarnation: hello.incarnation, lastContact: Date.now(), rank: this.#rankIn(hello.replicas), replicas: hello.replicas });
    this.logger.info(`REPLICATION: ${hello.name} applied takeover ${n}; replicating it again`);
  }

  /** FETCH or CLAIM: the copies of `origin` held here (not followed by a live link), held back from takeover. */
  hold(session: ReplicaSession, origin: string, incarnation: string | null, asker?: string): HeldCopy[] {
    const out: HeldCopy[] = [];
    // the copy to leave out is the one the origin writes now: the asker's own, when it says (a session
    // of its killed incarnation may not have been seen to close yet, and would hide the copy it wants)
    const live = asker ?? this.#sessions.get(origin)?.hello?.incarnation;
    let keys = this.#holds.get(session);
    for (const [key, m] of this.#mirrors) {
      if (m.origin !== origin || m.incarnation === live || (incarnation !== null && m.incarnation !== incarnation)) continue;
      // the copy's own reading of its folder gives its sizes and its last contact
      const copy = new ReplicaMirror(this.root, origin, m.incarnation);
      copy.close();
      if (keys === undefined) this.#holds.set(session, (keys = new Set()));
      keys.add(key);
      out.push({ incarnation: m.incarnation, last_contact: copy.state.last_contact, bytes: copy.bytes });
    }
    return out.sort((a, b) => b.last_contact - a.last_contact);
  }

  /** RELEASE: `origin`'s messages in that copy are safe elsewhere (restored by it, or taken over by another replica). */
  release(session: ReplicaSession, origin: string, incarnation: string): void {
    const key = `${origin}/${incarnation}`;
    if (!this.#mirrors.has(key) || this.#sessions.get(origin)?.hello?.incarnation === incarnation) return;
    this.#mirrors.delete(key);
    this.#holds.get(session)?.delete(key);
    new ReplicaMirror(this.root, origin, incarnation).drop();
    this.logger.info(`REPLICATION: copy of ${origin} (incarnation ${incarnation}) released: its messages are safe on another node`);
  }

  /** Where this node stands in an origin's replica list (-1: not found by address). */
  #rankIn(replicas: string[]): number {
    const me = this.nsqd.tcpEndpoint;
    for (let i = 0; i < replicas.length; i++) {
      try {
        const { host, port } = splitHostPort(replicas[i]!, 'replica');
        if (port === me.port && (host === me.host || host === this.nsqd.options.broadcastAddress || host === 'localhost')) return i;
      } catch {
        // not an address
      }
    }
    return -1;
  }

  // ---- takeover -------------------------------------------------------------------------------

  /**
   * The origin has been silent past the failover timeout. With R ≥ 3 the replicas ranked after this
   * one are told first (CLAIM: they hold their copies back); then the takeover; once its commit is
   * on this node's own replicas, the copy here goes and the claimed replicas are told to drop theirs
   * (RELEASE). A claimed replica that hears nothing more takes over itself later: duplicates, never
   * a loss.
   */
  async #claimAndTakeOver(m: WatchedMirror, silentMs: number): Promise<void> {
    const later = m.rank >= 0 ? m.replicas.slice(m.rank + 1) : [];
    const calls: ReplicaCall[] = [];
    await Promise.all(
      later.map(async (address) => {
        const call = await this.#call(address, Date.now() + Math.min(this.failoverMs, 2000), `CLAIM of ${m.origin}`);
        if (call === null) return;
        try {
          await call.claim(m.origin, m.incarnation, this.identity.name);
          calls.push(call);
        } catch (err) {
          call.close();
          this.logger.warn(`REPLICATION: CLAIM of ${m.origin} to ${address}: ${(err as Error).message}`);
        }
      }),
    );
    const done = this.#takeover(m.origin, m.incarnation, silentMs);
    if (done === null) {
      for (const c of calls) c.close();
      return;
    }
    this.#afterOnward(done.seq, () => {
      dropDir(done.retired);
      for (const c of calls) {
        void c
          .release(m.origin, m.incarnation)
          .catch((err: Error) => this.logger.warn(`REPLICATION: RELEASE of ${m.origin} to ${c.address}: ${err.message}`))
          .finally(() => c.close());
      }
    });
  }

  /**
   * Takes a silent origin's unfinished messages into this node's own topics and channels (see
   * #absorb), then records the takeover (what a returning origin is told) and marks the copy taken
   * over (moved aside). Returns the commit's sequence and where the copy went, or null when it
   * failed (tried again at the next scan).
   */
  #takeover(origin: string, incarnation: string, silentMs: number): { seq: number; retired: string } | null {
    const session = this.#sessions.get(origin);
    if (session?.hello?.incarnation === incarnation) session.close();
    const mirror = new ReplicaMirror(this.root, origin, incarnation);
    try {
      const { moved, topics, boundary, seq } = this.#absorb(mirror);
      const number = Math.max(0, ...Object.values(this.identity.taken_over).map((x) => x.number), this.#lastTakeoverNumber) + 1;
      this.#lastTakeoverNumber = number;
      this.identity.taken_over[origin] = { incarnation, number, boundary, at: Date.now() };
      this.#saveIdentity();
      const retired = mirror.retire();
      this.takenOverMessages += moved;
      this.logger.warn(`REPLICATION: ${origin} (incarnation ${incarnation}) silent for ${silentMs} ms: took over ${moved} unfinished message(s) in ${topics} topic(s)`);
      return { seq, retired };
    } catch (err) {
      mirror.close();
      // tried again at the next scan: nothing was recorded
      this.#mirrors.set(`${origin}/${incarnation}`, { origin, incarnation, lastContact: 0, rank: 0, replicas: [] });
      this.logger.error(`REPLICATION: taking over ${origin} failed: ${(err as Error).message}`);
      return null;
    }
  }

  /**
   * Puts the unfinished messages of a copy (per channel: journal replay from start_id minus acks;
   * paused and channel-less topics from held_from) into this node's own topics of the same names,
   * each with its channel as target, as new journal records with IDs from this node's counter,
   * deferred ones keeping their due time; one group commit, which this node's replication copies
   * onward. Throws when the journal could not be written (the messages may then be in memory too:
   * a retry costs duplicates, never a loss).
   */
  #absorb(mirror: ReplicaMirror): { moved: number; topics: number; boundary: Record<string, number>; seq: number } {
    const nsqd = this.nsqd;
    const meta = mirror.meta as { topics?: Array<{ name: string; paused?: boolean; held_from?: number; dead_letters?: boolean; channels?: Array<{ name: string; paused?: boolean; start_id?: number; ordered?: boolean }> }> } | null;
    const topics = Array.isArray(meta?.topics) ? meta!.topics : [];
    const boundary: Record<string, number> = {};
    let moved = 0;
    // dead-letter moves in the copy: the source channels skip what they moved out (docs/dead-letters.md)
    const moves = collectMoves(mirror.dir, topics.filter((t) => typeof t?.name === 'string' && t.dead_letters === true).map((t) => t.name), this.logger);
    for (const t of topics) {
      if (typeof t?.name !== 'string') continue;
      const topic = nsqd.getTopic(t.name);
      const chans = (Array.isArray(t.channels) ? t.channels : []).filter((c) => typeof c?.name === 'string' && !c.name.endsWith('#ephemeral'));
      const local = chans.map((c) => topic.getChannel(c.name));
      // an ordered channel continues in the same order here (the copy's messages are restored in
      // journal order), a normal one stays normal; a copy from before `ordered` was kept says neither
      chans.forEach((c, i) => {
        if (typeof c.ordered === 'boolean') local[i]!.setOrdered(c.ordered);
      });
      const bodies = nsqd.bodies;
      const place = (r: JournalRecord, target: string): { id: number; buf: Buffer; at: number } => {
        const id = nsqd.guid.next();
        const at = bodies.copy(r.data, r.bodyStart, r.bodyLength);
        const buf = bodies.buffer;
        topic.journalAppend(id, r.timestamp, r.due, r.attempts, target, buf, at, r.bodyLength);
        moved++;
        return { id, buf, at };
      };
      const files = replayTopic(
        mirror.dir,
        { name: t.name, paused: t.paused === true, channels: chans.map((c) => ({ name: c.name, startId: c.start_id ?? 0 })), heldFrom: t.held_from ?? 0, moved: moves.get(t.name) },
        this.logger,
        {
          waiting(r) {
            const p = place(r, '');
            topic.restoreWaiting(p.id, r.timestamp, r.attempts, p.buf, p.at, r.bodyLength, r.due);
          },
          owed(i, r) {
            const p = place(r, local[i]!.name);
            local[i]!.restore(p.id, r.timestamp, r.attempts, p.buf, p.at, r.bodyLength, r.due);
          },
        },
      );
      boundary[t.name] = files.maxId;
      topic.restored();
    }
    nsqd.durability?.commit();
    for (const t of topics) {
      const failure = typeof t?.name === 'string' ? nsqd.durability?.failure(t.name) : null;
      if (failure) throw new Error(`journal of ${t.name}: ${failure.message}`);
    }
    return { moved, topics: topics.length, boundary, seq: this.#seq };
  }

  #lastTakeoverNumber = 0;

  /** A TAKEN frame for sessions: the record sent to an origin that comes back. */
  takenFrame(hello: Hello): Buffer | null {
    const t = this.takenOver(hello);
    return t === null ? null : encodeJson(T_TAKEN, t);
  }

  // ---- onward replication, calls, restore -----------------------------------------------------

  /**
   * The highest commit that is on this node's replicas too: confirmed by `needed` in-sync replicas,
   * or by every in-sync one when fewer are in sync (at least one); Infinity when this node copies to
   * no one. Unlike the OK rule this ignores --replication-degraded=accept: it decides when another
   * node's copy may go.
   */
  #onwardSeq(): number {
    if (this.needed === 0 || this.#links.length === 0) return Infinity;
    const confirmed = this.#links.filter((l) => l.link.inSync).map((l) => l.link.confirmedSeq);
    if (confirmed.length === 0) return -1;
    confirmed.sort((a, b) => b - a);
    return confirmed[Math.min(this.needed, confirmed.length) - 1]!;
  }

  /** Runs `run` (from the scan loop) once commit `seq` is on this node's replicas. */
  #afterOnward(seq: number, run: () => void): void {
    this.#onward.push({ seq, run });
  }

  #runOnward(): void {
    if (this.#onward.length === 0) return;
    const upTo = this.#onwardSeq();
    const due = this.#onward.filter((w) => w.seq <= upTo);
    if (due.length === 0) return;
    this.#onward = this.#onward.filter((w) => w.seq > upTo);
    for (const w of due) {
      try {
        w.run();
      } catch (err) {
        this.logger.error(`REPLICATION: ${(err as Error).message}`);
      }
    }
  }

  #whenOnward(seq: number, deadline: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.#onwardSeq() >= seq) return resolve(true);
        if (Date.now() > deadline || this.#closed) return resolve(false);
        setTimeout(check, 50).unref();
      };
      check();
    });
  }

  /** A short replication call to `address` (tried until `deadline`), or null. */
  async #call(address: string, deadline: number, what: string): Promise<ReplicaCall | null> {
    for (;;) {
      try {
        const { socket, early } = await this.dial(address);
        return new ReplicaCall(address, socket, early, this.failoverMs);
      } catch (err) {
        if (Date.now() + RECONNECT_MIN_MS > deadline || this.#closed) {
          this.logger.warn(`REPLICATION: ${what} on ${address}: ${(err as Error).message}`);
          return null;
        }
        await new Promise((r) => setTimeout(r, RECONNECT_MIN_MS).unref());
      }
    }
  }

  /**
   * This node started without replication.json (a new disk): its replicas may hold a copy of its
   * previous incarnation. Each is asked (for up to --failover-timeout); the freshest incarnation's
   * copies are fetched and merged file by file (the longest copy of each file), and their unfinished
   * messages taken into this node's journal as a takeover would (new IDs, deferred ones keeping
   * their due time). Once that commit is on this node's replicas, the copies are released. Until
   * then the replicas hold them back; if this node dies first, they take them over: duplicates,
   * never a loss.
   */
  async #restore(): Promise<void> {
    const name = this.identity.name;
    const deadline = Date.now() + this.failoverMs;
    const calls: ReplicaCall[] = [];
    this.restoreState = 'asking';
    try {
      const answers = await Promise.all(
        this.#links.map(async (l) => {
          const call = await this.#call(l.link.address, deadline, 'restore from its copy');
          if (call === null) return null;
          calls.push(call);
          try {
            return { call, held: await call.held(name, this.identity.incarnation) };
          } catch (err) {
            this.logger.warn(`REPLICATION: restore: ${(err as Error).message}`);
            return null;
          }
        }),
      );
      let best: HeldCopy | null = null;
      for (const a of answers) for (const h of a?.held ?? []) if (h.incarnation !== this.identity.incarnation && (best === null || h.last_contact > best.last_contact)) best = h;
      if (best === null) {
        this.restoreState = 'nothing';
        this.logger.info(`REPLICATION: no replica holds a copy of ${name}: starting empty`);
        return;
      }
      const inc = best.incarnation;
      const holders = answers
        .flatMap((a) => (a === null ? [] : a.held.filter((h) => h.incarnation === inc).map((h) => ({ call: a.call, lastContact: h.last_contact }))))
        .sort((a, b) => b.lastContact - a.lastContact);
      this.restoreState = 'fetching';
      const staging = new ReplicaMirror(join(this.nsqd.dataPath, RESTORE_DIR), name, inc);
      const fetched: ReplicaCall[] = [];
      for (const h of holders) {
        try {
          await h.call.fetch(name, inc, staging);
          fetched.push(h.call);
        } catch (err) {
          this.logger.warn(`REPLICATION: restore: ${(err as Error).message}`);
        }
      }
      if (fetched.length === 0 || this.#closed) {
        staging.drop();
        this.restoreState = 'failed';
        return;
      }
      const { moved, topics, seq } = this.#absorb(staging);
      staging.drop();
      this.restoredMessages += moved;
      this.logger.warn(`REPLICATION: restored ${moved} unfinished message(s) in ${topics} topic(s) of incarnation ${inc} from ${fetched.map((c) => c.address).join(', ')}`);
      this.restoreState = 'replicating';
      if (!(await this.#whenOnward(seq, Date.now() + 3 * this.failoverMs))) {
        this.restoreState = 'unreleased';
        this.logger.warn(`REPLICATION: the restored messages are not on a replica yet: the replicas keep their copies (and deliver them after the failover timeout: duplicates)`);
        return;
      }
      await Promise.all(fetched.map((c) => c.release(name, inc).catch((err: Error) => this.logger.warn(`REPLICATION: restore: ${err.message}`))));
      this.restoreState = 'done';
    } catch (err) {
      this.restoreState = 'failed';
      this.logger.error(`REPLICATION: restore failed: ${(err as Error).message} (the replicas keep their copies)`);
    } finally {
      for (const c of calls) c.close();
    }
  }

  /** Where a restore from the replicas stands ('' when this node did not start empty). */
  restoreState: '' | 'asking' | 'nothing' | 'fetching' | 'replicating' | 'unreleased' | 'done' | 'failed' = '';
  #closed = false;

  // ---- visibility -------------------------------------------------------------------------------

  /** Stats when this node replicates or holds copies (none for a plain durable node). */
  statsIfActive(): ReplicationStats | undefined {
    if (this.identity === undefined) return undefined;
    if (this.#links.length === 0 && this.#mirrors.size === 0 && this.#sessions.size === 0 && Object.keys(this.identity.taken_over).length === 0) return undefined;
    return this.stats();
  }

  stats(): ReplicationStats {
    const now = Date.now();
    const mirrors: ReplicationMirrorStats[] = [];
    for (const m of this.#mirrors.values()) {
      const s = this.#sessions.get(m.origin);
      const live = s?.mirror !== null && s?.hello?.incarnation === m.incarnation ? s.mirror! : null;
      // a copy whose origin is away still holds its files: read their sizes from the folder
      const files = live !== null ? Object.entries(live.files()) : listDurableFiles(join(this.root, escapeName(m.origin), m.incarnation));
      mirrors.push({
        origin: m.origin,
        incarnation: m.incarnation,
        ...bytesPerTopic(files),
        last_contact_ms: now - Math.max(m.lastContact, live?.state.last_contact ?? 0),
        state: 'following',
      });
    }
    for (const [origin, t] of Object.entries(this.identity.taken_over)) {
      mirrors.push({ origin, incarnation: t.incarnation, bytes: 0, topics: {}, last_contact_ms: now - t.at, state: 'taken_over' });
    }
    return {
      name: this.identity.name,
      incarnation: this.identity.incarnation,
      factor: this.factor,
      degraded_mode: this.degradedAccept ? 'accept' : 'refuse',
      in_sync: this.inSync,
      needed: this.needed,
      healthy: this.degraded() === null,
      links: this.#links.map((l) => ({
        address: l.link.address,
        state: l.refused && l.link.state === 'down' ? 'refused' : l.link.state,
        confirmed_seq: l.link.confirmedSeq,
        lag_bytes: l.link.lagBytes,
        lag_messages: this.lagMessages(l.link.confirmedSeq),
        last_contact_ms: l.link.lastContact === 0 ? -1 : now - l.link.lastContact,
        error: l.error,
      })),
      mirrors,
      taken_over_messages: this.takenOverMessages,
      restored_messages: this.restoredMessages,
      ...(this.restoreState !== '' ? { restore: this.restoreState } : {}),
    };
  }
}

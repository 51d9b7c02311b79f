// Durable mode's engine side (docs/durable-mode.md): the group commit that writes and fsyncs every
// journal batch of an event-loop turn before the publishes in it are answered, compaction, and the
// recovery that rebuilds topics and channels from the journals at start.

import { existsSync, readdirSync } from 'node:fs';
import { closeListing, removeFile } from './data-dir.js';
import { join } from 'node:path';
import { MESSAGE_HEADER_LENGTH } from '../protocol/constants.js';
import { readUint64BE } from '../protocol/uint64.js';
import { AckLog, Journal, channelAckPrefix, journalPrefix, topicAckPrefix, topicOfJournal, type JournalRecord, type LogHooks } from './journal.js';
import { collectMoves, replayTopic, type Moves } from './journal-replay.js';
import type { DiskQueue } from './disk-queue.js';
import { openMessageDiskQueue } from './backlog.js';
import { listSegments, removeSegments, type SegmentInfo, type SegmentLog } from './segment-log.js';
import type { Channel } from './channel.js';
import type { NSQD } from './nsqd.js';
import type { TopicMeta } from './metadata.js';
import type { Topic } from './topic.js';

/** A publisher whose answers wait for the commit of the turn. */
export interface Committer {
  /**
   * The turn's commit is about to be written: the publishes held so far are the ones it covers
   * (later ones wait for a later commit). Returns them as a batch for committed(), and whether any
   * is on a durable topic (only those wait for replicas).
   */
  seal(): { batch: object; durable: boolean };
  committed(batch: object, err: Error | null): void;
}

/** how soon a journal or ack log write the disk refused is tried again */
const RETRY_MS = 1000;
/** the key of a refused nsqd.dat write in the failures */
const METADATA = '';


export class Durability {
  readonly #nsqd: NSQD;
  #journals = new Set<SegmentLog>();
  #ackLogs = new Set<SegmentLog>();
  #metadataDirty = false;
  #scheduled = false;
  #waiting: Committer[] = [];
  #promises: { topic: string; resolve: () => void; reject: (err: Error) => void }[] = [];
  /** journals whose pending batch the disk refused, by file prefix: only their topics' publishes fail */
  readonly #failed = new Map<string, Error>();
  /** the refused journals, probed once a second with a write of the refused batch's size */
  readonly #probes = new Map<string, { log: SegmentLog; bytes: number }>();
  #retry: NodeJS.Timeout | null = null;
  /** topics with publishes of this turn, placed once their journal batch is committed */
  #toPlace: Topic[] = [];
  /** the engine stopped: its files are closed and nsqd.dat is final */
  #closed = false;

  constructor(nsqd: NSQD) {
    this.#nsqd = nsqd;
  }

  /** A topic's journal; with no `existing` segments it is a new topic and leftovers are removed. */
  journal(topic: string, existing?: SegmentInfo[]): Journal {
    const dataPath = this.#nsqd.dataPath;
    if (existing === undefined) removeSegments(dataPath, `${topic}.journal`);
    return new Journal(dataPath, topic, this.#nsqd.options.maxBytesPerFile, existing ?? [], { onDirty: this.#journalDirty, ...this.#replicated() });
  }

  acks(prefix: string, existing?: SegmentInfo[]): AckLog {
    const dataPath = this.#nsqd.dataPath;
    if (existing === undefined) removeSegments(dataPath, prefix);
    return new AckLog(dataPath, prefix, existing ?? [], { onDirty: this.#ackDirty, ...this.#replicated() });
  }

  /** With replication, the links hear of every batch written and every segment removed. */
  #replicated(): LogHooks {
    const r = this.#nsqd.replication;
    if (r === null) return {};
    return { onWritten: (file, size) => r.fileGrew(file, size), onRemoved: (file) => r.fileRemoved(file) };
  }

  #journalDirty = (log: SegmentLog): void => {
    this.#journals.add(log);
    this.#schedule();
  };

  #ackDirty = (log: SegmentLog): void => {
    this.#ackLogs.add(log);
    this.#schedule();
  };

  metadataChanged(): void {
    this.#metadataDirty = true;
    this.#schedule();
  }

  /** `topic.committed()` is called after this turn's commit, with whether its journal batch made it. */
  placeAfterCommit(topic: Topic): void {
    this.#toPlace.push(topic);
    this.#schedule();
  }

  /** `c.committed()` is called once this turn's journal batches are on disk. */
  await(c: Committer): void {
    this.#waiting.push(c);
    this.#schedule();
  }

  /** Resolves once this turn's journal batches are on disk (HTTP publishes to `topic`). */
  committed(topic: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#promises.push({ topic, resolve, reject });
      this.#schedule();
    });
  }

  /** Whether some journal could not take its last records. */
  get failing(): boolean {
    return this.#failed.size > 0;
  }

  /** Why `topic`'s journal (or nsqd.dat) could not take its last records (null when it could). */
  failure(topic: string): Error | null {
    if (this.#failed.size === 0) return null;
    return this.#failed.get(journalPrefix(topic)) ?? this.#failed.get(METADATA) ?? null;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#turn);
  }

  /**
   * End of the turn: one commit for every publisher of the turn (group commit). With replication
   * the answers wait until R-1 replicas confirmed the commit too.
   */
  #turn = (): void => {
    this.#scheduled = false;
    // exactly what this commit covers: a publish that arrives while its replicas confirm waits for the next one
    const sealed = this.#waiting.map((c) => ({ c, ...c.seal() }));
    const promises = this.#promises;
    this.#waiting = [];
    this.#promises = [];
    let failure: Error | null = null;
    try {
      this.commit();
    } catch (err) {
      failure = err as Error;
    }
    const r = this.#nsqd.replication;
    const replicated = r !== null && r.needed > 0 && failure === null;
    const answer = (durable: boolean, unreplicated: Error | null): void => {
      const f = failure ?? unreplicated;
      for (const w of sealed) if (!replicated || w.durable === durable) w.c.committed(w.batch, f);
      for (const p of promises) {
        if (replicated && this.#nsqd.isDurableTopic(p.topic) !== durable) continue;
        const err = f ?? this.failure(p.topic);
        if (err === null) p.resolve();
        else p.reject(err);
      }
    };
    if (!replicated) return answer(true, null);
    // plain topics' publishers are answered now; durable ones once R-1 replicas confirmed this commit
    answer(false, null);
    if (sealed.some((w) => w.durable) || promises.some((p) => this.#nsqd.isDurableTopic(p.topic))) r!.whenReplicated(this.#lastSeq, (err) => answer(true, err));
  };

  /** the replication sequence of the last commit (0 without replication) */
  #lastSeq = 0;
  /** journal records made durable by the commit under way (replication counts its lag in messages) */
  #records = 0;

  /** A refused write is tried again a little later (not every turn: that would spin on a full disk). */
  #retryLater(): void {
    if (this.#retry !== null) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#schedule();
    }, RETRY_MS);
    this.#retry.unref();
  }

  /**
   * Writes nsqd.dat if it changed, every pending journal batch with an fsync, and the ack logs
   * (not fsynced: a lost ack means a message comes again, never that one is lost), then hands this
   * turn's publishes to their channels. Throws when nsqd.dat cannot be written (every publish of
   * the turn fails). A journal the disk refuses is noted (`failure()`: its topic's publishers get
   * the error), its batch is dropped with the publishes in it, and the other topics' journals are
   * still written.
   */
  commit(): void {
    if (this.#closed) return;
    const nsqd = this.#nsqd;
    let metaFailure: Error | null = null;
    try {
      nsqd.flushDiskWrites();
      if (this.#metadataDirty) {
        nsqd.writeMetadataNow();
        this.#metadataDirty = false;
      }
      this.#failed.delete(METADATA);
    } catch (err) {
      metaFailure = err as Error;
      this.#failed.set(METADATA, metaFailure);
      nsqd.diskFailed('metadata', metaFailure);
    }
    let failed = metaFailure !== null;
    for (const log of this.#journals) {
      // a turn without nsqd.dat fails every publisher: its batches go (Topic.committed)
      if (metaFailure !== null) break;
      const bytes = log.pendingBytes;
      if (bytes === 0 && this.#probes.has(log.prefix)) {
        // its refused batch was dropped: only a probe says whether the disk takes it again
        this.#journals.delete(log);
        continue;
      }
      try {
        log.write(true);
        const records = log.takeRecords();
        this.#records += records;
        if (nsqd.replication !== null) nsqd.replication.topicCommitted(topicOfJournal(log.prefix), records);
        this.#journals.delete(log);
        this.#failed.delete(log.prefix);
        this.#probes.delete(log.prefix);
      } catch (err) {
        failed = true;
        this.#failed.set(log.prefix, err as Error);
        this.#probes.set(log.prefix, { log, bytes });
        nsqd.diskFailed(log.prefix, err as Error);
      }
    }
    // dead-letter moves: the source acks go out with this commit's ack logs
    for (const topic of this.#toPlace) topic.settleMoves(metaFailure === null && !this.#failed.has(journalPrefix(topic.name)));
    for (const log of this.#ackLogs) {
      try {
        log.write(false);
        this.#ackLogs.delete(log);
      } catch (err) {
        failed = true;
        nsqd.diskFailed(log.prefix, err as Error);
      }
    }
    const place = this.#toPlace;
    this.#toPlace = [];
    for (const topic of place) topic.committed(metaFailure === null && !this.#failed.has(journalPrefix(topic.name)));
    if (!failed) failed = !this.#probeRefused();
    if (failed) this.#retryLater();
    else nsqd.durableRecovered();
    // what was written goes to the replicas now, with one COMMIT for all of it
    if (nsqd.replication !== null) this.#lastSeq = nsqd.replication.committed(this.#records);
    this.#records = 0;
    if (metaFailure !== null) throw metaFailure;
  }

  /**
   * The journals whose batch the disk refused (the batch is gone with its failed publishes): each
   * is tried with a write of that size, so `/ping` turns OK again once the disk takes it, whether
   * or not anyone publishes. True when none is refused any more.
   */
  #probeRefused(): boolean {
    for (const [prefix, { log, bytes }] of this.#probes) {
      try {
        log.probe(bytes);
      } catch {
        continue;
      }
      this.#probes.delete(prefix);
      this.#failed.delete(prefix);
    }
    return this.#failed.size === 0;
  }

  /** The engine stopped (its logs were written and closed): later turns write nothing. */
  close(): void {
    this.#closed = true;
  }

  compact(): void {
    for (const topic of this.#nsqd.topics.values()) {
      try {
        topic.compact();
      } catch (err) {
        this.#nsqd.logger.error(`TOPIC(${topic.name}): compaction failed - ${(err as Error).message}`);
      }
    }
  }
}

/**
 * Start: rebuilds every topic's and channel's unfinished messages from the journals (both modes:
 * plain mode takes over a durable data path this way), then, in durable mode, moves what older
 * plain-mode runs left in disk queues into the journals.
 */
export function recover(nsqd: NSQD, meta: TopicMeta[]): void {
  const dataPath = nsqd.dataPath;
  let restored = 0;
  // dead-letter moves first: a source channel skips what it moved out (docs/dead-letters.md)
  const moves = collectMoves(dataPath, meta.filter((t) => t.dead_letters === true).map((t) => t.name), nsqd.logger);
  for (const t of meta) {
    const topic = nsqd.getExistingTopic(t.name);
    if (topic === undefined) continue;
    const hasJournal = listSegments(dataPath, `${t.name}.journal`).length > 0;
    if (!hasJournal) {
      if (topic.durable || !topic.durableMode) continue;
      // a durable topic new to this data path (or from plain mode): fresh files
      topic.openDurable();
      for (const ch of topic.channels.values()) if (!ch.ephemeral) ch.openDurable();
      continue;
    }
    restored += replay(nsqd, topic, moves);
  }
  if (restored > 0) nsqd.logger.info(`NSQ: recovered ${restored} unfinished message(s) from journals in ${dataPath}`);
  // from here on files are created: lookups read the folder again
  closeListing();
  if (nsqd.durability !== null) migrateDiskQueues(nsqd, meta);
  for (const t of meta) nsqd.getExistingTopic(t.name)?.restored();
}

/** Replays one topic's journal; returns how many deliveries it restored. */
function replay(nsqd: NSQD, topic: Topic, moves: Moves): number {
  const channels: Channel[] = [];
  for (const ch of topic.channels.values()) {
    if (ch.ephemeral) continue;
    channels.push(ch);
    // IDs to come must be new to every channel's start
    nsqd.guid.atLeast(ch.startId);
  }
  const bodies = nsqd.bodies;
  let count = 0;
  // a body shared by several channels is copied once: `copied` numbers the record it was copied for
  let copied = 0;
  let buf: Buffer = bodies.buffer;
  let at = 0;
  const take = (r: JournalRecord, n: number): void => {
    if (copied === n) return;
    at = bodies.copy(r.data, r.bodyStart, r.bodyLength);
    buf = bodies.buffer;
    copied = n;
  };
  // pairs (channel index, ID): moved out, acked once the ack logs are open
  const missedAcks: number[] = [];
  const files = replayTopic(
    nsqd.dataPath,
    {
      name: topic.name,
      paused: topic.paused,
      channels: channels.map((ch) => ({ name: ch.name, startId: ch.startId })),
      heldFrom: topic.heldFrom,
      onlyEphemeral: channels.length === 0 && topic.channels.size > 0,
      moved: moves.get(topic.name),
    },
    nsqd.logger,
    {
      waiting(r, n) {
        take(r, n);
        topic.restoreWaiting(r.id, r.timestamp, r.attempts, buf, at, r.bodyLength, r.due);
        count++;
      },
      owed(i, r, n) {
        take(r, n);
        channels[i]!.restore(r.id, r.timestamp, r.attempts, buf, at, r.bodyLength, r.due);
        count++;
      },
      moved(i, id) {
        missedAcks.push(i, id);
      },
    },
  );
  if (files.maxId >= 0) nsqd.guid.atLeast(files.maxId + 1);
  if (topic.durableMode) {
    topic.openDurable(files.journal, files.topicAcks);
    for (let i = 0; i < channels.length; i++) channels[i]!.openDurable(files.channelAcks[i]!);
    for (let k = 0; k < missedAcks.length; k += 2) channels[missedAcks[k]!]!.ackMoved(missedAcks[k + 1]!);
    // channels that were not in nsqd.dat's channel list have no ack segments: opened fresh
  } else {
    topic.journalReplayed();
  }
  return count;
}

/**
 * Durable mode on a data path with plain-mode disk queues: their messages get new IDs, go into the
 * journal (a channel's only for that channel) and into memory; the queue files go after the commit.
 */
function migrateDiskQueues(nsqd: NSQD, meta: TopicMeta[]): void {
  const moved: DiskQueue[] = [];
  for (const t of meta) {
    const topic = nsqd.getExistingTopic(t.name);
    if (topic === undefined || !topic.durable) continue;
    const queues: { name: string; target: Channel | null }[] = [{ name: topic.name, target: null }];
    for (const ch of topic.channels.values()) if (!ch.ephemeral) queues.push({ name: `${topic.name}:${ch.name}`, target: ch });
    for (const { name, target } of queues) {
      if (!existsSync(join(nsqd.dataPath, `${name}.diskqueue.meta.dat`))) continue;
      const q = openMessageDiskQueue(nsqd, name, false);
      let n = 0;
      for (let rec = q.shift(); rec !== null; rec = q.shift()) {
        const timestamp = readUint64BE(rec, 0);
        const attempts = rec.readUInt16BE(8);
        const id = nsqd.guid.next();
        const length = rec.length - MESSAGE_HEADER_LENGTH;
        const at = nsqd.bodies.copy(rec, MESSAGE_HEADER_LENGTH, length);
        const buf = nsqd.bodies.buffer;
        topic.journalAppend(id, timestamp, 0, attempts, target === null ? '' : target.name, buf, at, length);
        if (target === null) {
          if (topic.channels.size === 0) topic.restoreWaiting(id, timestamp, attempts, buf, at, length, 0);
          else for (const ch of topic.channels.values()) ch.restore(id, timestamp, attempts, buf, at, length, 0);
        } else {
          target.restore(id, timestamp, attempts, buf, at, length, 0);
        }
        n++;
      }
      moved.push(q);
      if (n > 0) nsqd.logger.info(`DISKQUEUE(${name}): ${n} message(s) moved into the durable journal`);
    }
  }
  if (moved.length === 0) return;
  // the journal holds them before the old files go; a crash in between only repeats them
  nsqd.durability!.commit();
  for (const q of moved) q.delete();
}

/** Durable files of topics and channels that nsqd.dat no longer lists (a crash during a delete). */
export function removeOrphans(nsqd: NSQD, meta: TopicMeta[]): void {
  const known = new Set<string>();
  for (const t of meta) {
    known.add(`${t.name}.journal`);
    known.add(topicAckPrefix(t.name));
    known.add(`${t.name}#spill`);
    for (const c of t.channels) {
      known.add(channelAckPrefix(t.name, c.name));
      known.add(`${t.name}:${c.name}#spill`);
    }
  }
  const seen = new Set<string>();
  let names: string[];
  try {
    names = readdirSync(nsqd.dataPath);
  } catch {
    return;
  }
  for (const name of names) {
    const spill = /^(.+#spill)\.diskqueue\.(?:meta|\d{6})\.dat$/.exec(name);
    if (spill !== null) {
      // a durable topic's or channel's scratch files (rebuilt at start): only the gone ones go here
      if (!known.has(spill[1]!)) removeFile(nsqd.dataPath, name);
      continue;
    }
    const m = /^(.+\.(?:journal|acks))\.\d{6,}\.dat$/.exec(name);
    if (m === null || known.has(m[1]!) || seen.has(m[1]!)) continue;
    seen.add(m[1]!);
    nsqd.logger.info(`NSQ: removing ${m[1]}.* (its topic or channel is gone)`);
    removeSegments(nsqd.dataPath, m[1]!);
  }
}

// A topic: accepts published messages and gives every channel its own copy. With no channel
// yet, or while paused, messages wait in the topic's own queue.

import { isEphemeral } from '../protocol/names.js';
import { Channel } from './channel.js';
import { Message, nowNanos } from './message.js';
import { Backlog } from './backlog.js';
import { MessageQueue } from './message-queue.js';
import { AckLog, Journal, channelAckPrefix, journalPrefix, readAcks, topicAckPrefix } from './journal.js';
import { removeSegments, type SegmentInfo } from './segment-log.js';
import { retentionMark, type RetentionLimits } from './retention.js';
import { Replay, ReplayError, type ReplayFrom } from './replay.js';
import type { NSQD } from './nsqd.js';
import type { PeekEntry } from './peek.js';

/** messages moved from the topic's backlog to its channels per event-loop turn */
const RELEASE_SLICE = 10_000;
/** how soon a release held back by a channel's refused disk writes is tried again */
const RELEASE_RETRY_MS = 1000;

export class Topic {
  readonly name: string;
  readonly nsqd: NSQD;
  readonly ephemeral: boolean;
  readonly channels = new Map<string, Channel>();
  /** the channels as an array, for the per-message fan-out */
  #channelList: Channel[] = [];
  #queue: Backlog;
  /** DPUBs that arrived while there was nowhere to deliver them: [message, due (monotonic ms)] */
  #deferredWaiting: { msg: Message; due: number }[] = [];
  #paused = false;
  #deleted = false;
  #releaseScheduled = false;
  /** durable mode: every message published here, and the IDs emptied out of the topic's own queue */
  #journal: Journal | null = null;
  #acks: AckLog | null = null;
  /**
   * durable mode: this turn's publishes, placed (fanned out, or held by the topic) only once the
   * journal batch holding them is committed, and dropped when the commit fails
   */
  #uncommitted: MessageQueue | null = null;
  #uncommittedDeferred: { msg: Message; delayMs: number }[] = [];
  /** plain mode read a durable journal at start: its files go once the backlogs are on disk */
  #journalLeftover = false;
  /**
   * While paused or without channels: the first message ID the topic holds itself, not its channels
   * (kept in nsqd.dat in durable mode, so recovery knows which journal records were waiting in the
   * topic and which went to channels, some since deleted)
   */
  heldFrom = 0;
  /**
   * Replication: a replica took over this topic's messages up to this ID while this node was away
   * (docs/replication.md, "Return"); its channels skip and ack them instead of delivering. -1: none.
   */
  takenUpTo = -1;
  /**
   * POST /topic/config (docs/retention.md): this topic's own --retention (ms) and --retention-size
   * (bytes), kept in nsqd.dat; null: the server's. Durable topics only.
   */
  retention: number | null = null;
  retentionSize: number | null = null;
  /** durable mode: this topic's journal may hold dead-letter moves (kept in nsqd.dat: recovery reads them first) */
  deadLetters = false;
  /** this turn's dead-letter moves into this topic, settled once the journal batch holding them is committed */
  #uncommittedMoves: { source: Channel; msg: Message }[] = [];

  messageCount = 0;
  messageBytes = 0;

  constructor(nsqd: NSQD, name: string) {
    this.nsqd = nsqd;
    this.name = name;
    this.ephemeral = isEphemeral(name);
    this.durableMode = nsqd.isDurableTopic(name);
    this.#queue = new Backlog(nsqd, this.ephemeral ? null : name, this.durableMode);
    if (this.durableMode && !nsqd.restoring) this.openDurable();
  }

  /** Whether this topic is journaled (--durable, or a --durable-topic pattern matches its name). */
  readonly durableMode: boolean;

  /** Whether the journal is open (after recovery, for a durable topic). */
  get durable(): boolean {
    return this.#journal !== null;
  }

  /** Durable mode: opens the journal and ack log, after the segments found at start (none: a fresh topic). */
  openDurable(journalSegments?: SegmentInfo[], ackSegments?: SegmentInfo[]): void {
    const d = this.nsqd.durability!;
    this.#journal = d.journal(this.name, journalSegments);
    this.#acks = d.acks(topicAckPrefix(this.name), ackSegments);
  }

  /** The retention limits in force: the topic's own where set, else the server's. */
  get retentionLimits(): RetentionLimits {
    const o = this.nsqd.options;
    return { retention: this.retention ?? o.retention, retentionSize: this.retentionSize ?? o.retentionSize };
  }

  /**
   * What the journal keeps (retained or still needed), for /stats: the oldest record's publish time
   * (epoch ms; 0 when the journal is empty) and the bytes of its segments. Null for a plain topic.
   */
  journalRange(): { oldestMs: number; bytes: number } | null {
    const journal = this.#journal;
    if (journal === null) return null;
    let oldest = Infinity;
    let bytes = 0;
    for (const s of journal.log.segments()) {
      if (s.minTs < oldest) oldest = s.minTs;
      bytes += s.bytes;
    }
    return { oldestMs: oldest === Infinity ? 0 : Math.floor(oldest / 1e6), bytes };
  }

  /** Plain mode replayed this topic's journal at start. */
  journalReplayed(): void {
    this.#journalLeftover = true;
  }

  /** messages held by the topic itself, deferred ones waiting for a channel included (as nsqd counts them) */
  get depth(): number {
    return this.#queue.length + this.#deferredWaiting.length;
  }

  get backendDepth(): number {
    return this.#queue.backendDepth;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get deleted(): boolean {
    return this.#deleted;
  }

  /** Publishes one message whose body is buf[start, start+length). */
  publish(buf: Buffer, start: number, length: number, timestamp = nowNanos()): void {
    const id = this.nsqd.guid.next();
    const journal = this.#journal;
    if (journal !== null) {
      journal.append(id, timestamp, 0, 0, '', buf, start, length);
      this.#awaitCommit().push(id, timestamp, 0, buf, start, length);
      return;
    }
    this.#place(id, timestamp, buf, start, length);
  }

  /**
   * Whether publish() now keeps the message in memory, in the topic's queue or in every channel's:
   * no journal, no disk write, so it cannot fail and may be answered before it runs (ProtocolV2).
   * The same choice as #place's, made ahead of it.
   */
  get publishStaysInMemory(): boolean {
    if (this.#journal !== null || this.#deleted) return false;
    if (this.#waitsInTopic()) return this.#queue.keepsNextInMemory;
    const list = this.#channelList;
    for (let i = 0; i < list.length; i++) if (!list[i]!.keepsNextInMemory) return false;
    return true;
  }

  /**
   * A dead-letter move into this durable topic (docs/dead-letters.md): one journal record that is
   * both this topic's new message and `source`'s ack of `msg`; `source` holds `msg` until the
   * commit settles it (settleMoves).
   */
  publishMove(source: Channel, msg: Message): void {
    const journal = this.#journal;
    if (journal === null) throw new Error(`topic ${this.name} is not durable`);
    if (!this.deadLetters) {
      // nsqd.dat is written before the journals in the same commit: a restart knows to read the moves
      this.deadLetters = true;
      this.nsqd.metadataChanged();
    }
    const id = this.nsqd.guid.next();
    const timestamp = nowNanos();
    journal.appendMove(id, timestamp, source.topic.name, source.name, msg.id, msg.body, msg.bodyStart, msg.bodyLength);
    this.#awaitCommit().push(id, timestamp, 0, msg.body, msg.bodyStart, msg.bodyLength);
    this.#uncommittedMoves.push({ source, msg });
  }

  /**
   * The commit wrote this topic's journal batch (ok) or dropped it: each move of the turn is done
   * for its source channel, or goes back into it. Called before the commit writes the ack logs, so
   * a source's ack goes out in the same commit as the move.
   */
  settleMoves(ok: boolean): void {
    if (this.#uncommittedMoves.length === 0) return;
    const moves = this.#uncommittedMoves;
    this.#uncommittedMoves = [];
    // a topic deleted before the commit took its journal (and the move records) with it
    const written = ok && !this.#deleted;
    for (const { source, msg } of moves) source.moveSettled(msg, written, this.name);
  }

  /** Durable mode: the queue of this turn's publishes, registered with the commit. */
  #awaitCommit(): MessageQueue {
    if (this.#uncommitted === null) this.#uncommitted = new MessageQueue();
    if (this.#uncommitted.length === 0 && this.#uncommittedDeferred.length === 0) this.nsqd.durability!.placeAfterCommit(this);
    return this.#uncommitted;
  }

  /**
   * Durable mode, after the commit of the turn: its publishes go to the channels (ok), or are
   * dropped with the journal's batch (the disk refused it; the publishers are answered an error).
   */
  committed(ok: boolean): void {
    const q = this.#uncommitted;
    const deferred = this.#uncommittedDeferred;
    this.#uncommittedDeferred = [];
    if (!ok || this.#deleted) {
      q?.clear();
      if (!ok) this.#journal?.log.discard();
      return;
    }
    q?.drain(this.#placeDrained);
    for (const d of deferred) this.#placeDeferred(d.msg, d.delayMs);
  }

  #placeDrained = (id: number, timestamp: number, _attempts: number, buf: Buffer, start: number, length: number): void => this.#place(id, timestamp, buf, start, length);

  /** Whether a message published now waits in the topic: paused, no channel yet, or behind a backlog. */
  #waitsInTopic(): boolean {
    return this.#paused || this.#channelList.length === 0 || this.#queue.length > 0;
  }

  /** A published message goes to every channel, or waits in the topic. */
  #place(id: number, timestamp: number, buf: Buffer, start: number, length: number): void {
    this.messageCount++;
    this.messageBytes += length;
    if (this.#waitsInTopic()) {
      // behind a backlog (say, read back from disk after a restart) a message waits its turn
      this.#queue.push(id, timestamp, 0, buf, start, length);
      if (this.#queue.length === 1) this.#release();
      return;
    }
    this.#fanOut(id, timestamp, buf, start, length);
  }

  /** DPUB: each channel gets the message after `delayMs`. */
  publishDeferred(buf: Buffer, start: number, length: number, delayMs: number): void {
    const msg = new Message(this.nsqd.guid.next(), nowNanos(), buf, start, length);
    if (this.#journal !== null) {
      this.#journal.append(msg.id, msg.timestamp, Date.now() + delayMs, 0, '', buf, start, length);
      this.#awaitCommit();
      this.#uncommittedDeferred.push({ msg, delayMs });
      return;
    }
    this.#placeDeferred(msg, delayMs);
  }

  #placeDeferred(msg: Message, delayMs: number): void {
    this.messageCount++;
    this.messageBytes += msg.bodyLength;
    const list = this.#channelList;
    if (list.length === 0 || this.#paused) {
      // nowhere to defer it yet: it waits with the topic and keeps its due time
      this.#deferredWaiting.push({ msg, due: performance.now() + delayMs });
      return;
    }
    this.#deferToChannels(msg, delayMs);
  }

  #channelFailing(): boolean {
    for (const ch of this.#channelList) if (ch.failing) return true;
    return false;
  }

  /** Every channel gets the message; they share the body bytes. */
  #fanOut(id: number, timestamp: number, buf: Buffer, start: number, length: number): void {
    const list = this.#channelList;
    for (let i = 0; i < list.length; i++) {
      const ch = list[i]!;
      // a channel created with from= reads what came before its liveFrom from the journal
      if (id >= ch.liveFrom) ch.put(id, timestamp, buf, start, length);
    }
  }

  /** Gives channel after channel a deferred message (each its own copy but the first's). */
  #deferToChannels(msg: Message, delayMs: number): void {
    const list = this.#channelList;
    let shared = true;
    for (let i = 0; i < list.length; i++) {
      const ch = list[i]!;
      if (msg.id < ch.liveFrom) continue;
      ch.putDeferred(shared ? msg : msg.copy(), delayMs);
      shared = false;
    }
  }

  /** Moves waiting messages to the channels once there are channels and the topic runs. */
  #release(): void {
    if (this.#paused || this.#channelList.length === 0 || this.#deleted) return;
    if (this.#queue.length > 0 && this.#channelFailing()) {
      // moving messages into a channel whose disk refuses writes would only grow its buffer
      if (!this.#releaseScheduled) {
        this.#releaseScheduled = true;
        setTimeout(() => {
          this.#releaseScheduled = false;
          this.#release();
        }, RELEASE_RETRY_MS).unref();
      }
      return;
    }
    // a large backlog moves in slices, so the server keeps answering everyone meanwhile
    for (let n = 0; n < RELEASE_SLICE; n++) {
      const m = this.#queue.shift();
      if (m === undefined) break;
      this.#fanOut(m.id, m.timestamp, m.body, m.bodyStart, m.bodyLength);
    }
    if (this.#queue.length > 0 && !this.#releaseScheduled) {
      this.#releaseScheduled = true;
      setImmediate(() => {
        this.#releaseScheduled = false;
        this.#release();
      });
    }
    if (this.#deferredWaiting.length > 0) {
      const now = performance.now();
      const waiting = this.#deferredWaiting;
      this.#deferredWaiting = [];
      for (const { msg, due } of waiting) this.#deferToChannels(msg, Math.max(0, due - now));
    }
  }

  getChannel(name: string): Channel {
    let ch = this.channels.get(name);
    if (ch === undefined) {
      // the channel gets every message from the oldest one still waiting in the topic on
      const waiting = this.#lowestWaiting();
      ch = new Channel(this, name, waiting === Infinity ? this.nsqd.guid.peek() : waiting);
      this.#addChannel(ch);
    }
    return ch;
  }

  #addChannel(ch: Channel): void {
    this.channels.set(ch.name, ch);
    this.#channelList = [...this.channels.values()];
    this.nsqd.logger.info(`TOPIC(${this.name}): new channel(${ch.name})`);
    this.nsqd.metadataChanged();
    this.nsqd.lookup.channelCreated(this.name, ch.name);
    this.#release();
  }

  /**
   * A new channel that starts at `from` (docs/retention.md): with the retained journal records from
   * there on (earliest, or the first published at or after a time), or with only what is published
   * from now (latest). Durable topics only; the channel must not exist.
   */
  createChannelFrom(name: string, from: ReplayFrom): Channel {
    const journal = this.#journal;
    if (journal === null) throw new ReplayError('NOT_DURABLE', `topic ${this.name} is not durable: it keeps nothing to replay`);
    if (this.channels.has(name)) throw new ReplayError('CHANNEL_EXISTS', `channel ${name} exists: from= is for a new channel`);
    // they wait for the topic's first channel: one that skips them would leave them to nobody
    if (from.kind !== 'earliest' && this.depth > 0) throw new ReplayError('TOPIC_HOLDS_MESSAGES', `topic ${this.name} holds ${this.depth} messages for its next channel: create it without from=, or with from=earliest`);
    // what is not in the journal yet is the topic's to fan out: this turn's publishes, and later ones
    const pending = Math.min(this.#uncommitted?.minId() ?? Infinity, ...this.#uncommittedDeferred.map((d) => d.msg.id), this.nsqd.guid.peek());
    const ch = new Channel(this, name, pending);
    ch.liveFrom = pending;
    const fromNs = from.kind === 'time' ? from.epochMs * 1e6 : 0;
    const segments = journal.log.segments();
    const first = from.kind === 'latest' ? undefined : segments.find((s) => s.maxTs >= fromNs);
    if (first !== undefined) {
      const skip = readAcks(this.nsqd.dataPath, topicAckPrefix(this.name), this.nsqd.logger).ids;
      const replay = new Replay(ch, this.nsqd.dataPath, journal.log, first.num, fromNs, skip, pending);
      ch.liveFrom = Infinity;
      ch.replay = replay;
      this.#addChannel(ch);
      replay.begin();
      if (replay.startId >= 0) ch.startId = replay.startId;
    } else {
      this.#addChannel(ch);
    }
    return ch;
  }

  getExistingChannel(name: string): Channel | undefined {
    return this.channels.get(name);
  }

  deleteChannel(name: string): boolean {
    const ch = this.channels.get(name);
    if (ch === undefined) return false;
    this.channels.delete(name);
    this.#channelList = [...this.channels.values()];
    ch.close();
    if (!this.#paused && this.holding) this.#startHolding();
    this.nsqd.logger.info(`TOPIC(${this.name}): deleting channel ${name}`);
    this.nsqd.metadataChanged();
    this.nsqd.lookup.channelDeleted(this.name, name);
    if (this.ephemeral && this.channels.size === 0) this.nsqd.deleteTopic(this.name);
    return true;
  }

  /** Waiting deferred messages count as deferred in stats. */
  get waitingDeferredCount(): number {
    return this.#deferredWaiting.length;
  }

  /** From here on the topic keeps what waits in it now and every later message. */
  #startHolding(): void {
    this.heldFrom = Math.min(this.#lowestWaiting(), this.nsqd.guid.peek());
  }

  /** Whether the topic keeps its messages itself: paused, or no (lasting) channel to give them to. */
  get holding(): boolean {
    if (this.#paused) return true;
    for (const ch of this.#channelList) if (!ch.ephemeral) return false;
    return true;
  }

  pause(): void {
    this.#startHolding();
    this.#paused = true;
    this.nsqd.metadataChanged();
  }

  unpause(): void {
    this.#paused = false;
    this.nsqd.metadataChanged();
    this.#release();
  }

  /** Drops the messages waiting in the topic itself (channels keep theirs), as nsqd does. */
  empty(): void {
    const acks = this.#acks;
    if (acks !== null) {
      this.#queue.drainIds((id) => acks.add(id));
      for (const w of this.#deferredWaiting) acks.add(w.msg.id);
    }
    this.#queue.clear();
    this.#deferredWaiting = [];
  }

  /**
   * Shutdown. Plain mode: the topic's own waiting messages (deferred ones included, undeferred) and
   * every channel's go to disk. Durable mode: the journal already has them; its last batch is written.
   * Returns how many messages the disk refused (plain mode).
   */
  persist(): number {
    if (this.#journal !== null) {
      try {
        // what every channel is done with need not be read again at the next start
        this.#journal.log.seal();
        this.compact();
      } finally {
        // a refusal here costs only a longer replay: the journal has every message
        this.#journal.log.close();
        this.#acks!.log.close();
        this.#queue.dropSpill();
        for (const ch of this.#channelList) ch.persist();
      }
      return 0;
    }
    const waiting = this.#deferredWaiting.map((w) => w.msg);
    this.#deferredWaiting = [];
    let lost = this.#queue.persist([], waiting);
    for (const ch of this.#channelList) lost += ch.persist();
    // the journal still has what the disk refused to take
    if (this.#journalLeftover && lost === 0) this.#removeDurableFiles();
    return lost;
  }

  #removeDurableFiles(): void {
    const dataPath = this.nsqd.dataPath;
    removeSegments(dataPath, journalPrefix(this.name));
    removeSegments(dataPath, topicAckPrefix(this.name));
    for (const ch of this.channels.keys()) removeSegments(dataPath, channelAckPrefix(this.name, ch));
  }

  /** The topic is deleted: channels disconnected, data removed. */
  close(): void {
    this.#deleted = true;
    for (const ch of this.#channelList) ch.close();
    this.channels.clear();
    this.#channelList = [];
    this.#queue.delete();
    this.#journal?.log.delete();
    this.#acks?.log.delete();
    this.#journal = null;
    this.#acks = null;
    if (this.#journalLeftover) removeSegments(this.nsqd.dataPath, journalPrefix(this.name));
  }

  /** GET /topic/peek (peek.ts): the oldest `n` messages waiting in the topic itself, left where they are. */
  peekQueued(n: number): PeekEntry[] {
    return n > 0 ? this.#queue.peek(n) : [];
  }

  /** The DPUBs waiting for a channel, in no order, left where they are (a peek). */
  forEachWaitingDeferred(fn: (w: { msg: Message; due: number }) => void): void {
    this.#deferredWaiting.forEach((w) => fn(w));
  }

  // ---- durable mode -----------------------------------------------------------------------------

  /** The lowest ID waiting in the topic itself; Infinity when none is. */
  #lowestWaiting(): number {
    let min = this.#queue.minId();
    for (const w of this.#deferredWaiting) if (w.msg.id < min) min = w.msg.id;
    // this turn's publishes, not placed until the commit, wait in the topic too
    if (this.#uncommitted !== null) min = Math.min(min, this.#uncommitted.minId());
    for (const d of this.#uncommittedDeferred) if (d.msg.id < min) min = d.msg.id;
    return min;
  }

  /**
   * Deletes the journal segments every channel is done with, and the ack segments that only speak
   * of IDs no longer in the journal.
   */
  compact(): void {
    const journal = this.#journal;
    if (journal === null) return;
    let mark = Math.min(this.#lowestWaiting(), this.nsqd.guid.peek());
    for (const ch of this.#channelList) mark = Math.min(mark, ch.lowestHeld());
    journal.log.dropBelow(retentionMark(journal.log.segments(), mark, this.retentionLimits, nowNanos()));
    const segments = journal.log.segments();
    const first = segments.length > 0 ? segments[0]!.minId : mark;
    this.#acks!.log.dropBelow(first);
    for (const ch of this.#channelList) ch.dropAcksBelow(first);
  }

  /** Recovery: a message that waits in the topic itself (it had no channel yet). */
  restoreWaiting(id: number, timestamp: number, attempts: number, buf: Buffer, start: number, length: number, dueEpochMs: number): void {
    const wait = dueEpochMs - Date.now();
    if (dueEpochMs > 0 && wait > 0) {
      const msg = new Message(id, timestamp, buf, start, length);
      msg.attempts = attempts;
      this.#deferredWaiting.push({ msg, due: performance.now() + wait });
      return;
    }
    this.#queue.push(id, timestamp, attempts, buf, start, length);
  }

  /** Recovery done: waiting messages start moving to the channels, channels to their consumers. */
  restored(): void {
    this.#release();
    for (const ch of this.#channelList) ch.pump();
  }

  /** Legacy disk queue migration and recovery add records to the journal as they place them. */
  journalAppend(id: number, timestamp: number, due: number, attempts: number, target: string, buf: Buffer, start: number, length: number): void {
    this.#journal?.append(id, timestamp, due, attempts, target, buf, start, length);
  }
}

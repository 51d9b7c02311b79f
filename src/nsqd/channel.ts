// A channel: its own copy of every message of its topic, shared by the consumers subscribed to it.
// Owns the queued messages, the deferred heap, and the delivery pump that spreads messages over
// ready consumers. In-flight messages live with the consumer that holds them (client.ts).

import { messageIdToString } from '../protocol/message-id.js';
import { isEphemeral, isValidTopicName } from '../protocol/names.js';
import type { Client } from './client.js';
import { Message, MSG_DEFERRED, MSG_DONE, MSG_QUEUED, NO_DEADLINE, nowNanos } from './message.js';
import { DeferredHeap } from './pqueue.js';
import { Backlog } from './backlog.js';
import { AckLog, channelAckPrefix } from './journal.js';
import type { Replay } from './replay.js';
import type { SegmentInfo } from './segment-log.js';
import { LatencyStream } from './stats.js';
import type { Topic } from './topic.js';
import type { PeekEntry } from './peek.js';

export class Channel {
  readonly name: string;
  readonly topic: Topic;
  readonly ephemeral: boolean;

  readonly clients: Client[] = [];
  #rr = 0;
  #queue: Backlog;
  #deferred = new DeferredHeap();
  #paused = false;
  #pumping = false;
  /** in NSQD.scanning: has (or had at the last pass) in-flight or deferred messages */
  #scanned = false;
  #deleted = false;
  /** durable mode: the IDs this channel is done with (finished, sampled out, emptied) */
  #acks: AckLog | null = null;
  /** the first message ID of the topic that belongs to this channel (kept in nsqd.dat) */
  startId: number;
  /**
   * The topic's fan-out gives this channel only messages with this ID or above: 0 for every
   * channel but one created with `from=`, which reads what came before from the journal (Replay):
   * Infinity while it does, then the ID after the last record it read.
   */
  liveFrom = 0;
  /** the journal reader of a channel created with `from=`, until it caught up */
  replay: Replay | null = null;

  /**
   * An ordered channel (docs/ordered-channels.md; POST /channel/config?ordered=, --ordered-channel,
   * kept in nsqd.dat) delivers one message at a time in publish order: the next only once the one
   * before it is finished. The head is the message the line waits on when it is not in the queue
   * any more: requeued (REQ, timeout, a consumer leaving) or waiting out a REQ's delay.
   */
  #ordered = false;
  #head: Message | null = null;

  /** POST /channel/config (kept in nsqd.dat): null = the server's --max-attempts, and `<topic>.dead` */
  maxAttempts: number | null = null;
  deadLetterTopic: string | null = null;
  /** the dead-letter topic cannot be used (a bad name, a plain one for a durable channel): said once (docs/dead-letters.md) */
  #badDeadLetterLogged = false;
  /** durable dead-letter moves whose journal record is not committed yet: held (compaction keeps them) */
  #moving = new Set<Message>();

  messageCount = 0;
  requeueCount = 0;
  deadLetteredCount = 0;
  timeoutCount = 0;
  inFlightCount = 0;
  readonly e2eLatency: LatencyStream;

  constructor(topic: Topic, name: string, startId = 0) {
    this.topic = topic;
    this.name = name;
    this.startId = startId;
    this.ephemeral = isEphemeral(name);
    const durable = topic.durableMode && !this.ephemeral;
    // nsqd names a channel's disk queue <topic>:<channel>
    this.#queue = new Backlog(topic.nsqd, this.ephemeral ? null : `${topic.name}:${name}`, durable);
    if (durable && !topic.nsqd.restoring) this.openDurable();
    const o = topic.nsqd.options;
    this.e2eLatency = new LatencyStream(o.e2eProcessingLatencyWindowTime, o.e2eProcessingLatencyPercentiles);
    this.#ordered = topic.nsqd.orderedByDefault(topic.name, name);
  }

  /** Durable mode: opens the ack log, after the segments found at start (none: a fresh channel). */
  openDurable(existing?: SegmentInfo[]): void {
    this.#acks = this.topic.nsqd.durability!.acks(channelAckPrefix(this.topic.name, this.name), existing);
  }

  /** waiting messages, memory and disk (and an ordered channel's requeued head) */
  get depth(): number {
    return this.#queue.length + (this.#head !== null && this.#head.state === MSG_QUEUED ? 1 : 0);
  }

  get backendDepth(): number {
    return this.#queue.backendDepth;
  }

  get deferredCount(): number {
    return this.#deferred.length + (this.#head !== null && this.#head.state === MSG_DEFERRED ? 1 : 0);
  }

  get ordered(): boolean {
    return this.#ordered;
  }

  /** Makes the channel ordered or not; a head waiting for its turn joins the front of the queue's order either way. */
  setOrdered(on: boolean): void {
    if (on === this.#ordered) return;
    this.#ordered = on;
    if (!on && this.#head !== null) {
      const head = this.#head;
      this.#head = null;
      if (head.state === MSG_DEFERRED) this.#deferred.push(head);
      else if (!this.#queue.pushMessage(head)) head.state = MSG_DONE;
    }
    this.pump();
  }

  /** An ordered channel's head and how long it has waited, for /stats (null: no head). */
  headInfo(now: number): { id: number; ageMs: number; attempts: number } | null {
    if (!this.#ordered) return null;
    let msg: Message | undefined = this.#head ?? undefined;
    if (msg === undefined) {
      for (const c of this.clients) {
        c.inFlight.forEach((m) => {
          msg = m;
        });
        if (msg !== undefined) break;
      }
    }
    if (msg === undefined) {
      const next = this.#queue.peek(1)[0];
      if (next === undefined) return null;
      return { id: parseInt(next.id, 16), ageMs: Math.max(0, now - Math.floor(next.timestamp / 1e6)), attempts: next.attempts };
    }
    const m: Message = msg;
    return { id: m.id, ageMs: Math.max(0, now - Math.floor(m.timestamp / 1e6)), attempts: m.attempts };
  }

  get paused(): boolean {
    return this.#paused;
  }

  get deleted(): boolean {
    return this.#deleted;
  }

  /** A new message from the topic. */
  put(id: number, timestamp: number, buf: Buffer, start: number, length: number): void {
    this.messageCount++;
    this.#queue.push(id, timestamp, 0, buf, start, length);
    this.pump();
  }

  /** The limit in force: this channel's own, else the server's; 0 = unlimited. */
  get effectiveMaxAttempts(): number {
    return this.maxAttempts ?? this.topic.nsqd.options.maxAttempts;
  }

  get effectiveDeadLetterTopic(): string {
    return this.deadLetterTopic ?? `${this.topic.name}.dead`;
  }

  /**
   * Back into the queue after a timeout, a REQ without delay, the end of a deferral or a consumer
   * leaving: the one way back, so the dead-letter check is here only (docs/dead-letters.md).
   */
  #requeue(msg: Message, atEnd = false): void {
    const max = this.maxAttempts ?? this.topic.nsqd.options.maxAttempts;
    if (max > 0 && msg.attempts >= max && this.#deadLetter(msg)) return;
    msg.state = MSG_QUEUED;
    msg.owner = null;
    msg.deadline = NO_DEADLINE;
    // an ordered channel's message back from a consumer is its head: first again (a deferred
    // message that came due joins the end of the line instead)
    if (this.#ordered && !atEnd && this.#head === null) {
      this.#head = msg;
      return;
    }
    if (!this.#queue.pushMessage(msg)) msg.state = MSG_DONE;
  }

  /**
   * Publishes `msg`'s body to the dead-letter topic as a new message, through the same path as PUB.
   * False (the message stays here, delivered again) when the name is invalid or the publish fails.
   */
  #deadLetter(msg: Message): boolean {
    const nsqd = this.topic.nsqd;
    const name = this.effectiveDeadLetterTopic;
    const durableDead = nsqd.isDurableTopic(name);
    // a durable channel's move must be one commit: a plain dead-letter topic cannot take part in it
    const why = !isValidTopicName(name) || isEphemeral(name) || name === this.topic.name ? 'not a usable topic name' : this.#acks !== null && !durableDead ? 'the dead-letter topic is not durable (a durable channel moves a message under one commit)' : null;
    if (why !== null) {
      if (!this.#badDeadLetterLogged) nsqd.logger.error(`CHANNEL(${this.topic.name}:${this.name}): cannot dead-letter to "${name}": ${why}; messages past max attempts are requeued`);
      this.#badDeadLetterLogged = true;
      return false;
    }
    try {
      if (durableDead) {
        // one journal record in the dead-letter topic; settled by the commit (moveSettled)
        const dead = nsqd.getTopic(name);
        nsqd.publish(() => dead.publishMove(this, msg));
        msg.owner = null;
        msg.state = MSG_DONE;
        this.#moving.add(msg);
        return true;
      }
      nsqd.publish(() => nsqd.getTopic(name).publish(msg.body, msg.bodyStart, msg.bodyLength));
    } catch (err) {
      this.#deadLetterFailed(msg, name, err as Error);
      return false;
    }
    msg.state = MSG_DONE;
    msg.owner = null;
    this.deadLetteredCount++;
    return true;
  }

  #deadLetterFailed(msg: Message, name: string, err: Error): void {
    this.topic.nsqd.logger.error(`CHANNEL(${this.topic.name}:${this.name}): failed to dead-letter message ${messageIdToString(msg.id)} to ${name} - ${err.message}`);
  }

  /**
   * The commit of a durable move (Topic.settleMoves): written, the message is done here (its ack is
   * written by the same commit); refused, it goes back into the queue as if there were no limit.
   */
  moveSettled(msg: Message, written: boolean, dead: string): void {
    if (!this.#moving.delete(msg) || this.#deleted) return;
    if (written) {
      this.deadLetteredCount++;
      if (this.#acks !== null) this.#acks.add(msg.id);
      // an ordered channel's line waited for the move (#pumpOrdered): it goes on now
      if (this.#ordered) this.pump();
      return;
    }
    const why = this.topic.nsqd.durability?.failure(dead) ?? new Error('the dead-letter topic was deleted');
    this.#deadLetterFailed(msg, dead, why);
    msg.state = MSG_QUEUED;
    msg.deadline = NO_DEADLINE;
    // on an ordered channel the line held for it, so it is still first: the head again
    if (this.#ordered && this.#head === null) this.#head = msg;
    else if (!this.#queue.pushMessage(msg)) msg.state = MSG_DONE;
    this.pump();
  }

  /** Recovery: a message moved to a dead-letter topic whose ack this channel may have missed. */
  ackMoved(id: number): void {
    this.#acks?.add(id);
  }

  /** a publish in progress holds this channel's delivery back until it ends (NSQD.publish) */
  pumpQueued = false;

  /** Whether the disk refused this channel's last write (its topic then holds messages back). */
  get failing(): boolean {
    return this.#queue.failing;
  }

  /** Whether put() now keeps the message in memory (Backlog.keepsNextInMemory). */
  get keepsNextInMemory(): boolean {
    return this.#queue.keepsNextInMemory;
  }

  /** Hands queued messages to ready consumers, round-robin, until either runs out. */
  pump(): void {
    if (this.#ordered) return this.#pumpOrdered();
    if (this.#paused || this.#pumping || this.#queue.length === 0 || this.topic.nsqd.deliveryHeld) return;
    // what a publish in progress added is delivered only once the whole publish succeeded
    if (this.topic.nsqd.publishing !== null) {
      if (!this.pumpQueued) this.topic.nsqd.pumpAfterPublish(this);
      return;
    }
    this.#pumping = true;
    const clients = this.clients;
    const q = this.#queue;
    // replication: IDs at or below this were delivered by a replica while this node was away
    const takenUpTo = this.topic.takenUpTo;
    let now = -1.5;
    while (q.length > 0) {
      const n = clients.length;
      // stay on this consumer while it has room: fewer, larger writes
      const client = this.#readyClient(0);
      if (client === undefined) break;
      const msg = q.shift();
      if (msg === undefined) break;
      if (msg.id <= takenUpTo) {
        // a replica took this message over while this node was away: it delivers it, not this node
        msg.state = MSG_DONE;
        if (this.#acks !== null) this.#acks.add(msg.id);
        continue;
      }
      if (client.sampleRate > 0 && Math.random() * 100 >= client.sampleRate) {
        // sampled out, as nsqd does: this channel skips the message for good
        msg.state = MSG_DONE;
        if (this.#acks !== null) this.#acks.add(msg.id);
        continue;
      }
      if (now < 0) {
        now = performance.now();
        this.#watch();
      }
      this.inFlightCount++;
      client.deliver(msg, now);
      if (!client.isReady()) this.#rr = (this.#rr + 1) % (n || 1);
    }
    this.#pumping = false;
  }

  /**
   * An ordered channel's pump: one message out at a time, the head first. A head waiting out a
   * REQ's delay holds the line; the scan loop releases it.
   */
  #pumpOrdered(): void {
    // a head on its way to the dead-letter topic (durable: until its commit) still holds the line,
    // as the disk may refuse the move and give it back (moveSettled)
    if (this.#paused || this.#pumping || this.inFlightCount > 0 || this.#moving.size > 0 || this.topic.nsqd.deliveryHeld) return;
    const head = this.#head;
    if (head === null ? this.#queue.length === 0 : head.state === MSG_DEFERRED) return;
    if (this.topic.nsqd.publishing !== null) {
      if (!this.pumpQueued) this.topic.nsqd.pumpAfterPublish(this);
      return;
    }
    this.#pumping = true;
    const takenUpTo = this.topic.takenUpTo;
    for (;;) {
      // one message at a time: the next goes to the next consumer
      const client = this.#readyClient(1);
      if (client === undefined) break;
      let msg: Message | undefined;
      if (this.#head !== null) {
        msg = this.#head;
        this.#head = null;
      } else {
        msg = this.#queue.shift();
      }
      if (msg === undefined) break;
      if (msg.id <= takenUpTo) {
        msg.state = MSG_DONE;
        if (this.#acks !== null) this.#acks.add(msg.id);
        continue;
      }
      // sample_rate does not apply: a sampled line would not be the line
      this.#watch();
      this.inFlightCount++;
      client.deliver(msg, performance.now());
      break;
    }
    this.#pumping = false;
  }

  /** The first ready consumer from the round-robin position, which moves to it plus `past`. */
  #readyClient(past: number): Client | undefined {
    const clients = this.clients;
    const n = clients.length;
    for (let k = 0; k < n; k++) {
      const c = clients[(this.#rr + k) % n]!;
      if (c.isReady()) {
        this.#rr = (this.#rr + k + past) % n;
        return c;
      }
    }
    return undefined;
  }

  addClient(client: Client): void {
    this.clients.push(client);
  }

  /** A consumer left: its in-flight messages go back to the queue at once. */
  removeClient(client: Client): void {
    const i = this.clients.indexOf(client);
    if (i === -1) return;
    this.clients.splice(i, 1);
    if (this.#rr >= this.clients.length) this.#rr = 0;
    const held = client.inFlight.drain();
    client.timeouts.clear();
    client.inFlightCount = 0;
    for (const msg of held) {
      this.inFlightCount--;
      this.requeueCount++;
      this.#requeue(msg);
    }
    if (this.ephemeral && this.clients.length === 0) {
      this.topic.deleteChannel(this.name);
      return;
    }
    this.pump();
  }

  #takeInFlight(client: Client, id: number): Message | undefined {
    const msg = id < 0 ? undefined : client.inFlight.take(id);
    if (msg === undefined) return undefined;
    client.inFlightCount--;
    this.inFlightCount--;
    client.timeouts.trim(client);
    return msg;
  }

  /** Why FIN/REQ/TOUCH of `id` failed, in nsqd's words: the failure path only, so a scan is fine. */
  notInFlightReason(client: Client, id: number): string {
    if (id >= 0) {
      for (const other of this.clients) {
        if (other !== client && other.inFlight.get(id) !== undefined) return 'client does not own message';
      }
    }
    return 'ID not in flight';
  }

  /** FIN: false when the message is not in flight to this client. */
  finish(client: Client, id: number): boolean {
    const msg = this.#takeInFlight(client, id);
    if (msg === undefined) return false;
    msg.state = MSG_DONE;
    msg.owner = null;
    client.finishCount++;
    if (this.#acks !== null) this.#acks.add(id);
    if (this.e2eLatency.enabled) this.e2eLatency.add(nowNanos() - msg.timestamp);
    this.pump();
    return true;
  }

  /** REQ: back to the queue now, or deferred for `delayMs`. */
  requeue(client: Client, id: number, delayMs: number): boolean {
    const msg = this.#takeInFlight(client, id);
    if (msg === undefined) return false;
    client.requeueCount++;
    this.requeueCount++;
    if (delayMs > 0 && this.#ordered && this.#head === null) {
      // the head waits out the delay at the front of the line: nothing overtakes it
      this.#holdBack(msg, delayMs);
      this.#head = msg;
    } else if (delayMs > 0) this.defer(msg, delayMs);
    else this.#requeue(msg);
    this.pump();
    return true;
  }

  /** TOUCH: the message's timeout starts again. */
  touch(client: Client, id: number): boolean {
    const msg = id < 0 ? undefined : client.inFlight.get(id);
    if (msg === undefined) return false;
    const limit = msg.deliveredAt + this.topic.nsqd.options.maxMsgTimeout;
    msg.deadline = Math.min(performance.now() + client.msgTimeout, limit);
    client.timeouts.push(msg, msg.deadline, client.inFlightCount);
    return true;
  }

  /** Something here can now time out or come due: the scan loop visits this channel until nothing can. */
  #watch(): void {
    if (this.#scanned) return;
    this.#scanned = true;
    this.topic.nsqd.scanning.add(this);
  }

  /** Holds a message back for `delayMs` (DPUB, or REQ with a delay). */
  defer(msg: Message, delayMs: number): void {
    this.#holdBack(msg, delayMs);
    this.#deferred.push(msg);
  }

  /** A message waits `delayMs` (in the deferred heap, or as an ordered channel's head); the scan loop releases it. */
  #holdBack(msg: Message, delayMs: number): void {
    this.#watch();
    msg.state = MSG_DEFERRED;
    msg.owner = null;
    msg.deadline = performance.now() + delayMs;
  }

  /** A deferred message from the topic (DPUB): counts as a new message of this channel. */
  putDeferred(msg: Message, delayMs: number): void {
    this.messageCount++;
    this.defer(msg, delayMs);
  }

  /**
   * One pass of the queue-scan loop: time out in-flight messages, release due deferred ones. The
   * loop visits only channels in NSQD.scanning; a channel leaves it once it holds nothing that can
   * time out (this pass also dropped its consumers' stale timeout entries).
   */
  scan(now: number): void {
    let moved = false;
    for (const client of this.clients) {
      for (let msg = client.timeouts.popExpired(now, client); msg !== undefined; msg = client.timeouts.popExpired(now, client)) {
        client.inFlight.take(msg.id);
        client.inFlightCount--;
        this.inFlightCount--;
        this.timeoutCount++;
        this.#requeue(msg);
        moved = true;
      }
    }
    for (let msg = this.#deferred.popDue(now); msg !== undefined; msg = this.#deferred.popDue(now)) {
      this.#requeue(msg, true);
      moved = true;
    }
    const head = this.#head;
    if (head !== null && head.state === MSG_DEFERRED && head.deadline <= now) {
      // its delay is over: first in line again (or dead-lettered past --max-attempts)
      this.#head = null;
      this.#requeue(head);
      moved = true;
    }
    if (moved) this.pump();
    if (this.inFlightCount === 0 && this.#deferred.length === 0 && (this.#head === null || this.#head.state !== MSG_DEFERRED)) this.#unwatch();
  }

  #unwatch(): void {
    if (!this.#scanned) return;
    this.#scanned = false;
    this.topic.nsqd.scanning.delete(this);
  }

  /** Drops queued, deferred and in-flight messages (nsqd's channel empty), on disk too. */
  empty(): void {
    const acks = this.#acks;
    if (acks !== null) {
      this.#queue.drainIds((id) => acks.add(id));
      this.#deferred.forEach((m) => acks.add(m.id));
      for (const client of this.clients) client.inFlight.forEach((m) => acks.add(m.id));
      if (this.#head !== null) acks.add(this.#head.id);
    }
    if (this.#head !== null) this.#head.state = MSG_DONE;
    this.#head = null;
    this.#queue.clear();
    for (const msg of this.#deferred.drain()) msg.state = MSG_DONE;
    for (const client of this.clients) {
      for (const msg of client.inFlight.drain()) msg.state = MSG_DONE;
      client.timeouts.clear();
      client.inFlightCount = 0;
    }
    this.inFlightCount = 0;
  }

  pause(): void {
    this.#paused = true;
    this.topic.nsqd.metadataChanged();
  }

  unpause(): void {
    this.#paused = false;
    this.topic.nsqd.metadataChanged();
    this.pump();
  }

  /**
   * Shutdown (plain mode): queued, in-flight and deferred messages all go to disk (in-flight ones
   * will be redelivered), in the order they would have gone out: an ordered channel's head and the
   * messages out to consumers first, deferred ones last. Durable mode: the topic's journal holds
   * them; the ack log's last batch is written. Returns how many messages the disk refused.
   */
  persist(): number {
    if (this.#acks !== null) {
      this.#acks.log.close();
      this.#queue.dropSpill();
      return 0;
    }
    const first: Message[] = [];
    if (this.#head !== null) first.push(this.#head);
    this.#head = null;
    const out: Message[] = [];
    for (const client of this.clients) for (const m of client.inFlight.drain()) out.push(m);
    out.sort((a, b) => a.id - b.id);
    for (const m of out) first.push(m);
    return this.#queue.persist(first, this.#deferred.drain());
  }

  /** GET /channel/peek (peek.ts): the oldest `n` queued messages, left where they are. */
  peekQueued(n: number): PeekEntry[] {
    return n > 0 ? this.#queue.peek(n) : [];
  }

  /** The deferred messages, in no order, left where they are (a peek). */
  forEachDeferred(fn: (msg: Message) => void): void {
    this.#deferred.forEach(fn);
  }

  // ---- durable mode -----------------------------------------------------------------------------

  /** The lowest ID this channel still holds (queued, deferred, in flight); Infinity when none. */
  lowestHeld(): number {
    if (this.#acks === null) return this.replay?.nextId ?? Infinity;
    let min = Math.min(this.#queue.minId(), this.#deferred.minId(), this.replay?.nextId ?? Infinity);
    for (const client of this.clients) min = Math.min(min, client.inFlight.minId());
    if (this.#head !== null && this.#head.id < min) min = this.#head.id;
    // a move not yet on disk: the source record must stay until the move record is
    for (const m of this.#moving) if (m.id < min) min = m.id;
    return min;
  }

  dropAcksBelow(id: number): void {
    this.#acks?.log.dropBelow(id);
  }

  /** Recovery: an unfinished message of this channel, deferred again when its due time is ahead. */
  restore(id: number, timestamp: number, attempts: number, buf: Buffer, start: number, length: number, dueEpochMs: number): void {
    const wait = dueEpochMs - Date.now();
    if (dueEpochMs > 0 && wait > 0) {
      const msg = new Message(id, timestamp, buf, start, length);
      msg.attempts = attempts;
      this.defer(msg, wait);
      return;
    }
    this.#queue.push(id, timestamp, attempts, buf, start, length);
  }

  /** The channel is deleted: disconnect its consumers and remove its data. */
  /** A replaying channel read the journal up to `liveFrom`: the topic's fan-out gives it the rest. */
  goLive(liveFrom: number): void {
    this.liveFrom = liveFrom;
    this.replay = null;
  }

  close(): void {
    this.replay?.stop();
    this.replay = null;
    this.#deleted = true;
    this.#paused = true;
    for (const client of [...this.clients]) {
      client.close();
    }
    this.clients.length = 0;
    this.#queue.delete();
    this.#acks?.log.delete();
    this.#acks = null;
    this.#deferred.drain();
    this.#head = null;
    this.#moving.clear();
    this.#unwatch();
  }
}

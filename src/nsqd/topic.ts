// A topic: accepts published messages and gives every channel its own copy. With no channel
// yet, or while paused, messages wait in the topic's own queue.

import { isEphemeral } from '../protocol/names.js';
import { Channel } from './channel.js';
import { Message, nowNanos } from './message.js';
import { Backlog } from './backlog.js';
import type { NSQD } from './nsqd.js';

/** messages moved from the topic's backlog to its channels per event-loop turn */
const RELEASE_SLICE = 10_000;

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

  messageCount = 0;
  messageBytes = 0;

  constructor(nsqd: NSQD, name: string) {
    this.nsqd = nsqd;
    this.name = name;
    this.ephemeral = isEphemeral(name);
    this.#queue = new Backlog(nsqd, this.ephemeral ? null : name);
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
    this.messageCount++;
    this.messageBytes += length;
    if (this.#paused || this.#channelList.length === 0 || this.#queue.length > 0) {
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
    this.messageCount++;
    this.messageBytes += length;
    const list = this.#channelList;
    if (list.length === 0 || this.#paused) {
      // nowhere to defer it yet: it waits with the topic and keeps its due time
      this.#deferredWaiting.push({ msg, due: performance.now() + delayMs });
      return;
    }
    for (let i = 0; i < list.length; i++) list[i]!.putDeferred(i === 0 ? msg : msg.copy(), delayMs);
  }

  /** Every channel gets the message; they share the body bytes. */
  #fanOut(id: number, timestamp: number, buf: Buffer, start: number, length: number): void {
    const list = this.#channelList;
    for (let i = 0; i < list.length; i++) list[i]!.put(id, timestamp, buf, start, length);
  }

  /** Moves waiting messages to the channels once there are channels and the topic runs. */
  #release(): void {
    if (this.#paused || this.#channelList.length === 0 || this.#deleted) return;
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
      for (const { msg, due } of waiting) {
        const list = this.#channelList;
        for (let i = 0; i < list.length; i++) list[i]!.putDeferred(i === 0 ? msg : msg.copy(), Math.max(0, due - now));
      }
    }
  }

  getChannel(name: string): Channel {
    let ch = this.channels.get(name);
    if (ch === undefined) {
      ch = new Channel(this, name);
      this.channels.set(name, ch);
      this.#channelList = [...this.channels.values()];
      this.nsqd.logger.info(`TOPIC(${this.name}): new channel(${name})`);
      this.nsqd.metadataChanged();
      this.nsqd.lookup.channelCreated(this.name, name);
      this.#release();
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

  pause(): void {
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
    this.#queue.clear();
    this.#deferredWaiting = [];
  }

  scan(now: number): void {
    for (const ch of this.#channelList) ch.scan(now);
  }

  /** Shutdown: the topic's own waiting messages (deferred ones included, undeferred) and every channel's go to disk. */
  persist(): void {
    const waiting = this.#deferredWaiting.map((w) => w.msg);
    this.#deferredWaiting = [];
    this.#queue.persist(waiting);
    for (const ch of this.#channelList) ch.persist();
  }

  /** The topic is deleted: channels disconnected, data removed. */
  close(): void {
    this.#deleted = true;
    for (const ch of this.#channelList) ch.close();
    this.channels.clear();
    this.#channelList = [];
    this.#queue.delete();
  }
}

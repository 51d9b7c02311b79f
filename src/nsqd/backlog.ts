// The waiting messages of a topic or channel: up to --mem-queue-size in memory, the rest in its
// disk queue (none for #ephemeral ones, whose overflow is dropped, as nsqd does). On disk a
// message is nsqd's record: [8-byte timestamp ns][2-byte attempts][16-byte hex ID][body].
//
// Durable topics spill instead: the overflow goes to a scratch disk queue (`<name>#spill`, not
// fsynced, deleted at start and at a clean stop) only to bound memory; the topic's journal is the
// durable copy, and recovery rebuilds the backlog from it.

import { MESSAGE_HEADER_LENGTH } from '../protocol/constants.js';
import { messageIdToString, parseMessageId, writeMessageId } from '../protocol/message-id.js';
import { readUint64BE, writeUint64BE } from '../protocol/uint64.js';
import { DiskQueue, removeDiskQueueFiles } from './disk-queue.js';
import { filesOf } from './data-dir.js';
import { Message } from './message.js';
import { MessageQueue } from './message-queue.js';
import type { NSQD } from './nsqd.js';
import type { PeekEntry } from './peek.js';


/**
 * A topic's or channel's disk queue of nsqd message records; `live`: report failures and dirty
 * batches to the engine; `scratch`: never fsynced (a durable topic's spill).
 */
export function openMessageDiskQueue(nsqd: NSQD, name: string, live: boolean, scratch = false): DiskQueue {
  const o = nsqd.options;
  return new DiskQueue(name, {
    dataPath: nsqd.dataPath,
    maxBytesPerFile: o.maxBytesPerFile,
    minMsgSize: MESSAGE_HEADER_LENGTH,
    maxMsgSize: o.maxMsgSize + MESSAGE_HEADER_LENGTH,
    syncEvery: scratch ? Number.MAX_SAFE_INTEGER : o.syncEvery,
    syncTimeout: scratch ? 2 ** 31 - 1 : o.syncTimeout,
    logger: nsqd.logger,
    ...(live ? { onError: (err: Error, q: DiskQueue) => nsqd.diskQueueFailed(q, err), onDirty: (q: DiskQueue) => nsqd.diskDirty(q), onRecovered: (q: DiskQueue) => nsqd.diskRecovered(q) } : {}),
  });
}

export class Backlog {
  readonly #nsqd: NSQD;
  readonly #memory = new MessageQueue();
  readonly #disk: DiskQueue | null;
  readonly #diskName: string | null;
  /**
   * Plain mode: what a clean stop wrote ahead of the disk queue's records (`<name>#front`): the
   * messages out or in memory then, which are older than everything on disk. Given out first,
   * removed once empty. Without it a stop with a disk overflow would put them behind it.
   */
  #front: DiskQueue | null = null;
  readonly #memLimit: number;
  /** durable: the disk queue is a scratch spill, the journal has the messages */
  readonly #spill: boolean;
  /** durable: the lowest ID written to the spill since it was last empty (Infinity: none) */
  #spillMin = Infinity;
  /** a publish in progress added to this backlog: its memory length before (-1: none) */
  #publishFrom = -1;
  /** header scratch space: put() copies it at once */
  #header = Buffer.allocUnsafe(MESSAGE_HEADER_LENGTH);
  dropped = 0;

  /** `diskName` null: memory only, overflow dropped (ephemeral). `spill`: a durable topic's or channel's. */
  constructor(nsqd: NSQD, diskName: string | null, spill = false) {
    this.#nsqd = nsqd;
    const o = nsqd.options;
    this.#memLimit = o.memQueueSize;
    this.#spill = spill;
    // what a spill held before this start is rebuilt from the journal: its files go first (after a
    // crash its metadata may be older than its data, so it is not opened as it was)
    if (spill && diskName !== null) removeDiskQueueFiles(nsqd.dataPath, `${diskName}#spill`);
    this.#disk = diskName === null ? null : openMessageDiskQueue(nsqd, spill ? `${diskName}#spill` : diskName, true, spill);
    this.#diskName = diskName;
    if (!spill && diskName !== null && filesOf(nsqd.dataPath, `${diskName}#front.diskqueue`).length > 0) {
      const front = openMessageDiskQueue(nsqd, `${diskName}#front`, true);
      if (front.depth > 0) this.#front = front;
      else front.delete();
    }
  }

  get length(): number {
    return this.#memory.length + (this.#disk?.depth ?? 0) + (this.#front?.depth ?? 0);
  }

  get backendDepth(): number {
    return (this.#disk?.depth ?? 0) + (this.#front?.depth ?? 0);
  }

  /** Whether the disk refused this backlog's last write (a publish into it would be refused too). */
  get failing(): boolean {
    return this.#disk?.failing != null;
  }

  /**
   * Whether push() would keep one more message in memory now (or drop it, ephemeral and full, as
   * nsqd does): nothing goes to the disk, so nothing on its way can fail. PUB answers before it
   * publishes when this holds for every queue the message goes to (ProtocolV2).
   */
  get keepsNextInMemory(): boolean {
    return this.#disk === null || (this.#goesToMemory() && this.#disk.failing === null);
  }

  /** Whether push() puts the next message in memory: room below the limit, and nothing on disk ahead of it. */
  #goesToMemory(): boolean {
    const disk = this.#disk;
    // ephemeral queues keep at least one slot in memory even with --mem-queue-size=0, as nsqd
    const limit = disk === null ? Math.max(1, this.#memLimit) : this.#memLimit;
    return this.#memory.length < limit && (disk === null || disk.depth === 0);
  }

  /**
   * Adds a message; false when it had to be dropped (ephemeral and memory full). During a publish
   * (NSQD.publish) it is provisional until the publish ends, and a failing disk queue throws.
   */
  push(id: number, timestamp: number, attempts: number, buf: Buffer, start: number, length: number): boolean {
    const publish = this.#nsqd.publishing;
    if (publish !== null && this.#publishFrom < 0) {
      this.#publishFrom = this.#memory.length;
      this.#disk?.mark();
      publish.push(this);
    }
    if (this.#goesToMemory()) {
      this.#memory.push(id, timestamp, attempts, buf, start, length);
      return true;
    }
    if (this.#disk === null) {
      this.dropped++;
      return false;
    }
    if (publish !== null) {
      // a failing queue refuses publishes (its buffer holds what the disk would not take)
      this.#writeDisk(id, timestamp, attempts, buf, start, length);
      return true;
    }
    try {
      this.#writeDisk(id, timestamp, attempts, buf, start, length);
    } catch (err) {
      // a closed queue (disk refusals do not throw here): keep the message in memory rather than lose it
      this.#nsqd.logger.error(`DISKQUEUE(${this.#disk.name}) failed to put - ${(err as Error).message}`);
      this.#memory.push(id, timestamp, attempts, buf, start, length);
    }
    return true;
  }

  /** The publish is complete: its disk records are written before it is answered (throws when refused). */
  writePublished(): void {
    if (this.#publishFrom >= 0) this.#disk?.writeMarked();
  }

  /** The publish that added messages ended: they stay (ok), or go (it failed and is answered so). */
  endPublish(ok: boolean): void {
    if (this.#publishFrom < 0) return;
    if (ok) {
      this.#disk?.release();
    } else {
      this.#memory.truncate(this.#publishFrom);
      this.#disk?.rollback();
    }
    this.#publishFrom = -1;
  }

  pushMessage(msg: Message): boolean {
    return this.push(msg.id, msg.timestamp, msg.attempts, msg.body, msg.bodyStart, msg.bodyLength);
  }

  #writeDisk(id: number, timestamp: number, attempts: number, buf: Buffer, start: number, length: number, queue = this.#disk!): void {
    const h = this.#header;
    writeUint64BE(h, 0, timestamp);
    h.writeUInt16BE(attempts > 65535 ? 65535 : attempts, 8);
    writeMessageId(h, 10, id);
    queue.put(buf, start, start + length, h);
    if (this.#spill && id < this.#spillMin) this.#spillMin = id;
  }

  /** The oldest waiting message: memory first, since disk holds only what came after it. */
  shift(): Message | undefined {
    const front = this.#front;
    if (front !== null) {
      const rec = front.shift();
      if (front.depth === 0) {
        front.delete();
        this.#front = null;
      }
      if (rec !== null) return this.#decode(rec);
    }
    const m = this.#memory.shift();
    if (m !== undefined) return m;
    if (this.#disk === null || this.#disk.depth === 0) return undefined;
    const rec = this.#disk.shift();
    if (this.#disk.depth === 0) this.#spillMin = Infinity;
    if (rec === null) return undefined;
    return this.#decode(rec);
  }

  #decode(rec: Buffer): Message {
    const timestamp = readUint64BE(rec, 0);
    const attempts = rec.readUInt16BE(8);
    let id = parseMessageId(rec, 10);
    // an ID this server could not have issued (a Go nsqd data directory): give it a fresh one
    if (id < 0) id = this.#nsqd.guid.next();
    const bodies = this.#nsqd.bodies;
    const at = bodies.copy(rec, MESSAGE_HEADER_LENGTH, rec.length - MESSAGE_HEADER_LENGTH);
    const msg = new Message(id, timestamp, bodies.buffer, at, rec.length - MESSAGE_HEADER_LENGTH);
    msg.attempts = attempts;
    return msg;
  }

  /** The oldest `n` waiting messages, memory then disk, as shift() would give them; nothing moves (a peek). */
  peek(n: number): PeekEntry[] {
    const out: PeekEntry[] = [];
    if (this.#front !== null) {
      for (const rec of this.#front.peek(n)) {
        out.push({ id: rec.toString('latin1', 10, 26), timestamp: readUint64BE(rec, 0), attempts: rec.readUInt16BE(8), body: rec.subarray(MESSAGE_HEADER_LENGTH), state: 'queued' });
      }
    }
    this.#memory.peek(n - out.length, (id, timestamp, attempts, buf, start, length) => {
      out.push({ id: messageIdToString(id), timestamp, attempts, body: buf.subarray(start, start + length), state: 'queued' });
    });
    if (this.#disk !== null && out.length < n) {
      for (const rec of this.#disk.peek(n - out.length)) {
        out.push({ id: rec.toString('latin1', 10, 26), timestamp: readUint64BE(rec, 0), attempts: rec.readUInt16BE(8), body: rec.subarray(MESSAGE_HEADER_LENGTH), state: 'queued' });
      }
    }
    return out;
  }

  /** The lowest ID waiting (durable mode: for compaction; the spill's is a lower bound). */
  minId(): number {
    return Math.min(this.#memory.minId(), this.#spillMin);
  }

  /** Empties the backlog, telling `fn` every ID it held (durable mode's empty: they are acked). */
  drainIds(fn: (id: number) => void): void {
    const front = this.#front;
    if (front !== null) for (let rec = front.shift(); rec !== null; rec = front.shift()) fn(parseMessageId(rec, 10));
    this.#memory.forEachId(fn);
    const disk = this.#disk;
    if (disk !== null) for (let rec = disk.shift(); rec !== null; rec = disk.shift()) fn(parseMessageId(rec, 10));
    this.clear();
  }

  clear(): void {
    this.#front?.delete();
    this.#front = null;
    this.#memory.clear();
    this.#disk?.empty();
    this.#spillMin = Infinity;
  }

  /** Clean stop of a durable topic or channel: the journal has everything, the spill goes. */
  dropSpill(): void {
    if (this.#spill) this.#disk?.delete();
  }

  /**
   * Shutdown: what is in memory goes to disk, then the files are closed. The order holds: `first`
   * (the messages out to consumers), what was ahead of memory, and memory are older than the disk
   * queue's records, so when it has any they go to the front queue, read first at the next start;
   * `last` (deferred messages, not due yet) go behind everything. Returns how many messages the disk
   * refused (lost with the process).
   */
  persist(first: Message[] = [], last: Message[] = []): number {
    const disk = this.#disk;
    if (disk === null) return 0;
    const oldFront: Buffer[] = [];
    if (this.#front !== null) {
      // what the last start's front queue still holds (bounded by what memory held then)
      for (let rec = this.#front.shift(); rec !== null; rec = this.#front.shift()) oldFront.push(Buffer.from(rec));
      this.#front.delete();
      this.#front = null;
    }
    let lost = 0;
    let ahead = disk;
    if (disk.depth > 0 && first.length + oldFront.length + this.#memory.length > 0) {
      removeDiskQueueFiles(this.#nsqd.dataPath, `${this.#diskName}#front`);
      ahead = openMessageDiskQueue(this.#nsqd, `${this.#diskName}#front`, false);
    }
    for (const m of first) this.#writeDisk(m.id, m.timestamp, m.attempts, m.body, m.bodyStart, m.bodyLength, ahead);
    for (const rec of oldFront) ahead.put(rec);
    for (let m = this.#memory.shift(); m !== undefined; m = this.#memory.shift()) this.#writeDisk(m.id, m.timestamp, m.attempts, m.body, m.bodyStart, m.bodyLength, ahead);
    if (ahead !== disk) lost += ahead.close();
    for (const m of last) this.#writeDisk(m.id, m.timestamp, m.attempts, m.body, m.bodyStart, m.bodyLength);
    return lost + disk.close();
  }

  /** The topic or channel is deleted: its files go too. */
  delete(): void {
    this.#front?.delete();
    this.#front = null;
    this.#memory.clear();
    this.#disk?.delete();
  }
}

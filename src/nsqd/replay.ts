// A channel created with `from=` on a durable topic (docs/retention.md): it starts with the topic's
// retained journal records at or after that point, read from the journal files in slices while the
// channel's queue has room, then it is set live and takes new messages from the topic's fan-out.
// The switch and the fan-out run on the engine's one thread: a record is read here or fanned out,
// never both (the channel's liveFrom is the ID after the last record read) and never neither
// (the cursor reads up to the last fsynced batch, and nothing later has been fanned out yet).

import type { Channel } from './channel.js';
import { JournalCursor, type JournalRecord } from './journal.js';
import { Message } from './message.js';
import type { SegmentLog } from './segment-log.js';

/** journal bytes read per slice */
const SLICE_BYTES = 1 << 20;
/** a queue this long waits for its consumers before the next slice */
const MIN_ROOM = 1000;
/** how often a full queue is looked at again */
const FULL_RETRY_MS = 20;

/** A channel cannot start at `from` (HTTP 400 with the code). */
export class ReplayError extends Error {
  constructor(
    readonly code: 'NOT_DURABLE' | 'CHANNEL_EXISTS' | 'TOPIC_HOLDS_MESSAGES',
    message: string,
  ) {
    super(message);
  }
}

import type { ReplayFrom } from '../protocol/replay-from.js';
export { parseReplayFrom, type ReplayFrom } from '../protocol/replay-from.js';

export class Replay {
  readonly #ch: Channel;
  readonly #cursor: JournalCursor;
  /** records before this time (ns) are skipped until the first one at or after it is found */
  readonly #fromNs: number;
  /** IDs the topic dropped from its own queue (/topic/empty): never a channel's */
  readonly #skip: ReadonlySet<number>;
  /** the first record the channel gets; -1 until found */
  startId = -1;
  #done = false;
  #scheduled = false;

  /** the ID after what the journal held at creation: the least the channel goes live from */
  readonly #floor: number;

  constructor(ch: Channel, dataPath: string, log: SegmentLog, fromSegment: number, fromNs: number, skip: ReadonlySet<number>, floor: number) {
    this.#ch = ch;
    this.#floor = floor;
    this.#cursor = new JournalCursor(dataPath, ch.topic.name, log, fromSegment);
    this.#fromNs = fromNs;
    this.#skip = skip;
  }

  /** The lowest ID this replay has still to read (compaction keeps its segments). */
  get nextId(): number {
    return this.#done ? Infinity : Math.max(this.#cursor.lastId + 1, this.startId);
  }

  get done(): boolean {
    return this.#done;
  }

  #onRecord = (r: JournalRecord): void => {
    if (r.target !== '' || this.#skip.has(r.id)) return;
    if (this.startId < 0) {
      if (r.timestamp < this.#fromNs) return;
      this.startId = r.id;
    }
    if (r.id < this.startId) return;
    const ch = this.#ch;
    const wait = r.due - Date.now();
    if (r.due > 0 && wait > 0) {
      const msg = new Message(r.id, r.timestamp, r.data, r.bodyStart, r.bodyLength);
      ch.putDeferred(msg, wait);
    } else {
      ch.put(r.id, r.timestamp, r.data, r.bodyStart, r.bodyLength);
    }
  };

  /**
   * Reads until the first record is found or the journal's durable end is reached (called once, at
   * creation, so the channel's start is known before it is answered); then goes on in the background.
   */
  begin(): void {
    while (this.startId < 0 && !this.#done) this.#slice();
    this.#schedule();
  }

  /** One slice; at the durable end the channel goes live. */
  #slice(): void {
    if (this.#cursor.read(SLICE_BYTES, this.#onRecord)) this.#finish();
  }

  #finish(): void {
    this.#done = true;
    this.#cursor.close();
    const ch = this.#ch;
    // everything up to the last record read came from the journal; the fan-out gives the rest
    ch.goLive(Math.max(this.#cursor.lastId + 1, this.#floor));
  }

  #schedule(): void {
    if (this.#done || this.#scheduled) return;
    this.#scheduled = true;
    const run = (): void => {
      this.#scheduled = false;
      if (this.#ch.deleted) return this.stop();
      if (this.#hasRoom()) this.#slice();
      this.#schedule();
    };
    if (this.#hasRoom()) setImmediate(run);
    else setTimeout(run, FULL_RETRY_MS).unref();
  }

  /** The channel's queue is short enough for another slice (kept under half of --mem-queue-size: no spill). */
  #hasRoom(): boolean {
    return this.#ch.depth < Math.max(MIN_ROOM, this.#ch.topic.nsqd.options.memQueueSize / 2);
  }

  /** The channel or topic went: the cursor closes. */
  stop(): void {
    this.#done = true;
    this.#cursor.close();
  }
}

// Durable mode's files (docs/durable-mode.md): a topic's journal of every message published to it,
// and the ack logs that say which IDs a channel (or the topic itself) is done with. Both are
// SegmentLogs; this file owns their record layouts.
//
// Journal record: [4-byte length of what follows][8-byte ID][8-byte timestamp ns][8-byte due time,
//   epoch ms as a float64, 0 = not deferred][2-byte attempts][1-byte target length][target][body]
//   target: empty for a message of the whole topic, or the one channel it belongs to, or a dead-letter
//   move (docs/dead-letters.md): [0x01][8-byte source ID][1-byte source topic length][topic][channel],
//   a message of the whole topic that its source channel is done with.
// Ack record: [8-byte ID].

import { readUint64BE, writeUint64BE } from '../protocol/uint64.js';
import { closeSync, openSync, readSync } from 'node:fs';
import { SegmentLog, emptySegment, listSegments, readSegment, segmentFile, type SegmentInfo, type SegmentLogOptions } from './segment-log.js';
import { zlib } from '../util/builtins.js';
import type { Logger } from '../util/log.js';

const JOURNAL_FIXED = 4 + 8 + 8 + 8 + 2 + 1;
const ACK_RECORD = 8;
/** ack logs roll at this size whatever --max-bytes-per-file says: they are small and die young */
const ACK_SEGMENT_BYTES = 4 * 1024 * 1024;

export const journalPrefix = (topic: string): string => `${topic}.journal`;
/** The topic of a journal's segment-log prefix (journalPrefix's inverse). */
export const topicOfJournal = (prefix: string): string => prefix.slice(0, -'.journal'.length);
export const topicAckPrefix = (topic: string): string => `${topic}.acks`;
export const channelAckPrefix = (topic: string, channel: string): string => `${topic}:${channel}.acks`;

/** What the engine hears from a journal's or ack log's segments (see SegmentLogOptions). */
export type LogHooks = Pick<SegmentLogOptions, 'onDirty' | 'onWritten' | 'onRemoved'>;

export interface JournalRecord {
  id: number;
  timestamp: number;
  /** epoch ms the message is due, 0 when it is not deferred */
  due: number;
  attempts: number;
  /** '' for the whole topic, else the channel the message belongs to */
  target: string;
  /** a dead-letter move (target ''): the source message's ID, else -1; and its topic and channel */
  moveId: number;
  moveTopic: string;
  moveChannel: string;
  /** the body is data[bodyStart, bodyStart + bodyLength) */
  data: Buffer;
  bodyStart: number;
  bodyLength: number;
}

export class Journal {
  readonly log: SegmentLog;

  constructor(dataPath: string, topic: string, maxBytesPerFile: number, existing: SegmentInfo[], hooks: LogHooks = {}) {
    this.log = new SegmentLog({ dataPath, prefix: journalPrefix(topic), maxBytesPerFile, ...hooks }, existing);
  }

  /** Adds a message to the batch of this turn (written and fsynced by the engine's commit). */
  append(id: number, timestamp: number, due: number, attempts: number, target: string, body: Buffer, start: number, length: number): void {
    const targetLen = target.length === 0 ? 0 : Buffer.byteLength(target, 'latin1');
    const n = JOURNAL_FIXED + targetLen + length;
    const buf = this.log.reserve(n);
    const at = writeHeader(buf, this.log.offset, n, id, timestamp, due, attempts, targetLen);
    const end = targetLen > 0 ? at + buf.write(target, at, 'latin1') : at;
    body.copy(buf, end, start, start + length);
    this.log.commitRecord(n, id, timestamp);
  }

  /**
   * A dead-letter move (docs/dead-letters.md): a message of this whole topic that channel `channel`
   * of topic `topic` is done with (its ID there: `sourceId`), in one record.
   */
  appendMove(id: number, timestamp: number, topic: string, channel: string, sourceId: number, body: Buffer, start: number, length: number): void {
    const topicLen = Buffer.byteLength(topic, 'latin1');
    const targetLen = MOVE_FIXED + topicLen + Buffer.byteLength(channel, 'latin1');
    const n = JOURNAL_FIXED + targetLen + length;
    const buf = this.log.reserve(n);
    let at = writeHeader(buf, this.log.offset, n, id, timestamp, 0, 0, targetLen);
    buf[at] = MOVE_MARK;
    writeUint64BE(buf, at + 1, sourceId);
    buf[at + 9] = topicLen;
    at += MOVE_FIXED;
    at += buf.write(topic, at, 'latin1');
    at += buf.write(channel, at, 'latin1');
    body.copy(buf, at, start, start + length);
    this.log.commitRecord(n, id, timestamp);
  }
}

/** A record's fixed header at `at` (no allocation: this runs per message); where its target field starts. */
function writeHeader(buf: Buffer, at: number, n: number, id: number, timestamp: number, due: number, attempts: number, targetLen: number): number {
  buf.writeUInt32BE(n - 4, at);
  writeUint64BE(buf, at + 4, id);
  writeUint64BE(buf, at + 12, timestamp);
  buf.writeDoubleBE(due, at + 20);
  buf.writeUInt16BE(attempts > 65535 ? 65535 : attempts, at + 28);
  buf[at + 30] = targetLen;
  return at + JOURNAL_FIXED;
}

/** the first byte of a move's target field: never the first byte of a channel name */
const MOVE_MARK = 0x01;
/** [mark][8-byte source ID][1-byte topic length] */
const MOVE_FIXED = 1 + 8 + 1;

/**
 * Each record of one journal batch, in order, into `rec` (reused); false when a record's length is
 * bad (the rest of the batch cannot be read).
 */
function eachRecord(batch: Buffer, rec: JournalRecord, each: (r: JournalRecord) => void): boolean {
  let pos = 0;
  while (pos + JOURNAL_FIXED <= batch.length) {
    const end = pos + 4 + batch.readUInt32BE(pos);
    const targetLen = batch[pos + 30]!;
    if (end > batch.length || end < pos + JOURNAL_FIXED + targetLen) return false;
    rec.id = readUint64BE(batch, pos + 4);
    rec.timestamp = readUint64BE(batch, pos + 12);
    rec.due = batch.readDoubleBE(pos + 20);
    rec.attempts = batch.readUInt16BE(pos + 28);
    const t0 = pos + JOURNAL_FIXED;
    if (targetLen >= MOVE_FIXED && batch[t0] === MOVE_MARK) {
      const topicLen = batch[t0 + 9]!;
      if (MOVE_FIXED + topicLen > targetLen) return false;
      rec.target = '';
      rec.moveId = readUint64BE(batch, t0 + 1);
      rec.moveTopic = batch.toString('latin1', t0 + MOVE_FIXED, t0 + MOVE_FIXED + topicLen);
      rec.moveChannel = batch.toString('latin1', t0 + MOVE_FIXED + topicLen, t0 + targetLen);
    } else {
      rec.target = targetLen === 0 ? '' : batch.toString('latin1', t0, t0 + targetLen);
      rec.moveId = -1;
    }
    rec.data = batch;
    rec.bodyStart = pos + JOURNAL_FIXED + targetLen;
    rec.bodyLength = end - rec.bodyStart;
    each(rec);
    pos = end;
  }
  return true;
}

const newRecord = (): JournalRecord => ({ id: 0, timestamp: 0, due: 0, attempts: 0, target: '', moveId: -1, moveTopic: '', moveChannel: '', data: Buffer.alloc(0), bodyStart: 0, bodyLength: 0 });

/**
 * Reads a topic's journal, oldest record first. Returns the segments with their ID ranges (for the
 * journal that carries on after them). A torn tail is cut off; other damage is logged.
 */
export function readJournal(dataPath: string, topic: string, logger: Logger, each: (r: JournalRecord) => void): SegmentInfo[] {
  const prefix = journalPrefix(topic);
  const nums = listSegments(dataPath, prefix);
  const segments: SegmentInfo[] = [];
  const rec = newRecord();
  for (let k = 0; k < nums.length; k++) {
    const file = segmentFile(dataPath, prefix, nums[k]!);
    const { batches, size, discarded } = readSegment(file);
    if (discarded > 0) {
      const where = k === nums.length - 1 ? 'torn tail' : 'damaged data';
      (k === nums.length - 1 ? logger.warn : logger.error).call(logger, `JOURNAL(${topic}): ${file}: ${where}, ${discarded} bytes not read`);
    }
    const seg = emptySegment(nums[k]!);
    seg.bytes = size;
    const note = (r: JournalRecord): void => {
      if (r.id < seg.minId) seg.minId = r.id;
      if (r.id > seg.maxId) seg.maxId = r.id;
      if (r.timestamp > seg.maxTs) seg.maxTs = r.timestamp;
      if (r.timestamp < seg.minTs) seg.minTs = r.timestamp;
      each(r);
    };
    for (const batch of batches) {
      if (!eachRecord(batch, rec, note)) logger.error(`JOURNAL(${topic}): ${file}: bad record length, rest of batch skipped`);
    }
    segments.push(seg);
  }
  return segments;
}

/** The IDs a channel (or a topic, for its own emptied messages) is done with. */
export class AckLog {
  readonly log: SegmentLog;

  constructor(dataPath: string, prefix: string, existing: SegmentInfo[], hooks: LogHooks = {}) {
    this.log = new SegmentLog({ dataPath, prefix, maxBytesPerFile: ACK_SEGMENT_BYTES, ...hooks }, existing);
  }

  add(id: number): void {
    const log = this.log;
    const buf = log.reserve(ACK_RECORD);
    writeUint64BE(buf, log.offset, id);
    log.commitRecord(ACK_RECORD, id);
  }
}

export interface LoadedAcks {
  ids: Set<number>;
  segments: SegmentInfo[];
}

export function readAcks(dataPath: string, prefix: string, logger: Logger): LoadedAcks {
  const ids = new Set<number>();
  const segments: SegmentInfo[] = [];
  const nums = listSegments(dataPath, prefix);
  for (let k = 0; k < nums.length; k++) {
    const file = segmentFile(dataPath, prefix, nums[k]!);
    const { batches, size, discarded } = readSegment(file);
    if (discarded > 0 && k < nums.length - 1) logger.error(`ACKS(${prefix}): ${file}: damaged data, ${discarded} bytes not read`);
    const seg = emptySegment(nums[k]!);
    seg.bytes = size;
    for (const batch of batches) {
      for (let pos = 0; pos + ACK_RECORD <= batch.length; pos += ACK_RECORD) {
        const id = readUint64BE(batch, pos);
        ids.add(id);
        if (id < seg.minId) seg.minId = id;
        if (id > seg.maxId) seg.maxId = id;
      }
    }
    segments.push(seg);
  }
  return { ids, segments };
}

const BATCH_HEADER_BYTES = 8;

/**
 * Reads a topic's journal forward, batch by batch with its own file descriptor, from one segment
 * on, and only as far as the log says is durable (a sealed segment to its end, the one being
 * written to its last fsynced batch): a channel created with `from=` catches up this way
 * (docs/retention.md). It changes nothing in the log; a segment that ends early (a torn or damaged
 * batch) is left for the next one, as recovery leaves it.
 */
export class JournalCursor {
  readonly #dataPath: string;
  readonly #prefix: string;
  readonly #log: SegmentLog;
  #num: number;
  #pos = 0;
  #fd: number | null = null;
  readonly #header = Buffer.alloc(BATCH_HEADER_BYTES);
  readonly #rec = newRecord();
  /** the highest ID read so far (-1: none) */
  lastId = -1;

  constructor(dataPath: string, topic: string, log: SegmentLog, fromSegment: number) {
    this.#dataPath = dataPath;
    this.#prefix = journalPrefix(topic);
    this.#log = log;
    this.#num = fromSegment;
  }

  /** Reads about `maxBytes` of records into `each`; true once it reached the durable end. */
  read(maxBytes: number, each: (r: JournalRecord) => void): boolean {
    let read = 0;
    const note = (r: JournalRecord): void => {
      if (r.id > this.lastId) this.lastId = r.id;
      each(r);
    };
    while (read < maxBytes) {
      const end = this.#log.readableEnd(this.#num);
      if (this.#pos >= end) return true;
      const payload = this.#nextBatch(end);
      if (payload === null) {
        // this segment has nothing more: on to the next, unless it is the one being written
        if (this.#num >= this.#log.currentNum) return true;
        this.#advance();
        continue;
      }
      eachRecord(payload, this.#rec, note);
      read += BATCH_HEADER_BYTES + payload.length;
    }
    return false;
  }

  /** The next intact batch of the current segment before `end`, or null. */
  #nextBatch(end: number): Buffer | null {
    const fd = this.#open();
    if (fd === null) return null;
    if (readSync(fd, this.#header, 0, BATCH_HEADER_BYTES, this.#pos) < BATCH_HEADER_BYTES) return null;
    const len = this.#header.readUInt32BE(0);
    const stop = this.#pos + BATCH_HEADER_BYTES + len;
    if (len === 0 || stop > end) return null;
    const payload = Buffer.allocUnsafe(len);
    if (readSync(fd, payload, 0, len, this.#pos + BATCH_HEADER_BYTES) < len) return null;
    if (zlib().crc32(payload) !== this.#header.readUInt32BE(4)) return null;
    this.#pos = stop;
    return payload;
  }

  #open(): number | null {
    if (this.#fd !== null) return this.#fd;
    try {
      this.#fd = openSync(segmentFile(this.#dataPath, this.#prefix, this.#num), 'r');
    } catch {
      return null;
    }
    return this.#fd;
  }

  #advance(): void {
    this.close();
    this.#num++;
    this.#pos = 0;
  }

  close(): void {
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }
}

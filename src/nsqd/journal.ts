// Durable mode's files (docs/durable-mode.md): a topic's journal of every message published to it,
// and the ack logs that say which IDs a channel (or the topic itself) is done with. Both are
// SegmentLogs; this file owns their record layouts.
//
// Journal record: [4-byte length of what follows][8-byte ID][8-byte timestamp ns][8-byte due time,
//   epoch ms as a float64, 0 = not deferred][2-byte attempts][1-byte target length][target][body]
//   target: empty for a message of the whole topic, or the one channel it belongs to.
// Ack record: [8-byte ID].

import { readUint64BE, writeUint64BE } from '../protocol/uint64.js';
import { SegmentLog, listSegments, readSegment, segmentFile, type SegmentInfo, type SegmentLogOptions } from './segment-log.js';
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
    const log = this.log;
    const buf = log.reserve(n);
    let at = log.offset;
    buf.writeUInt32BE(n - 4, at);
    writeUint64BE(buf, at + 4, id);
    writeUint64BE(buf, at + 12, timestamp);
    buf.writeDoubleBE(due, at + 20);
    buf.writeUInt16BE(attempts > 65535 ? 65535 : attempts, at + 28);
    buf[at + 30] = targetLen;
    at += JOURNAL_FIXED;
    if (targetLen > 0) at += buf.write(target, at, 'latin1');
    body.copy(buf, at, start, start + length);
    log.commitRecord(n, id);
  }
}

/**
 * Reads a topic's journal, oldest record first. Returns the segments with their ID ranges (for the
 * journal that carries on after them). A torn tail is cut off; other damage is logged.
 */
export function readJournal(dataPath: string, topic: string, logger: Logger, each: (r: JournalRecord) => void): SegmentInfo[] {
  const prefix = journalPrefix(topic);
  const nums = listSegments(dataPath, prefix);
  const segments: SegmentInfo[] = [];
  const rec: JournalRecord = { id: 0, timestamp: 0, due: 0, attempts: 0, target: '', data: Buffer.alloc(0), bodyStart: 0, bodyLength: 0 };
  for (let k = 0; k < nums.length; k++) {
    const file = segmentFile(dataPath, prefix, nums[k]!);
    const { batches, discarded } = readSegment(file);
    if (discarded > 0) {
      const where = k === nums.length - 1 ? 'torn tail' : 'damaged data';
      (k === nums.length - 1 ? logger.warn : logger.error).call(logger, `JOURNAL(${topic}): ${file}: ${where}, ${discarded} bytes not read`);
    }
    const seg: SegmentInfo = { num: nums[k]!, minId: Infinity, maxId: -Infinity };
    for (const batch of batches) {
      let pos = 0;
      while (pos + JOURNAL_FIXED <= batch.length) {
        const end = pos + 4 + batch.readUInt32BE(pos);
        const targetLen = batch[pos + 30]!;
        if (end > batch.length || end < pos + JOURNAL_FIXED + targetLen) {
          logger.error(`JOURNAL(${topic}): ${file}: bad record length, rest of batch skipped`);
          break;
        }
        rec.id = readUint64BE(batch, pos + 4);
        rec.timestamp = readUint64BE(batch, pos + 12);
        rec.due = batch.readDoubleBE(pos + 20);
        rec.attempts = batch.readUInt16BE(pos + 28);
        rec.target = targetLen === 0 ? '' : batch.toString('latin1', pos + JOURNAL_FIXED, pos + JOURNAL_FIXED + targetLen);
        rec.data = batch;
        rec.bodyStart = pos + JOURNAL_FIXED + targetLen;
        rec.bodyLength = end - rec.bodyStart;
        if (rec.id < seg.minId) seg.minId = rec.id;
        if (rec.id > seg.maxId) seg.maxId = rec.id;
        each(rec);
        pos = end;
      }
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
    const { batches, discarded } = readSegment(file);
    if (discarded > 0 && k < nums.length - 1) logger.error(`ACKS(${prefix}): ${file}: damaged data, ${discarded} bytes not read`);
    const seg: SegmentInfo = { num: nums[k]!, minId: Infinity, maxId: -Infinity };
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

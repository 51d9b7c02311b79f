// An append-only log in numbered segment files (`<prefix>.NNNNNN.dat`), written in checksummed
// batches: [4-byte payload length][4-byte CRC-32 of the payload][payload]. Durable mode keeps its
// journals and ack logs in these. A batch is written, and fsynced when asked, as one unit, so a
// crash leaves at most one torn batch at the end of the newest segment, which reading cuts off.
// Each segment remembers the lowest and highest message ID written to it, so compaction can delete
// whole segments once every ID in them is done with.

import { closeSync, fstatSync, fdatasyncSync, fsyncSync, ftruncateSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { filesOf, removeFile } from './data-dir.js';
import { join } from 'node:path';
import { zlib } from '../util/builtins.js';

const BATCH_HEADER = 8;
const INITIAL_BUFFER = 64 * 1024;
/** a turn's batch is written out early once it is this big (not fsynced: that waits for commit) */
const EARLY_WRITE = 4 * 1024 * 1024;

export interface SegmentInfo {
  num: number;
  minId: number;
  maxId: number;
  /** the newest record's timestamp (ns; journals only, 0 otherwise): what time-based retention reads */
  maxTs: number;
  /** the oldest record's timestamp (ns; journals only, Infinity when none) */
  minTs: number;
  /** bytes in the file (for the segment being written, what was written so far) */
  bytes: number;
}

/** A segment that holds nothing yet. */
export const emptySegment = (num: number): SegmentInfo => ({ num, minId: Infinity, maxId: -Infinity, maxTs: 0, minTs: Infinity, bytes: 0 });

export interface SegmentLogOptions {
  dataPath: string;
  /** file names are `<prefix>.NNNNNN.dat` */
  prefix: string;
  maxBytesPerFile: number;
  /** a batch got its first record: the owner writes it out by the end of the turn */
  onDirty?: (log: SegmentLog) => void;
  /** a batch reached the file (replication sends what files grew by): the file's name and new size */
  onWritten?: (file: string, size: number) => void;
  /** a segment file was deleted (compaction, or the topic or channel went) */
  onRemoved?: (file: string) => void;
}

/** `<prefix>.NNNNNN.dat`, the name of one segment file. */
export function segmentName(prefix: string, num: number): string {
  return `${prefix}.${String(num).padStart(6, '0')}.dat`;
}

export class SegmentLogError extends Error {
  readonly code = 'E_SEGMENT_LOG';
}

/** Segment numbers of the files of `prefix` in `dataPath`, oldest first. */
export function listSegments(dataPath: string, prefix: string): number[] {
  const nums: number[] = [];
  const head = `${prefix}.`;
  for (const name of filesOf(dataPath, prefix)) {
    const middle = name.slice(head.length, -4);
    if (name.endsWith('.dat') && /^\d{6,}$/.test(middle)) nums.push(Number(middle));
  }
  return nums.sort((a, b) => a - b);
}

export function segmentFile(dataPath: string, prefix: string, num: number): string {
  return join(dataPath, segmentName(prefix, num));
}

export interface SegmentBatches {
  /** the payloads of the segment's intact batches, in order */
  batches: Buffer[];
  /** the file's size */
  size: number;
  /** bytes after the last intact batch (a torn or corrupt tail), 0 when the file ends cleanly */
  discarded: number;
}

/** Reads one segment's batches; stops at the first one that is cut short or fails its checksum. */
export function readSegment(file: string): SegmentBatches {
  const data = readFileSync(file);
  const batches: Buffer[] = [];
  let pos = 0;
  while (pos + BATCH_HEADER <= data.length) {
    const len = data.readUInt32BE(pos);
    const end = pos + BATCH_HEADER + len;
    if (len === 0 || end > data.length) break;
    const payload = data.subarray(pos + BATCH_HEADER, end);
    if (zlib().crc32(payload) !== data.readUInt32BE(pos + 4)) break;
    batches.push(payload);
    pos = end;
  }
  return { batches, size: data.length, discarded: data.length - pos };
}

export class SegmentLog {
  readonly #o: SegmentLogOptions;
  /** closed segments, oldest first */
  readonly #sealed: SegmentInfo[] = [];
  #current: SegmentInfo;
  #fd: number | null = null;
  #size = 0;
  #buf: Buffer = Buffer.allocUnsafe(INITIAL_BUFFER);
  /** bytes in #buf: a batch header placeholder, then records */
  #len = BATCH_HEADER;
  /** the segment's size after the last fsynced write: what discard() cuts back to */
  #syncedSize = 0;
  /** written but not yet fsynced */
  #unsynced = false;
  #closed = false;

  /**
   * `existing`: segments found at start (with their ID ranges, read by the owner's recovery). New
   * records always go to a fresh segment after them, never onto the end of a possibly torn file.
   */
  constructor(o: SegmentLogOptions, existing: SegmentInfo[] = []) {
    this.#o = o;
    for (const s of existing) this.#sealed.push(s);
    const last = existing.length > 0 ? existing[existing.length - 1]!.num : -1;
    this.#current = emptySegment(last + 1);
  }

  get prefix(): string {
    return this.#o.prefix;
  }

  /** The segments that hold records, oldest first (the one being written last). */
  segments(): SegmentInfo[] {
    const out = [...this.#sealed];
    if (this.#current.maxId >= this.#current.minId) out.push({ ...this.#current, bytes: this.#size });
    return out;
  }

  /**
   * How far segment `num` can be read: the whole file once sealed, the segment being written up to
   * its last fsynced batch (what a commit made durable; a batch written early may still be cut off).
   */
  readableEnd(num: number): number {
    return num === this.#current.num ? this.#syncedSize : Infinity;
  }

  /** The number of the segment being written. */
  get currentNum(): number {
    return this.#current.num;
  }

  /**
   * Room for `n` more bytes of the batch being built; returns the buffer and the offset to write
   * them at. The caller writes exactly `n` bytes there, then calls `noteId`.
   */
  reserve(n: number): Buffer {
    const need = this.#len + n;
    if (need > this.#buf.length) {
      let cap = this.#buf.length * 2;
      while (cap < need) cap *= 2;
      const grown = Buffer.allocUnsafe(cap);
      this.#buf.copy(grown, 0, 0, this.#len);
      this.#buf = grown;
    }
    return this.#buf;
  }

  /** Offset in the reserved buffer where the next record starts. */
  get offset(): number {
    return this.#len;
  }

  /** The record just written into the reserved space is `n` bytes and carries message `id` (published at `ts`, ns). */
  commitRecord(n: number, id: number, ts = 0): void {
    if (this.#len === BATCH_HEADER && this.#o.onDirty !== undefined) this.#o.onDirty(this);
    this.#len += n;
    this.#records++;
    const c = this.#current;
    if (id < c.minId) c.minId = id;
    if (id > c.maxId) c.maxId = id;
    if (ts > c.maxTs) c.maxTs = ts;
    if (ts > 0 && ts < c.minTs) c.minTs = ts;
    if (this.#len >= EARLY_WRITE) {
      try {
        this.write(false);
      } catch {
        // the batch stays pending: the commit's write (which fsyncs) says whether the disk takes it
      }
    }
  }

  /** Writes the batch built so far as one checksummed unit; with `sync`, fsyncs the segment too. */
  write(sync: boolean): void {
    if (this.#closed) return;
    if (this.#len > BATCH_HEADER) {
      const fd = this.#open();
      const payloadLen = this.#len - BATCH_HEADER;
      this.#buf.writeUInt32BE(payloadLen, 0);
      this.#buf.writeUInt32BE(zlib().crc32(this.#buf.subarray(BATCH_HEADER, this.#len)), 4);
      let off = 0;
      try {
        while (off < this.#len) off += writeSync(fd, this.#buf, off, this.#len - off);
      } catch (err) {
        // a partial batch on disk fails its checksum; cut it off so the retry appends cleanly
        this.#truncateTo(fd, this.#size);
        throw err;
      }
      this.#size += this.#len;
      this.#len = BATCH_HEADER;
      this.#unsynced = true;
      this.#o.onWritten?.(segmentName(this.#o.prefix, this.#current.num), this.#size);
      if (this.#buf.length > EARLY_WRITE * 2) this.#buf = Buffer.allocUnsafe(INITIAL_BUFFER);
    }
    if (sync && this.#unsynced && this.#fd !== null) {
      fdatasyncSync(this.#fd);
      this.#unsynced = false;
    }
    if (sync) this.#syncedSize = this.#size;
    if (this.#size >= this.#o.maxBytesPerFile) this.#roll(sync);
  }

  #truncateTo(fd: number, size: number): void {
    try {
      if (fstatSync(fd).size > size) ftruncateSync(fd, size);
    } catch {
      // the next read cuts the torn batch off by its checksum anyway
    }
  }

  #open(): number {
    if (this.#fd !== null) return this.#fd;
    const file = segmentFile(this.#o.dataPath, this.#o.prefix, this.#current.num);
    try {
      this.#fd = openSync(file, 'a', 0o600);
    } catch (err) {
      throw new SegmentLogError(`cannot open ${file}: ${(err as Error).message}`);
    }
    this.#size = fstatSync(this.#fd).size;
    this.#syncedSize = this.#size;
    syncDir(this.#o.dataPath);
    return this.#fd;
  }

  #roll(sync: boolean): void {
    if (this.#fd !== null) {
      if (sync && this.#unsynced) fdatasyncSync(this.#fd);
      closeSync(this.#fd);
      this.#fd = null;
    }
    this.#unsynced = false;
    this.#current.bytes = this.#size;
    if (this.#current.maxId >= this.#current.minId) this.#sealed.push(this.#current);
    this.#current = emptySegment(this.#current.num + 1);
    this.#size = 0;
    this.#syncedSize = 0;
  }

  /** Throws unless `n` more bytes fit in the current segment (written, then cut off again). */
  probe(n: number): void {
    const fd = this.#open();
    const zeros = Buffer.alloc(Math.min(Math.max(n, 1), 1 << 20));
    try {
      for (let off = 0; off < zeros.length; ) off += writeSync(fd, zeros, off, zeros.length - off);
      fdatasyncSync(fd);
    } finally {
      this.#truncateTo(fd, this.#size);
    }
  }

  /** Records added since the last takeRecords() (the commit counts what it made durable). */
  takeRecords(): number {
    const n = this.#records;
    this.#records = 0;
    return n;
  }

  #records = 0;

  /** Bytes in the batch being built. */
  get pendingBytes(): number {
    return this.#len - BATCH_HEADER;
  }

  /**
   * Drops the batch being built and what was written of it early (the commit that would have
   * fsynced it failed, and its publishers are answered an error). A segment rolled by an early
   * write since the last commit keeps its part: it is replayed as published.
   */
  discard(): void {
    this.#len = BATCH_HEADER;
    this.#records = 0;
    if (this.#fd !== null && this.#size > this.#syncedSize) {
      this.#truncateTo(this.#fd, this.#syncedSize);
      this.#size = this.#syncedSize;
      this.#unsynced = false;
      // a replica may have been sent the part cut off: it must follow the file back
      this.#o.onWritten?.(segmentName(this.#o.prefix, this.#current.num), this.#size);
    }
  }

  /** Deletes the sealed segments whose every ID is below `id`; returns how many went. */
  dropBelow(id: number): number {
    let n = 0;
    while (this.#sealed.length > 0 && this.#sealed[0]!.maxId < id) {
      const s = this.#sealed.shift()!;
      rmSync(segmentFile(this.#o.dataPath, this.#o.prefix, s.num), { force: true });
      this.#o.onRemoved?.(segmentName(this.#o.prefix, s.num));
      n++;
    }
    return n;
  }

  /** Seals the segment being written (when it holds anything), so compaction can consider it. */
  seal(): void {
    if (this.#current.maxId >= this.#current.minId || this.#size > 0) this.#roll(true);
  }

  /** Writes what is pending, fsyncs, and closes the file. */
  close(): void {
    if (this.#closed) return;
    try {
      this.write(true);
    } finally {
      if (this.#fd !== null) closeSync(this.#fd);
      this.#fd = null;
      this.#closed = true;
    }
  }

  /** Removes every segment file (the topic or channel is deleted). */
  delete(): void {
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
    this.#closed = true;
    this.#len = BATCH_HEADER;
    const removed = this.#o.onRemoved;
    if (removed !== undefined) for (const num of listSegments(this.#o.dataPath, this.#o.prefix)) removed(segmentName(this.#o.prefix, num));
    removeSegments(this.#o.dataPath, this.#o.prefix);
    this.#sealed.length = 0;
  }
}

/** Deletes every segment file of `prefix`. */
export function removeSegments(dataPath: string, prefix: string): void {
  for (const num of listSegments(dataPath, prefix)) removeFile(dataPath, segmentName(prefix, num));
}

/** fsync a folder, so a file created in it survives a crash. */
export function syncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // some file systems refuse fsync on a folder; the file's own fsync is what matters most
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

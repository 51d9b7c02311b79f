// A FIFO of byte records on disk, in go-diskqueue's format so that data directories move freely
// between Go nsqd and `nsq serve`:
//   <name>.diskqueue.NNNNNN.dat   records of [4-byte big-endian length][bytes], rolled at maxBytesPerFile
//   <name>.diskqueue.meta.dat     "depth\nreadFileNum,readPos\nwriteFileNum,writePos\n"
// The engine is single-threaded, so file I/O here is synchronous but batched: writes collect in a
// buffer written once per event-loop turn, reads fill a read-ahead buffer, fsync every syncEvery
// records or syncTimeout. A record that cannot be read sets its file aside as `.bad`; the queue
// carries on with the next file.

import { closeSync, existsSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import * as fsAsync from 'node:fs';
import type { Logger } from '../util/log.js';
import { filesOf, removeFile } from './data-dir.js';

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already gone
  }
}

export interface DiskQueueOptions {
  dataPath: string;
  maxBytesPerFile: number;
  minMsgSize: number;
  maxMsgSize: number;
  syncEvery: number;
  syncTimeout: number;
  logger: Logger;
  /** a background write or fsync failed (the records stay buffered and are retried) */
  onError?: (err: Error) => void;
  /** records were buffered: the owner flushes them before acknowledging a publish */
  onDirty?: (q: DiskQueue) => void;
}

const READ_AHEAD = 256 * 1024;
const WRITE_BATCH = 256 * 1024;

/**
 * Removes every file of queue `name`, whatever its metadata says (a scratch queue after a crash:
 * the metadata may be older than the files).
 */
export function removeDiskQueueFiles(dataPath: string, name: string): void {
  for (const f of filesOf(dataPath, `${name}.diskqueue`)) removeFile(dataPath, f);
}

export class DiskQueueError extends Error {
  readonly code = 'E_DISK_QUEUE';
}

export class DiskQueue {
  readonly name: string;
  #o: DiskQueueOptions;
  #depth = 0;
  #readFileNum = 0;
  #readPos = 0;
  #writeFileNum = 0;
  #writePos = 0;

  #writeFd: number | null = null;
  #writeBuf: Buffer = Buffer.allocUnsafe(WRITE_BATCH);
  #writeLen = 0;
  #flushScheduled = false;
  #sinceSync = 0;
  #syncTimer: NodeJS.Timeout | null = null;

  #readFd: number | null = null;
  #readBuf: Buffer = Buffer.alloc(0);
  #readBufPos = 0;
  /** file offset of #readBuf[0] */
  #readBufFileOffset = 0;
  #closed = false;
  #deleted = false;
  /** bytes in the (finished) file being read, -1 until asked */
  #readFileSize = -1;
  /** bytes in the write file (kept here: no fstat per flush) */
  #writeFileSize = 0;
  #syncing = false;
  #syncAgain = false;
  /** the data file the background fsync runs on */
  #syncFd: number | null = null;
  #closeAfterSync: number[] = [];
  /** metadata writes are numbered; a background one that ends after a newer one is dropped */
  #metaSeq = 0;
  #metaWritten = 0;

  constructor(name: string, o: DiskQueueOptions) {
    this.name = name;
    this.#o = o;
    this.#loadMeta();
  }

  get depth(): number {
    return this.#depth;
  }

  #file(num: number): string {
    return join(this.#o.dataPath, `${this.name}.diskqueue.${String(num).padStart(6, '0')}.dat`);
  }

  #metaFile(): string {
    return join(this.#o.dataPath, `${this.name}.diskqueue.meta.dat`);
  }

  #loadMeta(): void {
    const f = this.#metaFile();
    if (!existsSync(f)) return;
    const m = /^(-?\d+)\n(\d+),(\d+)\n(\d+),(\d+)\n?/.exec(readFileSync(f, 'utf8'));
    if (m === null) {
      this.#o.logger.error(`DISKQUEUE(${this.name}) failed to retrieveMetaData - unreadable ${f}`);
      return;
    }
    this.#depth = Number(m[1]);
    this.#readFileNum = Number(m[2]);
    this.#readPos = Number(m[3]);
    this.#writeFileNum = Number(m[4]);
    this.#writePos = Number(m[5]);
    this.#checkTail();
    this.#cutStaleTail();
  }

  /**
   * After a crash the files may hold records written after the metadata was last saved. New records
   * must not land behind them (the reader would take those for the new ones), so, as go-diskqueue
   * does by writing from the saved position, they are cut off.
   */
  #cutStaleTail(): void {
    const current = this.#file(this.#writeFileNum);
    try {
      const size = statSync(current).size;
      if (size > this.#writePos) {
        truncateSync(current, this.#writePos);
        this.#o.logger.warn(`DISKQUEUE(${this.name}) ${size - this.#writePos} bytes past the saved write position cut off (written after the last metadata sync)`);
      }
    } catch {
      // no file yet
    }
    for (let n = this.#writeFileNum + 1; existsSync(this.#file(n)); n++) {
      rmSync(this.#file(n), { force: true });
      this.#o.logger.warn(`DISKQUEUE(${this.name}) ${this.#file(n)} removed: written after the last metadata sync`);
    }
  }

  #metaText(): string {
    return `${this.#depth}\n${this.#readFileNum},${this.#readPos}\n${this.#writeFileNum},${this.#writePos}\n`;
  }

  #persistMeta(): void {
    const f = this.#metaFile();
    const tmp = `${f}.${Math.floor(Math.random() * 1e9)}.tmp`;
    const seq = ++this.#metaSeq;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, this.#metaText());
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, f);
    this.#metaWritten = seq;
  }

  /**
   * The periodic sync (every --sync-every records or --sync-timeout) runs on libuv's thread pool, so
   * the engine keeps serving while the disk catches up: fdatasync of the data written so far, then
   * the metadata describing it (written, fsynced, and renamed into place unless a newer one already
   * was). One at a time; a request meanwhile runs once the current one ends.
   */
  #syncInBackground(): void {
    this.#sinceSync = 0;
    if (this.#syncing) {
      this.#syncAgain = true;
      return;
    }
    this.#syncing = true;
    const fd = this.#writeFd;
    this.#syncFd = fd;
    const meta = this.#metaText();
    const seq = ++this.#metaSeq;
    const f = this.#metaFile();
    const tmp = `${f}.${Math.floor(Math.random() * 1e9)}.tmp`;
    const done = (err: Error | null): void => {
      this.#syncing = false;
      this.#syncFd = null;
      for (const late of this.#closeAfterSync.splice(0)) closeQuietly(late);
      if (err !== null && !this.#closed) this.#o.onError?.(err);
      if (this.#syncAgain && !this.#closed) {
        this.#syncAgain = false;
        this.#syncInBackground();
      }
    };
    const writeMeta = (): void => {
      fsAsync.open(tmp, 'w', 0o600, (err, mfd) => {
        if (err) return done(err);
        fsAsync.write(mfd, meta, (werr) => {
          const finish = (serr: Error | null): void =>
            fsAsync.close(mfd, () => {
              const failed = werr ?? serr;
              // a newer metadata is already in place (or the queue is gone): this one is stale
              if (failed !== null || seq < this.#metaWritten || this.#deleted) {
                fsAsync.rm(tmp, { force: true }, () => done(failed));
                return;
              }
              try {
                renameSync(tmp, f);
                this.#metaWritten = seq;
                done(null);
              } catch (rerr) {
                done(rerr as Error);
              }
            });
          if (werr) return finish(null);
          fsAsync.fdatasync(mfd, (serr) => finish(serr));
        });
      });
    };
    if (fd === null) return writeMeta();
    fsAsync.fdatasync(fd, (err) => (err ? done(err) : writeMeta()));
  }

  /** Closes a data file, after the background fsync when one is running on it. */
  #closeFd(fd: number): void {
    if (this.#syncing && fd === this.#syncFd) this.#closeAfterSync.push(fd);
    else closeSync(fd);
  }

  // ---- writing ----------------------------------------------------------------------------------

  /** Appends one record (data written as one piece or as header + body). */
  put(data: Buffer, start = 0, end = data.length, prefix?: Buffer): void {
    if (this.#closed) throw new DiskQueueError(`DISKQUEUE(${this.name}) is closed`);
    const len = (prefix?.length ?? 0) + (end - start);
    if (len < this.#o.minMsgSize || len > this.#o.maxMsgSize) {
      throw new DiskQueueError(`invalid message write size (${len}) maxMsgSize=${this.#o.maxMsgSize}`);
    }
    if (this.#writeLen + 4 + len > this.#writeBuf.length) {
      this.#flushWrites();
      if (4 + len > this.#writeBuf.length) this.#writeBuf = Buffer.allocUnsafe(4 + len);
    }
    const b = this.#writeBuf;
    b.writeUInt32BE(len, this.#writeLen);
    let p = this.#writeLen + 4;
    if (prefix !== undefined) p += prefix.copy(b, p);
    p += data.copy(b, p, start, end);
    this.#writeLen = p;
    this.#depth++;
    this.#sinceSync++;
    // roll at the size limit, as go-diskqueue does: the record that crosses it ends the file
    this.#writePos += 4 + len;
    if (this.#writePos >= this.#o.maxBytesPerFile) {
      this.#flushWrites();
      this.#sync();
      if (this.#writeFd !== null) this.#closeFd(this.#writeFd);
      this.#writeFd = null;
      this.#writeFileNum++;
      this.#writePos = 0;
    }
    if (this.#sinceSync >= this.#o.syncEvery) {
      this.#flushWrites();
      this.#syncInBackground();
    } else {
      this.#scheduleFlush();
    }
  }

  #scheduleFlush(): void {
    this.#o.onDirty?.(this);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => {
        this.#flushScheduled = false;
        if (!this.#closed) this.#background(() => this.#flushWrites());
      });
    }
    if (this.#syncTimer === null) {
      this.#syncTimer = setTimeout(() => {
        this.#syncTimer = null;
        if (!this.#closed && this.#sinceSync > 0) {
          this.#background(() => {
            this.#flushWrites();
            this.#syncInBackground();
          });
        }
      }, this.#o.syncTimeout);
      this.#syncTimer.unref();
    }
  }

  /** Work done outside any request: a failure is reported, never thrown into the event loop. */
  #background(work: () => void): void {
    try {
      work();
    } catch (err) {
      this.#o.onError?.(err as Error);
      // try again later
      if (this.#writeLen > 0 || this.#sinceSync > 0) setTimeout(() => this.#scheduleFlush(), 1000).unref();
    }
  }

  /**
   * Writes the buffered records to the current file (they reach the OS, not yet the disk).
   * On failure the file is cut back to its last whole record and the records stay buffered.
   */
  #flushWrites(): void {
    if (this.#writeLen === 0) return;
    if (this.#writeFd === null) {
      this.#writeFd = openSync(this.#file(this.#writeFileNum), 'a', 0o600);
      this.#writeFileSize = fstatSync(this.#writeFd).size;
    }
    const fd = this.#writeFd;
    const before = this.#writeFileSize;
    let off = 0;
    try {
      while (off < this.#writeLen) off += writeSync(fd, this.#writeBuf, off, this.#writeLen - off);
    } catch (err) {
      try {
        ftruncateSync(fd, before);
      } catch {
        // the next read will find and set aside a torn record
      }
      throw err;
    }
    this.#writeFileSize = before + this.#writeLen;
    this.#writeLen = 0;
  }

  /** Writes out buffered records now; throws what the file system says (ENOSPC, EIO, ...). */
  flush(): void {
    if (!this.#closed) this.#flushWrites();
  }

  #sync(): void {
    if (this.#writeFd !== null) fdatasyncSync(this.#writeFd);
    this.#persistMeta();
    this.#sinceSync = 0;
  }

  /** Makes everything written so far durable. */
  sync(): void {
    this.#flushWrites();
    this.#sync();
  }

  // ---- reading ----------------------------------------------------------------------------------

  /**
   * Removes and returns the oldest record (a view valid until the next call), or null when empty.
   * Unreadable data is set aside and skipped.
   */
  shift(): Buffer | null {
    for (;;) {
      if (this.#depth <= 0 && this.#readFileNum === this.#writeFileNum && this.#readPos >= this.#writePos) return null;
      if (this.#readFileNum === this.#writeFileNum && this.#readPos >= this.#writePos) {
        this.#checkTail();
        return null;
      }
      // the writer's records must be in the file before we read them
      if (this.#readFileNum === this.#writeFileNum) this.#flushWrites();
      const rec = this.#readOne();
      if (rec === 'eof') {
        // finished an older file: move to the next one
        this.#nextReadFile(true);
        continue;
      }
      if (rec === 'bad') continue;
      return rec;
    }
  }

  #readOne(): Buffer | 'eof' | 'bad' {
    if (this.#readFd === null) {
      try {
        this.#readFd = openSync(this.#file(this.#readFileNum), 'r');
        this.#readFileSize = -1;
      } catch (err) {
        this.#o.logger.error(`DISKQUEUE(${this.name}) reading at ${this.#readPos} of ${this.#file(this.#readFileNum)} - ${(err as Error).message}`);
        this.#handleReadError();
        return 'bad';
      }
      this.#readBuf = Buffer.alloc(0);
      this.#readBufPos = 0;
      this.#readBufFileOffset = this.#readPos;
    }
    const header = this.#bytes(4);
    if (header === null) {
      if (this.#readFileNum < this.#writeFileNum) return 'eof';
      this.#o.logger.error(`DISKQUEUE(${this.name}) reading at ${this.#readPos} of ${this.#file(this.#readFileNum)} - unexpected end of file`);
      this.#handleReadError();
      return 'bad';
    }
    const size = header.readInt32BE(0);
    if (size < this.#o.minMsgSize || size > this.#o.maxMsgSize) {
      this.#o.logger.error(`DISKQUEUE(${this.name}) reading at ${this.#readPos} of ${this.#file(this.#readFileNum)} - invalid message read size (${size})`);
      this.#handleReadError();
      return 'bad';
    }
    const body = this.#bytes(size);
    if (body === null) {
      this.#o.logger.error(`DISKQUEUE(${this.name}) reading at ${this.#readPos} of ${this.#file(this.#readFileNum)} - truncated record`);
      this.#handleReadError();
      return 'bad';
    }
    this.#readPos += 4 + size;
    this.#depth--;
    this.#sinceSync++;
    if (this.#readFileNum < this.#writeFileNum && this.#readPos >= this.#fileSize()) this.#nextReadFile(true);
    return body;
  }

  /** The size of the file being read; asked only once it is finished (older than the write file), so it is stat'ed once. */
  #fileSize(): number {
    if (this.#readFd === null) return 0;
    if (this.#readFileSize < 0) this.#readFileSize = fstatSync(this.#readFd).size;
    return this.#readFileSize;
  }

  /** `n` bytes at the read position (advancing the buffer, not #readPos), or null at end of file. */
  #bytes(n: number): Buffer | null {
    if (this.#readBuf.length - this.#readBufPos < n) {
      const keep = this.#readBuf.subarray(this.#readBufPos);
      const want = Math.max(READ_AHEAD, n);
      const next = Buffer.allocUnsafe(keep.length + want);
      keep.copy(next, 0);
      const got = readSync(this.#readFd!, next, keep.length, want, this.#readBufFileOffset + this.#readBufPos + keep.length);
      this.#readBufFileOffset += this.#readBufPos;
      this.#readBuf = next.subarray(0, keep.length + got);
      this.#readBufPos = 0;
      if (this.#readBuf.length < n) return null;
    }
    const out = this.#readBuf.subarray(this.#readBufPos, this.#readBufPos + n);
    this.#readBufPos += n;
    return out;
  }

  #nextReadFile(removeOld: boolean): void {
    if (this.#readFd !== null) closeSync(this.#readFd);
    this.#readFd = null;
    this.#readFileSize = -1;
    if (removeOld) rmSync(this.#file(this.#readFileNum), { force: true });
    this.#readFileNum++;
    this.#readPos = 0;
    this.#readBuf = Buffer.alloc(0);
    this.#readBufPos = 0;
    this.#sync();
  }

  #handleReadError(): void {
    if (this.#readFileNum === this.#writeFileNum) {
      // nothing more can be trusted in the file being written either
      this.#flushWrites();
      if (this.#writeFd !== null) closeSync(this.#writeFd);
      this.#writeFd = null;
      this.#writeFileNum++;
      this.#writePos = 0;
    }
    const bad = this.#file(this.#readFileNum);
    this.#o.logger.warn(`DISKQUEUE(${this.name}) jump to next file and saving bad file as ${bad}.bad`);
    if (this.#readFd !== null) closeSync(this.#readFd);
    this.#readFd = null;
    this.#readFileSize = -1;
    try {
      renameSync(bad, `${bad}.bad`);
    } catch {
      // it may not exist at all
    }
    this.#readFileNum++;
    this.#readPos = 0;
    this.#readBuf = Buffer.alloc(0);
    this.#readBufPos = 0;
    this.#checkTail();
    this.#sync();
  }

  /** At the end of the data the depth must be 0; if it is not, the metadata was wrong. */
  #checkTail(): void {
    if (this.#readFileNum < this.#writeFileNum || this.#readPos < this.#writePos) return;
    if (this.#depth !== 0) {
      this.#o.logger.error(`DISKQUEUE(${this.name}) ${this.#depth < 0 ? 'negative' : 'positive'} depth at tail (${this.#depth}), ${this.#depth < 0 ? 'metadata corruption' : 'data loss'}, resetting 0...`);
      this.#depth = 0;
    }
    if (this.#readFileNum > this.#writeFileNum || this.#readPos > this.#writePos) {
      this.#writeFileNum = Math.max(this.#readFileNum, this.#writeFileNum) + 1;
      this.#writePos = 0;
      this.#readFileNum = this.#writeFileNum;
      this.#readPos = 0;
    }
  }

  // ---- lifecycle --------------------------------------------------------------------------------

  /** Drops everything: files removed, positions moved to a fresh file. */
  empty(): void {
    this.#writeLen = 0;
    this.#closeFiles();
    for (let i = this.#readFileNum; i <= this.#writeFileNum; i++) rmSync(this.#file(i), { force: true });
    this.#writeFileNum++;
    this.#writePos = 0;
    this.#readFileNum = this.#writeFileNum;
    this.#readPos = 0;
    this.#depth = 0;
    this.#sync();
  }

  #closeFiles(): void {
    if (this.#readFd !== null) closeSync(this.#readFd);
    if (this.#writeFd !== null) this.#closeFd(this.#writeFd);
    this.#readFd = null;
    this.#readFileSize = -1;
    this.#writeFd = null;
    this.#readBuf = Buffer.alloc(0);
    this.#readBufPos = 0;
  }

  /** Syncs and closes; the queue can be reopened from its files. */
  close(): void {
    if (this.#closed) return;
    this.#flushWrites();
    this.#sync();
    this.#closed = true;
    if (this.#syncTimer) clearTimeout(this.#syncTimer);
    this.#closeFiles();
  }

  /** Closes and removes every file of this queue. */
  delete(): void {
    this.#closed = true;
    this.#deleted = true;
    if (this.#syncTimer) clearTimeout(this.#syncTimer);
    this.#closeFiles();
    for (let i = this.#readFileNum; i <= this.#writeFileNum; i++) rmSync(this.#file(i), { force: true });
    rmSync(this.#metaFile(), { force: true });
  }
}

// A FIFO of byte records on disk, in go-diskqueue's format so that data directories move freely
// between Go nsqd and `nsq serve`:
//   <name>.diskqueue.NNNNNN.dat   records of [4-byte big-endian length][bytes], rolled at maxBytesPerFile
//   <name>.diskqueue.meta.dat     "depth\nreadFileNum,readPos\nwriteFileNum,writePos\n"
// The engine is single-threaded, so file I/O here is synchronous but batched: writes collect in a
// buffer written once per event-loop turn, reads fill a read-ahead buffer, fsync every syncEvery
// records or syncTimeout. A record that cannot be read sets its file aside as `.bad`; the queue
// carries on with the next file.
// A write the disk refuses (full disk, EIO) never throws out of the queue: the records stay
// buffered, the queue is `failing` (a publish into it is refused, so the buffer stays bounded), and
// the write is retried once a second until it succeeds. Records of a publish in progress (between
// mark() and release()/rollback()) are never written early, so a refused publish leaves nothing.

import { closeSync, existsSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import * as fsAsync from 'node:fs';
import type { Logger } from '../util/log.js';
import { writeFileAtomic } from '../util/atomic-file.js';
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
  onError?: (err: Error, q: DiskQueue) => void;
  /** records were buffered: the owner flushes them before acknowledging a publish */
  onDirty?: (q: DiskQueue) => void;
  /** a failing queue's retried write succeeded: nothing is waiting for the disk any more */
  onRecovered?: (q: DiskQueue) => void;
}

/** how soon a write the disk refused is tried again */
const RETRY_MS = 1000;

const READ_AHEAD = 256 * 1024;
const WRITE_BATCH = 256 * 1024;
const NO_BUFFER = Buffer.alloc(0);

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
  // allocated at the first write: most queues of a node with many topics never write (a channel
  // below --mem-queue-size), and 256 KiB each would cost RSS, address space and GC time at start
  #writeBuf: Buffer = NO_BUFFER;
  /** the records not yet in the file are #writeBuf[#writeStart, #writeLen) */
  #writeStart = 0;
  #writeLen = 0;
  /** a publish in progress: where its records start in #writeBuf (-1: none), and the counters then */
  #mark = -1;
  #markDepth = 0;
  #markPos = 0;
  #markSince = 0;
  /** the last write or sync the disk refused; null while the queue is healthy */
  #failing: Error | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  /** the size of the publish write the disk refused: the retry checks that much fits again */
  #probeBytes = 0;
  /** writeMarked(): the write file's size before the publish's records (-1: not written) */
  #markFileSize = -1;
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

  /** Why the disk refused this queue's last write (records wait in memory); null when healthy. */
  get failing(): Error | null {
    return this.#failing;
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
    const seq = ++this.#metaSeq;
    const text = this.#metaText();
    try {
      writeFileAtomic(f, text);
    } catch (err) {
      // a full disk has no block for a new file, but the old metadata's block can be overwritten;
      // stale metadata would cut the records written since off at the next start
      if (!this.#overwriteMeta(f, text)) throw err;
    }
    this.#metaWritten = seq;
  }

  /** Rewrites the metadata file in place (it is far smaller than a block); false when it cannot. */
  #overwriteMeta(f: string, text: string): boolean {
    let fd: number;
    try {
      fd = openSync(f, 'r+');
    } catch {
      return false;
    }
    try {
      const b = Buffer.from(text);
      writeSync(fd, b, 0, b.length, 0);
      ftruncateSync(fd, b.length);
      fdatasyncSync(fd);
      return true;
    } catch {
      return false;
    } finally {
      closeQuietly(fd);
    }
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
      // the retry syncs again (falling back to rewriting the metadata in place)
      if (err !== null && !this.#closed) this.#refused(err);
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

  /**
   * Appends one record (data written as one piece or as header + body). Throws only for a closed
   * queue, a bad size, or (during a publish, after mark()) a queue that is failing: what the disk
   * refuses later stays buffered and is retried.
   */
  put(data: Buffer, start = 0, end = data.length, prefix?: Buffer): void {
    if (this.#closed) throw new DiskQueueError(`DISKQUEUE(${this.name}) is closed`);
    const len = (prefix?.length ?? 0) + (end - start);
    if (len < this.#o.minMsgSize || len > this.#o.maxMsgSize) {
      throw new DiskQueueError(`invalid message write size (${len}) maxMsgSize=${this.#o.maxMsgSize}`);
    }
    const publishing = this.#mark >= 0;
    if (publishing && this.#failing !== null) throw this.#failing;
    if (this.#writeLen + 4 + len > this.#writeBuf.length) this.#makeRoom(4 + len, publishing);
    const b = this.#writeBuf;
    b.writeUInt32BE(len, this.#writeLen);
    let p = this.#writeLen + 4;
    if (prefix !== undefined) p += prefix.copy(b, p);
    p += data.copy(b, p, start, end);
    this.#writeLen = p;
    this.#depth++;
    this.#sinceSync++;
    this.#writePos += 4 + len;
    // a publish's records are written once it is complete (release())
    if (!publishing) this.#afterPut();
  }

  /** Roll at the size limit, sync every --sync-every records, else write at the end of the turn. */
  #afterPut(): void {
    // roll at the size limit, as go-diskqueue does: the record that crosses it ends the file (a
    // file the disk refused to finish grows past the limit until it can be written: readers take
    // a finished file's real size)
    if (this.#writePos >= this.#o.maxBytesPerFile && this.#failing === null) this.#guard(() => this.#roll());
    if (this.#sinceSync >= this.#o.syncEvery && this.#failing === null) {
      this.#guard(() => {
        this.#flushWrites();
        this.#syncInBackground();
      });
    } else {
      this.#scheduleFlush();
    }
  }

  /** Room for `n` more bytes: write out what is buffered, or (publishing, failing) grow the buffer. */
  #makeRoom(n: number, publishing: boolean): void {
    if (!publishing && this.#failing === null) this.#guard(() => this.#flushWrites());
    if (this.#writeStart > 0 && this.#mark < 0) {
      // the front was handed to a reader while the disk refused it (#shiftBuffered)
      this.#writeBuf.copyWithin(0, this.#writeStart, this.#writeLen);
      this.#writeLen -= this.#writeStart;
      this.#writeStart = 0;
    }
    if (this.#writeLen + n <= this.#writeBuf.length) return;
    let cap = Math.max(WRITE_BATCH, this.#writeBuf.length * 2);
    while (cap < this.#writeLen + n) cap *= 2;
    const grown = Buffer.allocUnsafe(cap);
    this.#writeBuf.copy(grown, 0, 0, this.#writeLen);
    this.#writeBuf = grown;
  }

  #roll(): void {
    this.#flushWrites();
    if (this.#writeFd !== null) fdatasyncSync(this.#writeFd);
    if (this.#writeFd !== null) this.#closeFd(this.#writeFd);
    this.#writeFd = null;
    this.#writeFileNum++;
    this.#writePos = 0;
    this.#sinceSync = 0;
    // a refusal here (the caller guards) leaves the roll done and the metadata to the retry
    this.#persistMeta();
  }

  /**
   * A publish starts: its records are held back until writeMarked() + release() (or dropped by
   * rollback(), when the publish fails), so a refused publish leaves nothing behind.
   */
  mark(): void {
    if (this.#mark >= 0) return;
    this.#mark = this.#writeLen;
    this.#markDepth = this.#depth;
    this.#markPos = this.#writePos;
    this.#markSince = this.#sinceSync;
  }

  /**
   * Writes the publish's records (and whatever was buffered before them) to the file, before the
   * publish is answered; throws what the disk says (the publish then fails and calls rollback()).
   */
  writeMarked(): void {
    if (this.#mark < 0 || this.#writeLen === this.#mark) return;
    const publishBytes = this.#writeLen - this.#mark;
    try {
      if (this.#failing !== null) throw this.#failing;
      this.#flushWrites();
      const fd = this.#openWrite();
      const before = this.#writeFileSize;
      let off = this.#mark;
      try {
        while (off < this.#writeLen) off += writeSync(fd, this.#writeBuf, off, this.#writeLen - off);
      } catch (err) {
        this.#truncateWrite(before);
        throw err;
      }
      this.#writeFileSize = before + publishBytes;
      this.#markFileSize = before;
      this.#writeStart = 0;
      this.#writeLen = 0;
      this.#mark = 0;
    } catch (err) {
      // nothing more goes in until a write of this size succeeds again (#retry probes for it)
      this.#probeBytes = publishBytes;
      this.#refused(err as Error);
      throw err;
    }
  }

  /** The publish succeeded: its records are the queue's. */
  release(): void {
    if (this.#mark < 0) return;
    const any = this.#depth > this.#markDepth;
    this.#mark = -1;
    this.#markFileSize = -1;
    if (any) this.#afterPut();
  }

  /** The publish failed: its records go, from the buffer or (written already) from the file. */
  rollback(): void {
    if (this.#mark < 0) return;
    if (this.#markFileSize >= 0) {
      this.#truncateWrite(this.#markFileSize);
      this.#writeFileSize = this.#markFileSize;
      this.#markFileSize = -1;
    }
    this.#writeLen = this.#mark;
    this.#depth = this.#markDepth;
    this.#writePos = this.#markPos;
    this.#sinceSync = this.#markSince;
    this.#mark = -1;
  }

  #openWrite(): number {
    if (this.#writeFd === null) {
      this.#writeFd = openSync(this.#file(this.#writeFileNum), 'a', 0o600);
      this.#writeFileSize = fstatSync(this.#writeFd).size;
    }
    return this.#writeFd;
  }

  /** Cuts the write file back to `size` (a refused or taken-back write must leave no torn record). */
  #truncateWrite(size: number): void {
    try {
      if (this.#writeFd !== null) ftruncateSync(this.#writeFd, size);
    } catch (err) {
      // the next read will find and set aside a torn record
      this.#o.logger.error(`DISKQUEUE(${this.name}) cannot cut a refused write off - ${(err as Error).message}`);
    }
  }

  #scheduleFlush(): void {
    this.#o.onDirty?.(this);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => {
        this.#flushScheduled = false;
        if (!this.#closed && this.#failing === null) this.#guard(() => this.#flushWrites());
      });
    }
    if (this.#syncTimer === null) {
      this.#syncTimer = setTimeout(() => {
        this.#syncTimer = null;
        if (!this.#closed && this.#sinceSync > 0 && this.#failing === null) {
          this.#guard(() => {
            this.#flushWrites();
            this.#syncInBackground();
          });
        }
      }, this.#o.syncTimeout);
      this.#syncTimer.unref();
    }
  }

  /** Disk work: a refusal is noted and retried, never thrown. Returns whether the work succeeded. */
  #guard(work: () => void): boolean {
    try {
      work();
      return true;
    } catch (err) {
      this.#refused(err as Error);
      return false;
    }
  }

  #refused(err: Error): void {
    const first = this.#failing === null;
    this.#failing = err;
    if (first) this.#o.onError?.(err, this);
    if (this.#retryTimer === null && !this.#closed) {
      this.#retryTimer = setTimeout(this.#retry, RETRY_MS);
      this.#retryTimer.unref();
    }
  }

  /** Once a second while failing: write the held records and the metadata again. */
  #retry = (): void => {
    this.#retryTimer = null;
    if (this.#closed) return;
    const ok = this.#guard(() => {
      if (this.#probeBytes > 0 && this.#writeLen === this.#writeStart) this.#probe(this.#probeBytes);
      if (this.#writePos >= this.#o.maxBytesPerFile) this.#roll();
      else this.#sync();
    });
    if (!ok) {
      if (this.#retryTimer === null) {
        this.#retryTimer = setTimeout(this.#retry, RETRY_MS);
        this.#retryTimer.unref();
      }
      return;
    }
    this.#failing = null;
    this.#probeBytes = 0;
    this.#o.onRecovered?.(this);
  };

  /**
   * Writes the buffered records to the current file (they reach the OS, not yet the disk); those of
   * a publish in progress wait. On failure the file is cut back to its last whole record and the
   * records stay buffered.
   */
  #flushWrites(): void {
    const end = this.#mark >= 0 ? this.#mark : this.#writeLen;
    if (end === this.#writeStart) return;
    const fd = this.#openWrite();
    const before = this.#writeFileSize;
    let off = this.#writeStart;
    try {
      while (off < end) off += writeSync(fd, this.#writeBuf, off, end - off);
    } catch (err) {
      this.#truncateWrite(before);
      throw err;
    }
    this.#writeFileSize = before + (end - this.#writeStart);
    if (end === this.#writeLen) {
      this.#writeStart = 0;
      this.#writeLen = 0;
    } else {
      this.#writeStart = end;
    }
  }

  /** Whether `n` more bytes fit in the write file (written, then cut off again). */
  #probe(n: number): void {
    const fd = this.#openWrite();
    const before = this.#writeFileSize;
    const zeros = Buffer.alloc(Math.min(n, 1 << 20));
    try {
      for (let off = 0; off < zeros.length; ) off += writeSync(fd, zeros, off, zeros.length - off, before + off);
    } finally {
      this.#truncateWrite(before);
    }
  }

  /** Writes out buffered records now; false when the disk refused (they stay buffered and are retried). */
  flush(): boolean {
    if (this.#closed) return true;
    if (this.#failing !== null) return false;
    return this.#guard(() => this.#flushWrites());
  }

  /** fsync of the write file, then the metadata. Throws what the file system says. */
  #sync(): void {
    this.#flushWrites();
    if (this.#writeFd !== null) fdatasyncSync(this.#writeFd);
    this.#persistMeta();
    this.#sinceSync = 0;
  }

  // ---- reading ----------------------------------------------------------------------------------

  /**
   * Removes and returns the oldest record (a view valid until the next call), or null when empty.
   * Unreadable data is set aside and skipped.
   */
  shift(): Buffer | null {
    for (;;) {
      // a publish in progress (mark()) is not readable yet
      const limit = this.#mark >= 0 ? this.#markPos : this.#writePos;
      if (this.#readFileNum === this.#writeFileNum && this.#readPos >= limit) {
        if (this.#mark < 0) this.#checkTail();
        return null;
      }
      if (this.#readFileNum === this.#writeFileNum) {
        const buffered = (this.#mark >= 0 ? this.#mark : this.#writeLen) - this.#writeStart;
        // the writer's records must be in the file before we read them; when the disk refuses
        // them, they are handed over from memory instead
        if (buffered > 0 && this.#readPos >= limit - buffered && (this.#failing !== null || !this.#guard(() => this.#flushWrites()))) return this.#shiftBuffered();
      }
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

  /**
   * Up to `n` of the oldest records (copies), oldest first, for a peek: read from the files with a
   * descriptor of its own, starting at the read position, and from the write buffer for what is
   * not written yet. Nothing of the queue changes (positions, read-ahead, metadata); the peek stops
   * at data it cannot read (the reader will set it aside when it gets there).
   */
  peek(n: number): Buffer[] {
    const out: Buffer[] = [];
    if (this.#closed) return out;
    // as shift(): a publish in progress is not readable yet
    const limit = this.#mark >= 0 ? this.#markPos : this.#writePos;
    const bufferedEnd = this.#mark >= 0 ? this.#mark : this.#writeLen;
    const inFile = limit - (bufferedEnd - this.#writeStart);
    let fileNum = this.#readFileNum;
    let pos = this.#readPos;
    let fd: number | null = null;
    const header = Buffer.allocUnsafe(4);
    try {
      while (out.length < n) {
        const writing = fileNum === this.#writeFileNum;
        if (writing && pos >= inFile) {
          for (let at = this.#writeStart + (pos - inFile); out.length < n && at < bufferedEnd; ) {
            const len = this.#writeBuf.readUInt32BE(at);
            out.push(Buffer.from(this.#writeBuf.subarray(at + 4, at + 4 + len)));
            at += 4 + len;
          }
          break;
        }
        if (fd === null) fd = openSync(this.#file(fileNum), 'r');
        const end = writing ? inFile : fstatSync(fd).size;
        if (pos >= end) {
          closeSync(fd);
          fd = null;
          fileNum++;
          pos = 0;
          continue;
        }
        if (readSync(fd, header, 0, 4, pos) < 4) break;
        const size = header.readInt32BE(0);
        if (size < this.#o.minMsgSize || size > this.#o.maxMsgSize || pos + 4 + size > end) break;
        const rec = Buffer.allocUnsafe(size);
        if (readSync(fd, rec, 0, size, pos + 4) < size) break;
        out.push(rec);
        pos += 4 + size;
      }
    } catch {
      // a file that is gone or unreadable: the peek shows what came before it
    } finally {
      if (fd !== null) closeQuietly(fd);
    }
    return out;
  }

  /** The oldest record not yet written, taken out of the write buffer (it never reaches the file). */
  #shiftBuffered(): Buffer {
    const b = this.#writeBuf;
    const at = this.#writeStart;
    const len = b.readUInt32BE(at);
    // a copy: the buffer moves on (only while the disk refuses writes)
    const rec = Buffer.from(b.subarray(at + 4, at + 4 + len));
    this.#writeStart = at + 4 + len;
    if (this.#writeStart === this.#writeLen && this.#mark < 0) {
      this.#writeStart = 0;
      this.#writeLen = 0;
    }
    this.#writePos -= 4 + len;
    this.#depth--;
    this.#sinceSync++;
    if (this.#mark >= 0) {
      this.#markPos -= 4 + len;
      this.#markDepth--;
    }
    return rec;
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
    this.#syncNow();
  }

  /** Sync outside the write path: a refusal is retried; success means nothing waits for the disk. */
  #syncNow(): void {
    if (!this.#guard(() => this.#sync()) || this.#failing === null) return;
    this.#failing = null;
    this.#o.onRecovered?.(this);
  }

  #handleReadError(): void {
    if (this.#readFileNum === this.#writeFileNum) {
      // nothing more can be trusted in the file being written either; what is still buffered is
      // written to the next file (into this one, it would be set aside with the bad record)
      if (this.#writeFd !== null) this.#closeFd(this.#writeFd);
      this.#writeFd = null;
      this.#writeFileNum++;
      this.#writePos = this.#writeLen - this.#writeStart;
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
    this.#syncNow();
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
    this.#writeStart = 0;
    this.#writeLen = 0;
    this.#mark = -1;
    this.#closeFiles();
    for (let i = this.#readFileNum; i <= this.#writeFileNum; i++) rmSync(this.#file(i), { force: true });
    this.#writeFileNum++;
    this.#writePos = 0;
    this.#readFileNum = this.#writeFileNum;
    this.#readPos = 0;
    this.#depth = 0;
    this.#syncNow();
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

  /**
   * Syncs and closes; the queue can be reopened from its files. Returns how many records the disk
   * refused to take (they are lost with the process; logged).
   */
  close(): number {
    if (this.#closed) return 0;
    let lost = 0;
    try {
      this.#sync();
    } catch (err) {
      for (let at = this.#writeStart; at < this.#writeLen; at += 4 + this.#writeBuf.readUInt32BE(at)) lost++;
      this.#o.logger.error(`DISKQUEUE(${this.name}) failed to sync at close - ${(err as Error).message}${lost > 0 ? `: ${lost} message(s) could not be written and are lost` : ''}`);
    }
    this.#closed = true;
    this.#clearTimers();
    this.#closeFiles();
    return lost;
  }

  #clearTimers(): void {
    if (this.#syncTimer) clearTimeout(this.#syncTimer);
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#syncTimer = null;
    this.#retryTimer = null;
  }

  /** Closes and removes every file of this queue. */
  delete(): void {
    this.#closed = true;
    this.#deleted = true;
    this.#clearTimers();
    this.#closeFiles();
    // what it held is gone with it: nothing waits for the disk any more
    if (this.#failing !== null) {
      this.#failing = null;
      this.#o.onRecovered?.(this);
    }
    for (let i = this.#readFileNum; i <= this.#writeFileNum; i++) rmSync(this.#file(i), { force: true });
    rmSync(this.#metaFile(), { force: true });
  }
}

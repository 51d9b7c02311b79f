// One topic's consumer and its output files. Messages are held unanswered until their lines are
// written and fsynced; only then are they FINed, so a crash at any point loses nothing that nsqd
// forgot (at-least-once: it may write a message twice, never zero times).

import { join, relative } from 'node:path';
import type { Message } from '../../client/connection.js';
import { Consumer } from '../../client/consumer.js';
import { formatDuration } from '../../util/duration.js';
import type { Logger } from '../../util/log.js';
import type { TransportOptions } from '../../client/connection.js';
import type { ToFileOptions } from './options.js';
import { exclusiveRename, exists, OutputFile } from './output-file.js';
import { strftime } from './strftime.js';

const NEWLINE = Buffer.from('\n');
/** go-nsq's "starved": a connection holds 85% of its RDY count unanswered, so nsqd sends no more */
const STARVED_RATIO = 0.85;
const MAX_REVISION = 999_999;

export interface FileLoggerDeps {
  opts: ToFileOptions;
  topic: string;
  /** the filename template for this topic (see filenameTemplate) */
  template: string;
  nsqdTcpAddresses: string[];
  lookupdHttpAddresses: string[];
  lookupdPollInterval: number;
  userAgent: string;
  /** TLS and compression of the connections */
  transport?: TransportOptions;
  /** AUTH secret for nodes that require it ('' : none) */
  authSecret: string;
  logger: Logger;
  /** a write, fsync or move failed: nothing more is written or FINed */
  onFatal: (err: Error) => void;
}

const revision = (rev: number): string => `-${String(rev).padStart(6, '0')}`;

export class FileLogger {
  readonly topic: string;
  #opts: ToFileOptions;
  #template: string;
  #log: Logger;
  #tag: string;
  #onFatal: (err: Error) => void;
  #consumer: Consumer;

  /** received, not yet written */
  #pending: Message[] = [];
  #file: OutputFile | null = null;
  /** the current name with <DATETIME> filled in (and <REV> still in it) */
  #filename = '';
  #rev = 0;
  #openTime = 0;

  #syncWanted = false;
  #tickWanted = false;
  #closeWanted = false;
  #running: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #stopping = false;
  #failed = false;
  #started = false;
  #warnedTimeout = false;

  constructor(d: FileLoggerDeps) {
    this.topic = d.topic;
    this.#opts = d.opts;
    this.#template = d.template;
    this.#log = d.logger;
    this.#tag = `[${d.topic}/${d.opts.channel}]`;
    this.#onFatal = d.onFatal;
    this.#consumer = new Consumer(
      {
        topic: d.topic,
        channel: d.opts.channel,
        nsqdTcpAddresses: d.nsqdTcpAddresses,
        lookupdHttpAddresses: d.lookupdHttpAddresses,
        lookupdPollInterval: d.lookupdPollInterval,
        maxInFlight: d.opts.maxInFlight,
        autoFinish: false,
        // the handler never fails, so there is nothing to back off from
        maxBackoff: 0,
        userAgent: d.userAgent,
        ...d.transport,
        authSecret: d.authSecret,
      },
      (msg) => this.#onMessage(msg),
    );
    this.#consumer.events = {
      error: (err, address) => {
        if (this.#started && !this.#stopping) this.#log.warn(`${this.#tag} ${address}: ${err.message}`);
      },
      connected: (address) => this.#log.info(`${this.#tag} consuming from ${address}`),
      // a connection is closing: write, sync and FIN what it delivered now, not at the next tick
      draining: () => {
        this.#syncWanted = true;
        this.#kick();
      },
      waiting: (why) => {
        if (!this.#stopping) this.#log.warn(`${this.#tag} waiting: ${why}; asking lookupd again every ${formatDuration(d.lookupdPollInterval)}`);
      },
    };
  }

  /** Connects (rejects when no nsqd can be reached) and starts the sync/rotation ticker. */
  async start(): Promise<void> {
    await this.#consumer.start();
    this.#started = true;
    this.#timer = setInterval(() => {
      this.#tickWanted = true;
      this.#kick();
    }, this.#opts.syncInterval);
  }

  /** SIGHUP: write and sync what is held, close the file; the next message opens a new one. */
  hup(): void {
    this.#syncWanted = true;
    this.#closeWanted = true;
    this.#kick();
  }

  /** Stops consuming, writes and FINs every message still held, closes and moves the file. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#syncWanted = true;
    this.#kick();
    // the consumer waits for every in-flight message to be answered; messages arriving after CLS
    // are synced as they come (see #onMessage)
    await this.#consumer.stop();
    this.#syncWanted = true;
    this.#closeWanted = true;
    this.#kick();
    await this.#idle();
  }

  #onMessage(msg: Message): void {
    if (this.#failed) return;
    if (!this.#warnedTimeout) this.#warnTimeout(msg);
    this.#pending.push(msg);
    if (this.#stopping || this.#starved(msg)) {
      this.#syncWanted = true;
      this.#kick();
    }
  }

  /** A message held longer than nsqd's msg-timeout is redelivered: written twice. */
  #warnTimeout(msg: Message): void {
    this.#warnedTimeout = true;
    const timeout = msg.connection.identify?.msg_timeout ?? 0;
    if (timeout > 0 && this.#opts.syncInterval >= timeout) {
      this.#log.warn(`${this.#tag} --sync-interval ${formatDuration(this.#opts.syncInterval)} is not shorter than nsqd's msg timeout ${formatDuration(timeout)}: quiet periods will redeliver (and duplicate) messages`);
    }
  }

  #starved(msg: Message): boolean {
    const max = this.#opts.maxInFlight;
    if (this.#pending.length >= max) return true;
    // the consumer splits max-in-flight evenly over its connections as RDY
    const perConn = Math.floor(max / Math.max(1, this.#consumer.connectionCount));
    const rdy = Math.max(1, Math.min(perConn, msg.connection.identify?.max_rdy_count ?? perConn));
    return msg.connection.inFlight >= Math.max(1, Math.floor(rdy * STARVED_RATIO));
  }

  #kick(): void {
    if (this.#running !== null || this.#failed) return;
    if (!this.#syncWanted && !this.#tickWanted && !this.#closeWanted) return;
    this.#running = this.#pump().then(
      () => {
        this.#running = null;
        this.#kick();
      },
      (err: unknown) => {
        this.#running = null;
        this.#failed = true;
        if (this.#timer) clearInterval(this.#timer);
        this.#onFatal(err instanceof Error ? err : new Error(String(err)));
      },
    );
  }

  async #idle(): Promise<void> {
    while (this.#running !== null) await this.#running;
  }

  /** The one place files are touched: requests raised meanwhile are coalesced into the next round. */
  async #pump(): Promise<void> {
    while (!this.#failed && (this.#syncWanted || this.#tickWanted || this.#closeWanted)) {
      const tick = this.#tickWanted;
      const close = this.#closeWanted;
      this.#syncWanted = this.#tickWanted = this.#closeWanted = false;
      const batch = this.#pending;
      this.#pending = [];
      const now = new Date();

      const written = await this.#write(batch, now);
      let closeFile = close;
      if (tick && this.#needsRotation(now)) {
        if (this.#opts.skipEmptyFiles) closeFile = true;
        else await this.#rotate(now);
      }
      if (this.#file !== null) await this.#file.sync();
      if (written.length > 0) this.#log.debug(`${this.#tag} syncing ${written.length} records to disk`);
      for (const msg of written) msg.finish();
      if (closeFile) await this.#closeFile();
    }
  }

  /** Appends the batch, rotating between messages where needed; returns the messages written. */
  async #write(batch: Message[], now: Date): Promise<Message[]> {
    const written: Message[] = [];
    let chunks: Buffer[] = [];
    let bytes = 0;
    for (const msg of batch) {
      // nsqd has requeued what a lost connection held: writing it now would only duplicate it
      if (msg.connection.isClosed) continue;
      if (this.#needsRotation(now)) {
        await this.#file?.write(chunks, bytes);
        chunks = [];
        bytes = 0;
        await this.#rotate(now);
      }
      chunks.push(msg.body, NEWLINE);
      bytes += msg.body.length + 1;
      this.#file!.size += msg.body.length + 1;
      written.push(msg);
    }
    await this.#file?.write(chunks, bytes);
    return written;
  }

  #currentFilename(now: Date): string {
    return this.#template.replaceAll('<DATETIME>', strftime(this.#opts.datetimeFormat, now));
  }

  #needsRotation(now: Date): boolean {
    const f = this.#file;
    if (f === null) return true;
    const o = this.#opts;
    if (this.#currentFilename(now) !== this.#filename) return true;
    if (o.rotateInterval > 0 && now.getTime() - this.#openTime > o.rotateInterval) return true;
    if (o.rotateSize > 0 && f.size > o.rotateSize) return true;
    return false;
  }

  /** Closes the current file (if any) and opens the next: the same name gets the next revision. */
  async #rotate(now: Date): Promise<void> {
    await this.#closeFile();
    const o = this.#opts;
    const filename = this.#currentFilename(now);
    this.#rev = filename === this.#filename ? this.#rev + 1 : 0;
    this.#filename = filename;
    this.#openTime = now.getTime();
    // gzip files are never appended to (a member boundary mid-file is fine, but an old file may be
    // incomplete); with interval rotation a reopened name would outlive its interval
    const exclusive = o.gzip || o.rotateInterval > 0;
    for (; this.#rev <= MAX_REVISION; this.#rev++) {
      const name = filename.replaceAll('<REV>', revision(this.#rev));
      if (o.workDir !== o.outputDir && (await exists(join(o.outputDir, name)))) {
        this.#log.warn(`${this.#tag} output file already exists: ${join(o.outputDir, name)}`);
        continue;
      }
      const path = join(o.workDir, name);
      const file = await OutputFile.open(path, { exclusive, gzipLevel: o.gzip ? o.gzipLevel : 0 });
      if (file === null) {
        this.#log.warn(`${this.#tag} working file already exists: ${path}`);
        continue;
      }
      if (o.rotateSize > 0 && file.size > o.rotateSize) {
        await file.close();
        continue;
      }
      this.#log.info(`${this.#tag} opening ${path}`);
      this.#file = file;
      return;
    }
    throw new Error(`${this.#tag} no free revision for ${join(o.workDir, filename)}`);
  }

  /** fsync, close, and move from the work dir to the output dir under a name nobody has taken. */
  async #closeFile(): Promise<void> {
    const f = this.#file;
    if (f === null) return;
    this.#file = null;
    const o = this.#opts;
    if (o.skipEmptyFiles && f.empty) {
      await f.discard();
      return;
    }
    await f.close();
    if (o.workDir === o.outputDir) return;
    let dst = join(o.outputDir, relative(o.workDir, f.path));
    this.#log.info(`${this.#tag} moving finished file ${f.path} to ${dst}`);
    if (await exclusiveRename(f.path, dst)) return;
    for (let rev = this.#rev + 1; rev <= MAX_REVISION; rev++) {
      this.#log.warn(`${this.#tag} destination file already exists: ${dst}`);
      dst = join(o.outputDir, this.#filename.replaceAll('<REV>', revision(rev)));
      if (await exclusiveRename(f.path, dst)) {
        this.#log.info(`${this.#tag} renamed finished file ${f.path} to ${dst} to avoid overwrite`);
        return;
      }
    }
    throw new Error(`${this.#tag} no free revision to move ${f.path} to ${o.outputDir}`);
  }
}

// `nsq pub` (to_nsq): records from arguments or stdin, published to every nsqd given (TCP with
// automatic MPUB batching, or HTTP), with every acknowledgement accounted for in the exit code.

import type { Readable } from 'node:stream';
import { NsqError, type TransportOptions } from '../client/connection.js';
import { fetchWithin, useTlsForHttps } from '../client/http.js';
import { parseAddress, Producer } from '../client/producer.js';
import { encodeMpubBody } from '../protocol/mpub.js';
import { UserError } from '../util/errors.js';
import { badMessage, E_AUTH_REQUIRED, E_CLOSED, E_HTTP, E_NO_NODES } from '../protocol/errors.js';

export const EXIT_OK = 0;
export const EXIT_CONNECTION = 1;
export const EXIT_USAGE = 2;
export const EXIT_REJECTED = 3;
export const EXIT_SIGINT = 130;
export const EXIT_SIGTERM = 143;

const DEFAULTS = {
  /** most messages in one MPUB (TCP) or one /mpub request (HTTP) */
  maxBatch: 1000,
  /** most body bytes in one batch: well under nsqd's default 5 MiB --max-body-size */
  maxBatchBytes: 1024 * 1024,
  /**
   * Stop reading stdin while this many publishes are unacknowledged, and go on once they are down
   * to lowWater. Enough to keep a node 10 ms away busy at 500k msg/s; 4x more measured 2x the
   * memory (200 MB for 1M lines) and no more speed.
   */
  highWater: 5_000,
  highWaterBytes: 16 * 1024 * 1024,
  lowWater: 2_500,
  /** a publish lost with its connection is re-sent this many times */
  maxTries: 5,
  /** rejection lines printed before the rest are only counted */
  maxReported: 50,
  /** --http: /ping and /config at the start; one /pub or /mpub (an unanswered one is not acknowledged) */
  httpConnectTimeoutMs: 5_000,
  httpPublishTimeoutMs: 30_000,
  ttyRefreshMs: 200,
  linesRefreshMs: 1000,
};

export interface PubConfig {
  /** how the program was invoked ('nsq' or 'to_nsq'): the prefix of every line it prints */
  name: string;
  topic: string;
  /** from the command line; null means read stdin */
  messages: Buffer[] | null;
  delimiter: Buffer;
  allowEmpty: boolean;
  /** records per second; 0 is unlimited */
  rate: number;
  /** DPUB delay in ms; 0 publishes normally */
  deferMs: number;
  http: boolean;
  nsqdTcpAddresses: string[];
  nsqdHttpAddresses: string[];
  /** lookupd HTTP addresses: each record goes to one of the nodes found through them */
  lookupdHttpAddresses: string[];
  userAgent: string;
  /** TLS and compression of the TCP connections */
  transport: TransportOptions;
  /** AUTH secret for nodes that require it ('' : none) */
  authSecret: string;
  progress: 'auto' | 'always' | 'never';
}

// ---- splitting --------------------------------------------------------------------------------

/**
 * Cuts a byte stream into records at a delimiter of any length. Records are views of the chunks
 * (no copy) unless one spans chunks; a delimiter may itself be split across chunks.
 */
export class RecordSplitter {
  readonly #delim: Buffer;
  #parts: Buffer[] = [];
  #partsLength = 0;

  constructor(delimiter: Buffer) {
    if (delimiter.length === 0) throw new RangeError('empty delimiter');
    this.#delim = delimiter;
  }

  /** Appends the complete records in `chunk` to `out`. */
  push(chunk: Buffer, out: Buffer[]): void {
    const d = this.#delim;
    let from = 0;
    if (this.#partsLength > 0 && d.length > 1) {
      // a delimiter that began in the held bytes and ends in this chunk
      const k = Math.min(d.length - 1, this.#partsLength);
      const probe = Buffer.concat([this.#tail(k), chunk.subarray(0, d.length - 1)]);
      const p = probe.indexOf(d);
      if (p !== -1 && p < k) {
        out.push(this.#take().subarray(0, this.#partsLength - (k - p)));
        this.#reset();
        from = d.length - (k - p);
      }
    }
    for (;;) {
      const i = chunk.indexOf(d, from);
      if (i === -1) break;
      if (this.#partsLength > 0) {
        this.#parts.push(chunk.subarray(from, i));
        out.push(Buffer.concat(this.#parts));
        this.#reset();
      } else {
        out.push(chunk.subarray(from, i));
      }
      from = i + d.length;
    }
    if (from < chunk.length) {
      this.#parts.push(from === 0 ? chunk : chunk.subarray(from));
      this.#partsLength += chunk.length - from;
    }
  }

  /** The last record, which has no delimiter after it (null if there is none). */
  end(): Buffer | null {
    if (this.#partsLength === 0) return null;
    const last = this.#take();
    this.#reset();
    return last;
  }

  #take(): Buffer {
    if (this.#parts.length > 1) this.#parts = [Buffer.concat(this.#parts, this.#partsLength)];
    return this.#parts[0]!;
  }

  /** The last k held bytes, without joining every part (a long record may span many chunks). */
  #tail(k: number): Buffer {
    const parts: Buffer[] = [];
    let need = k;
    for (let i = this.#parts.length - 1; i >= 0 && need > 0; i--) {
      const p = this.#parts[i]!;
      parts.unshift(p.length <= need ? p : p.subarray(p.length - need));
      need -= p.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  #reset(): void {
    this.#parts = [];
    this.#partsLength = 0;
  }
}

// ---- destinations -----------------------------------------------------------------------------

/** How a failed publish is handled: the server's size limit, its refusal of empty bodies, a lost connection, or the end. */
type Failure = { kind: 'too-big'; limit: number | null } | { kind: 'empty' } | { kind: 'retry' } | { kind: 'fatal' };

interface Destination {
  readonly address: string;
  /** the server's max message size: known once the server has told us (Infinity until then) */
  maxMsgSize: number;
  /** the server refused an empty message once: the next ones are not sent */
  rejectsEmpty: boolean;
  /** the error that ended publishing here */
  dead: Error | null;
  /** false while the connection holds all it should (a slow or stopped node): read no more input */
  readonly writable: boolean;
  whenWritable(): Promise<void>;
  connect(): Promise<void>;
  send(body: Buffer): Promise<void>;
  classify(err: unknown): Failure;
  close(): Promise<void>;
}

const RETRY_CODES = new Set([E_CLOSED, 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

class TcpDestination implements Destination {
  readonly address: string;
  maxMsgSize = Infinity;
  rejectsEmpty = false;
  dead: Error | null = null;
  readonly #producer: Producer;
  readonly #topic: string;
  readonly #deferMs: number;

  constructor(address: string, cfg: PubConfig) {
    this.#producer = new Producer(address, { ...cfg.transport, userAgent: cfg.userAgent, authSecret: cfg.authSecret, maxBatch: DEFAULTS.maxBatch, maxBatchBytes: DEFAULTS.maxBatchBytes });
    this.address = this.#producer.address;
    this.#topic = cfg.topic;
    this.#deferMs = cfg.deferMs;
  }

  connect(): Promise<void> {
    return this.#producer.connect();
  }

  get writable(): boolean {
    return this.#producer.writable;
  }

  whenWritable(): Promise<void> {
    return this.#producer.whenWritable();
  }

  send(body: Buffer): Promise<void> {
    // messages of one event-loop turn go out as one MPUB; DPUB has no batch form
    return this.#deferMs > 0 ? this.#producer.deferredPublish(this.#topic, body, this.#deferMs) : this.#producer.publish(this.#topic, body);
  }

  classify(err: unknown): Failure {
    if (!(err instanceof NsqError)) return { kind: 'fatal' };
    const bad = badMessage(err);
    if (bad !== null) return bad.kind === 'too-big' ? { kind: 'too-big', limit: bad.limit } : { kind: 'empty' };
    // commands queued behind a fatal error were never executed: the producer reconnects for them
    if (RETRY_CODES.has(err.code)) return { kind: 'retry' };
    return { kind: 'fatal' };
  }

  close(): Promise<void> {
    return this.#producer.close();
  }
}

class HttpRejection extends Error {
  readonly status: number;
  readonly code: string;
  /** how many messages the request carried */
  readonly count: number;
  /** whether one of them was empty */
  readonly hadEmpty: boolean;
  constructor(status: number, code: string, address: string, bodies: Buffer[]) {
    super(`${address} answered ${status} ${code}`);
    this.status = status;
    this.code = code;
    this.count = bodies.length;
    this.hadEmpty = bodies.some((b) => b.length === 0);
  }
}

interface Queued {
  body: Buffer;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** nsqd's HTTP API: batches as binary /mpub, DPUB as /pub?defer=, one request in flight (in order). */
class HttpDestination implements Destination {
  readonly address: string;
  maxMsgSize = Infinity;
  rejectsEmpty = false;
  dead: Error | null = null;
  /** requests take one body at a time from the queue, which the unacknowledged limit bounds */
  readonly writable = true;
  readonly #base: string;
  readonly #topic: string;
  readonly #deferMs: number;
  readonly #userAgent: string;
  /** sent as the bearer, for nodes started with --auth-http-api */
  readonly #authSecret: string;
  #queue: Queued[] = [];
  #busy = false;
  #scheduled = false;
  /** the server's limit is unknown and a batch was refused as too big: find the culprit one by one */
  #single = false;

  constructor(address: string, cfg: PubConfig) {
    const scheme = address.startsWith('https://') ? 'https' : 'http';
    const { host, port } = parseAddress(address.replace(/^https?:\/\//, '').replace(/\/$/, ''), 4151);
    this.address = `${host}:${port}`;
    this.#base = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
    this.#topic = cfg.topic;
    this.#deferMs = cfg.deferMs;
    this.#userAgent = cfg.userAgent;
    this.#authSecret = cfg.authSecret;
  }

  whenWritable(): Promise<void> {
    return Promise.resolve();
  }

  async connect(): Promise<void> {
    const ping = await this.#fetch('/ping', { method: 'GET' }, DEFAULTS.httpConnectTimeoutMs);
    if (ping.status !== 200) throw new NsqError(E_HTTP, `${this.address} is not an nsqd HTTP address: /ping answered ${ping.status}`);
    // nsqd reports its options at /config/<name>; with the limit known, big records are not sent
    try {
      const res = await this.#fetch('/config/max_msg_size', { method: 'GET' }, DEFAULTS.httpConnectTimeoutMs);
      const max = res.status === 200 ? Number(res.text) : NaN;
      if (Number.isInteger(max) && max > 0) this.maxMsgSize = max;
    } catch {
      // an older server: the limit is learned from refusals instead
    }
  }

  send(body: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ body, resolve, reject });
      if (!this.#scheduled && !this.#busy) {
        this.#scheduled = true;
        setImmediate(this.#pump);
      }
    });
  }

  #pump = (): void => {
    this.#scheduled = false;
    if (this.#busy || this.#queue.length === 0) return;
    const one = this.#deferMs > 0 || this.#single;
    let n = 0;
    let bytes = 0;
    while (n < this.#queue.length && n < (one ? 1 : DEFAULTS.maxBatch)) {
      const len = this.#queue[n]!.body.length;
      if (n > 0 && bytes + len > DEFAULTS.maxBatchBytes) break;
      bytes += len;
      n++;
    }
    const batch = this.#queue.splice(0, n);
    this.#busy = true;
    this.#post(batch.map((q) => q.body)).then(
      () => {
        for (const q of batch) q.resolve();
      },
      (err: Error) => {
        for (const q of batch) q.reject(err);
      },
    ).finally(() => {
      this.#busy = false;
      this.#pump();
    });
  };

  async #post(bodies: Buffer[]): Promise<void> {
    const topic = encodeURIComponent(this.#topic);
    let path: string;
    let body: Buffer;
    if (bodies.length === 1) {
      path = this.#deferMs > 0 ? `/pub?topic=${topic}&defer=${this.#deferMs}` : `/pub?topic=${topic}`;
      body = bodies[0]!;
    } else {
      // binary /mpub is the MPUB body: [count]([size][bytes])*, so bodies may hold newlines
      path = `/mpub?topic=${topic}&binary=true`;
      body = encodeMpubBody(bodies);
    }
    const res = await this.#fetch(path, { method: 'POST', body }, DEFAULTS.httpPublishTimeoutMs);
    const text = res.text;
    if (res.status === 200) return;
    if (res.status === 401 && this.#authSecret === '') throw new NsqError(E_AUTH_REQUIRED, `nsqd ${this.address} requires authorization (HTTP 401) and no auth secret was given`);
    let code = text.trim();
    try {
      code = String((JSON.parse(text) as { message?: unknown }).message ?? code);
    } catch {
      // a plain-text answer
    }
    throw new HttpRejection(res.status, code, this.address, bodies);
  }

  #fetch(path: string, init: RequestInit, timeoutMs: number): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = { 'User-Agent': this.#userAgent };
    if (this.#authSecret !== '') headers['Authorization'] = `Bearer ${this.#authSecret}`;
    return fetchWithin(this.#base + path, { ...init, headers }, timeoutMs, this.address);
  }

  classify(err: unknown): Failure {
    if (err instanceof HttpRejection) {
      if (err.code === 'MSG_EMPTY') return { kind: 'empty' };
      if (err.code === 'MSG_TOO_BIG' || err.code === 'BAD_MESSAGE') {
        // a binary /mpub says BAD_MESSAGE for an empty or a too-big message alike
        if (err.hadEmpty) return { kind: 'empty' };
        if (this.maxMsgSize !== Infinity) return { kind: 'too-big', limit: this.maxMsgSize };
        if (err.count > 1) {
          this.#single = true;
          return { kind: 'retry' };
        }
        return { kind: 'too-big', limit: null };
      }
      return { kind: 'fatal' };
    }
    if (err instanceof NsqError && RETRY_CODES.has(err.code)) return { kind: 'retry' };
    return { kind: 'fatal' };
  }

  async close(): Promise<void> {
    // nothing is held open beyond fetch's keep-alive pool, which does not keep the process alive
  }
}

// ---- progress ---------------------------------------------------------------------------------

const SI = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number): string {
  let i = 0;
  let v = n;
  while (v >= 1024 && i < SI.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${SI[i]}`;
}

const num = (n: number): string => Math.round(n).toLocaleString('en-US');

/**
 * The live line on a terminal (redrawn in place), periodic lines elsewhere with --progress, only
 * the summary when someone is typing the records on that terminal, or nothing.
 */
class Progress {
  readonly #out: NodeJS.WriteStream;
  readonly #mode: 'tty' | 'lines' | 'summary' | 'off';
  #timer: NodeJS.Timeout | null = null;
  #shown = false;

  constructor(out: NodeJS.WriteStream, setting: PubConfig['progress'], typing: boolean) {
    this.#out = out;
    const tty = out.isTTY === true;
    if (setting === 'never') this.#mode = 'off';
    else if (tty) this.#mode = typing ? 'summary' : 'tty';
    else this.#mode = setting === 'always' ? 'lines' : 'off';
  }

  /** whether the summary is printed */
  get enabled(): boolean {
    return this.#mode !== 'off';
  }

  start(render: () => string): void {
    if (this.#mode === 'off' || this.#mode === 'summary') return;
    const tty = this.#mode === 'tty';
    this.#timer = setInterval(
      () => {
        if (tty) {
          this.#out.write(`\r\x1b[2K${render()}`);
          this.#shown = true;
        } else {
          this.#out.write(`${render()}\n`);
        }
      },
      tty ? DEFAULTS.ttyRefreshMs : DEFAULTS.linesRefreshMs,
    );
    this.#timer.unref();
  }

  /** A line of its own (an error, the summary), above the live line. */
  print(line: string): void {
    this.#clear();
    this.#out.write(`${line}\n`);
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#clear();
  }

  #clear(): void {
    if (!this.#shown) return;
    this.#out.write('\r\x1b[2K');
    this.#shown = false;
  }
}

// ---- the publisher ----------------------------------------------------------------------------

/**
 * Sends each record to each destination (or, spreading, to one of them in turn, and to another
 * when that one fails) and keeps count until every publish is settled.
 */
class Publisher {
  /** empty records left out (without --allow-empty) */
  skipped = 0;
  acked = 0;
  ackedBytes = 0;
  /** (record, destination) pairs the server will never take: too big, or empty */
  rejected = 0;
  /** publishes that failed for good (the connection was lost) */
  failed = 0;
  fatal: Error | null = null;
  /** called once, when publishing cannot go on */
  onFatal: (err: Error) => void = () => {};

  readonly #dests: Destination[];
  /** each record to one live destination, round robin (through lookupd) */
  readonly #spread: boolean;
  #next = 0;
  readonly #cfg: PubConfig;
  readonly #progress: Progress;
  #pending = 0;
  #pendingBytes = 0;
  #reported = 0;
  #lowWaiters: (() => void)[] = [];
  #idleWaiters: (() => void)[] = [];

  constructor(dests: Destination[], cfg: PubConfig, progress: Progress, spread: boolean) {
    this.#dests = dests;
    this.#spread = spread;
    this.#cfg = cfg;
    this.#progress = progress;
  }

  /**
   * True while so much is unacknowledged, or a node's connection holds so much unsent (it is slow
   * or stopped: WRITE_HIGH_WATER), that reading should wait for roomFor().
   */
  get full(): boolean {
    return this.#pending >= DEFAULTS.highWater || this.#pendingBytes >= DEFAULTS.highWaterBytes || this.#blocked() !== undefined;
  }

  #blocked(): Destination | undefined {
    return this.#dests.find((d) => d.dead === null && !d.writable);
  }

  get pending(): number {
    return this.#pending;
  }

  async roomFor(): Promise<void> {
    while (this.full) {
      const blocked = this.#blocked();
      if (blocked !== undefined) await blocked.whenWritable();
      else await new Promise<void>((resolve) => this.#lowWaiters.push(resolve));
    }
  }

  /** Resolves once every publish so far is settled. */
  idle(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  submit(n: number, body: Buffer): void {
    if (!this.#spread) {
      for (const d of this.#dests) this.#send(d, n, body, 1);
      return;
    }
    const d = this.#pick();
    if (d === null) this.failed++;
    else this.#send(d, n, body, 1);
  }

  /** The next live destination in turn; null when none is left. */
  #pick(): Destination | null {
    for (let i = 0; i < this.#dests.length; i++) {
      const d = this.#dests[this.#next++ % this.#dests.length]!;
      if (d.dead === null) return d;
    }
    return null;
  }

  #send(d: Destination, n: number, body: Buffer, attempt: number): void {
    if (d.dead !== null) {
      const other = this.#spread ? this.#pick() : null;
      if (other === null) {
        this.failed++;
        return;
      }
      d = other;
    }
    if (body.length > d.maxMsgSize) return this.#reject(d, n, body, d.maxMsgSize);
    if (body.length === 0 && d.rejectsEmpty) return this.#reject(d, n, body, null);
    this.#pending++;
    this.#pendingBytes += body.length;
    d.send(body).then(
      () => {
        this.acked++;
        this.ackedBytes += body.length;
        this.#settle(body);
      },
      (err: unknown) => {
        // handled before the settle, so a re-send keeps the count from touching zero
        this.#onError(d, n, body, attempt, err);
        this.#settle(body);
      },
    );
  }

  #onError(d: Destination, n: number, body: Buffer, attempt: number, err: unknown): void {
    const f = d.classify(err);
    switch (f.kind) {
      case 'too-big':
        if (f.limit === null) return this.#reject(d, n, body, null);
        d.maxMsgSize = f.limit;
        // an MPUB is all or nothing: the rest of a refused batch goes again
        if (body.length > f.limit) return this.#reject(d, n, body, f.limit);
        break;
      case 'empty':
        d.rejectsEmpty = true;
        if (body.length === 0) return this.#reject(d, n, body, null);
        break;
      case 'retry':
        if (this.#spread) return this.#failOver(d, n, body, attempt, err);
        break;
      case 'fatal':
        if (this.#spread) return this.#failOver(d, n, body, attempt, err);
        return this.#die(d, err);
    }
    if (attempt >= DEFAULTS.maxTries) return this.#die(d, err);
    this.#send(d, n, body, attempt + 1);
  }

  /**
   * Spreading: a node that failed a publish gets no more records, and this one goes to another
   * node. A publish whose OK was lost may have been taken: that costs a duplicate, never a loss.
   */
  #failOver(d: Destination, n: number, body: Buffer, attempt: number, err: unknown): void {
    if (d.dead === null) {
      d.dead = err instanceof Error ? err : new Error(String(err));
      const left = this.#dests.filter((x) => x.dead === null).length;
      const what = d.dead.message.includes(d.address) ? d.dead.message : `${d.address}: ${d.dead.message}`;
      if (left > 0) this.#progress.print(`${this.#cfg.name}: ${what}; publishing to the other ${left} nsqd`);
    }
    const other = this.#pick();
    if (other === null) {
      const e = new NsqError(E_NO_NODES, `no nsqd left to publish to (last error: ${d.dead.message})`);
      this.failed++;
      if (this.fatal === null) {
        this.fatal = e;
        this.onFatal(e);
      }
      return;
    }
    this.#send(other, n, body, attempt + 1);
  }

  #reject(d: Destination, n: number, body: Buffer, limit: number | null): void {
    this.rejected++;
    if (this.#reported++ >= DEFAULTS.maxReported) {
      if (this.#reported === DEFAULTS.maxReported + 1) this.#progress.print(`${this.#cfg.name}: more records rejected; only counting from here`);
      return;
    }
    const where = this.#dests.length > 1 ? ` (${d.address})` : '';
    const why =
      body.length === 0
        ? `record ${n} is empty and the server does not accept empty messages${where}`
        : `record ${n} (${body.length} bytes) exceeds the server's max message size${limit === null ? '' : ` ${limit}`}${where}`;
    this.#progress.print(`${this.#cfg.name}: ${why}`);
  }

  #die(d: Destination, err: unknown): void {
    this.failed++;
    if (d.dead !== null) return;
    const e = err instanceof Error ? err : new Error(String(err));
    d.dead = e;
    if (this.fatal === null) {
      this.fatal = e;
      this.onFatal(e);
    }
  }

  #settle(body: Buffer): void {
    this.#pending--;
    this.#pendingBytes -= body.length;
    if (this.#lowWaiters.length > 0 && this.#pending <= DEFAULTS.lowWater && this.#pendingBytes < DEFAULTS.highWaterBytes / 2) {
      for (const f of this.#lowWaiters.splice(0)) f();
    }
    if (this.#pending === 0) for (const f of this.#idleWaiters.splice(0)) f();
  }
}

// ---- the run ----------------------------------------------------------------------------------

/** Reads records from `input` until it ends or `stopped` says so; calls `submit` with 1-based numbers. */
async function readRecords(
  input: Readable,
  cfg: PubConfig,
  pub: Publisher,
  gate: () => Promise<boolean>,
  stopped: () => boolean,
): Promise<void> {
  const splitter = new RecordSplitter(cfg.delimiter);
  let n = 0;
  const batch: Buffer[] = [];
  const take = async (records: Buffer[]): Promise<boolean> => {
    for (const r of records) {
      n++;
      if (r.length === 0 && !cfg.allowEmpty) {
        pub.skipped++;
        continue;
      }
      if (!(await gate())) return false;
      pub.submit(n, r);
    }
    return true;
  };
  try {
    for await (const chunk of input) {
      if (stopped()) break;
      splitter.push(chunk as Buffer, batch);
      const ok = await take(batch);
      batch.length = 0;
      if (!ok) break;
    }
  } catch (err) {
    if (!stopped()) throw err;
  }
  if (stopped()) return;
  const last = splitter.end();
  if (last !== null) await take([last]);
}

export async function runPub(cfg: PubConfig): Promise<void> {
  await useTlsForHttps(cfg.transport);
  const spread = cfg.lookupdHttpAddresses.length > 0;
  const addresses = cfg.http ? cfg.nsqdHttpAddresses : cfg.nsqdTcpAddresses;
  if (spread) addresses.push(...(await publishNodes(cfg)));
  const dests: Destination[] = [...new Set(addresses)].map((a) => (cfg.http ? new HttpDestination(a, cfg) : new TcpDestination(a, cfg)));

  // every nsqd must be there before the first record is read; through lookupd, at least one
  const connected = await Promise.allSettled(dests.map((d) => d.connect()));
  const refused = connected.flatMap((r, i) => (r.status === 'rejected' ? [{ d: dests[i]!, err: r.reason as NsqError }] : []));
  if (refused.length > 0 && (!spread || refused.length === dests.length)) {
    await Promise.allSettled(dests.map((d) => d.close()));
    const e = refused[0]!.err;
    throw new UserError(e.message, e.code ?? 'E_CONNECT', EXIT_CONNECTION);
  }
  for (const { d, err } of refused) {
    d.dead = err;
    process.stderr.write(`${cfg.name}: ${err.message}; publishing to the other nsqd\n`);
  }

  // a live line would scribble over the echo of records typed on the same terminal
  const progress = new Progress(process.stderr, cfg.progress, cfg.messages === null && process.stdin.isTTY === true);
  const pub = new Publisher(dests, cfg, progress, spread);
  const started = performance.now();

  let interrupted: NodeJS.Signals | null = null;
  let wake: (() => void) | null = null;
  const stopped = (): boolean => interrupted !== null || pub.fatal !== null;
  const stopReading = (): void => {
    if (cfg.messages === null) process.stdin.destroy();
    wake?.();
  };
  pub.onFatal = (err) => {
    progress.print(`${cfg.name}: ${err.message}`);
    stopReading();
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted !== null) {
      progress.stop();
      process.stderr.write(`${cfg.name}: ${sig} again: exiting with ${pub.pending} message(s) unacknowledged\n`);
      process.exit(sig === 'SIGTERM' ? EXIT_SIGTERM : EXIT_SIGINT);
    }
    interrupted = sig;
    stopReading();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // the rate limit and the unacknowledged-backlog limit; false means stop
  let released = 0;
  const interval = cfg.rate > 0 ? 1000 / cfg.rate : 0;
  const gate = async (): Promise<boolean> => {
    if (stopped()) return false;
    if (pub.full) await pub.roomFor();
    if (interval > 0) {
      const wait = started + released * interval - performance.now();
      if (wait > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
      }
      released++;
    }
    return !stopped();
  };

  progress.start(() => {
    const secs = (performance.now() - started) / 1000;
    return `${cfg.name}: ${num(pub.acked)} message${pub.acked === 1 ? '' : 's'}  ${formatBytes(pub.ackedBytes)}  ${num(secs > 0 ? pub.acked / secs : 0)} msg/s  ${secs.toFixed(1)}s`;
  });

  let readError: Error | null = null;
  try {
    if (cfg.messages !== null) {
      let n = 0;
      for (const m of cfg.messages) {
        n++;
        if (m.length === 0 && !cfg.allowEmpty) {
          pub.skipped++;
          continue;
        }
        if (!(await gate())) break;
        pub.submit(n, m);
      }
    } else {
      await readRecords(process.stdin, cfg, pub, gate, stopped);
    }
  } catch (err) {
    readError = err instanceof Error ? err : new Error(String(err));
  }

  await pub.idle();
  await Promise.allSettled(dests.map((d) => d.close()));
  progress.stop();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);

  if (readError !== null) progress.print(`${cfg.name}: reading stdin: ${readError.message}`);
  const code =
    pub.fatal !== null || pub.failed > 0 || readError !== null
      ? EXIT_CONNECTION
      : interrupted !== null
        ? interrupted === 'SIGTERM'
          ? EXIT_SIGTERM
          : EXIT_SIGINT
        : pub.rejected > 0
          ? EXIT_REJECTED
          : EXIT_OK;
  // a summary on a terminal or with --progress; after a failure, always (unless --quiet)
  if (progress.enabled || (code !== EXIT_OK && cfg.progress !== 'never')) {
    progress.print(summary(cfg, pub, dests.length, (performance.now() - started) / 1000, interrupted));
  }
  if (interrupted !== null) {
    // stdin may be a terminal still open for reading: leave now
    process.exit(code);
  }
  process.exitCode = code;
}

/** The nodes lookupd gives for publishing (see lookupPublishNodes), as the addresses this run uses. */
async function publishNodes(cfg: PubConfig): Promise<string[]> {
  const { httpAddressOf, lookupPublishNodes, tcpAddressOf } = await import('../client/discovery.js');
  let producers;
  try {
    producers = await lookupPublishNodes(cfg.lookupdHttpAddresses, cfg.topic);
  } catch (err) {
    const e = err as NsqError;
    throw new UserError(e.message, e.code ?? 'E_LOOKUPD', EXIT_CONNECTION);
  }
  const own = cfg.http ? cfg.nsqdHttpAddresses : cfg.nsqdTcpAddresses;
  if (producers.length === 0 && own.length === 0) {
    throw new UserError(`no nsqd to publish to: lookupd ${cfg.lookupdHttpAddresses.join(', ')} knows none`, 'E_NO_NODES', EXIT_CONNECTION);
  }
  return producers.map(cfg.http ? httpAddressOf : tcpAddressOf);
}

function summary(cfg: PubConfig, pub: Publisher, nodes: number, secs: number, interrupted: NodeJS.Signals | null): string {
  const rate = secs > 0 ? pub.acked / secs : 0;
  let s = `${cfg.name}: published ${num(pub.acked)} message${pub.acked === 1 ? '' : 's'} (${formatBytes(pub.ackedBytes)}) to ${cfg.topic}`;
  if (nodes > 1) s += cfg.lookupdHttpAddresses.length > 0 ? ` across ${nodes} nsqd` : ` on ${nodes} nsqd`;
  s += ` in ${secs.toFixed(2)}s`;
  // a rate over a few milliseconds means nothing
  if (secs >= 0.5) s += ` (${num(rate)} msg/s)`;
  const notes: string[] = [];
  if (pub.rejected > 0) notes.push(`${num(pub.rejected)} rejected`);
  if (pub.failed > 0) notes.push(`${num(pub.failed)} not acknowledged`);
  if (pub.skipped > 0) notes.push(`${num(pub.skipped)} empty skipped`);
  if (interrupted !== null) notes.push(`interrupted by ${interrupted}`);
  return notes.length > 0 ? `${s}; ${notes.join(', ')}` : s;
}

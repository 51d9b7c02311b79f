// One client connection to any nsqd (Go or ours): magic, IDENTIFY with feature negotiation,
// heartbeat replies, commands answered in order, messages handed to a callback.
// Commands written within one received chunk or event-loop turn go out in one socket write, and
// only while the socket takes more (its backpressure is honoured: see WRITE_HIGH_WATER).
// For high rates: `events.rawMessage` + `finishRaw` (no object or copy per message) and
// `pipeline()` (a bounded window of publish commands, acknowledged without a promise each).

import { connect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type SecureVersion, type TLSSocket } from 'node:tls';
import { finished, type Duplex } from 'node:stream';
import { constants as zlibConstants, createDeflateRaw, createInflateRaw } from 'node:zlib';
import { SnappyFrameDecoder, SnappyFrameEncoder } from '../protocol/snappy-frame.js';
import { FRAME_TYPE_ERROR, FRAME_TYPE_MESSAGE, MAGIC_V2, MSG_ID_LENGTH, RESPONSE_CLOSE_WAIT, RESPONSE_HEARTBEAT, RESPONSE_OK } from '../protocol/constants.js';
import { decodeMessage, encodeCommand, encodeCommandWithBody, encodeDpub, encodeIdentify, encodeMpub, encodePub } from '../protocol/encoders.js';
import { FrameDecoder, type FrameSink } from '../protocol/frame-decoder.js';
import { E_AUTH_REQUIRED, E_CLOSED, E_CONNECT, E_DEFLATE, E_TLS, E_UNEXPECTED, E_WRONG_PORT, NsqError, ProtocolError } from '../protocol/errors.js';

/** Errors are NsqErrors with a `code` (ProtocolError: an E_* frame from the server, with `fatal`). */
export { NsqError, ProtocolError };

export interface ConnectionConfig {
  host: string;
  port: number;
  clientId?: string;
  hostname?: string;
  userAgent?: string;
  /** ms; -1 disables heartbeats */
  heartbeatInterval?: number;
  /** ms the server waits for FIN before redelivering (0: the server's default) */
  msgTimeout?: number;
  sampleRate?: number;
  outputBufferSize?: number;
  outputBufferTimeout?: number;
  connectTimeout?: number;
  /** ask for TLS in IDENTIFY (the server must have a certificate); unset: plain TCP */
  tls?: ClientTls;
  /** ask for snappy compression (used when the server agrees) */
  snappy?: boolean;
  /** ask for deflate compression (used when the server agrees) */
  deflate?: boolean;
  /** 1-9; the server may lower it to its --max-deflate-level */
  deflateLevel?: number;
  /** sent with AUTH when the server requires it (IDENTIFY answers auth_required); ignored otherwise, as go-nsq does */
  authSecret?: string;
}

/** What the client commands pass on to every connection they open: TLS and compression. */
export type TransportOptions = Pick<ConnectionConfig, 'tls' | 'snappy' | 'deflate' | 'deflateLevel'>;

export interface ClientTls {
  /** PEM certificate authority the server's certificate must be signed by (default: Node's roots) */
  ca?: Buffer;
  /** PEM client certificate and key, for servers with --tls-client-auth-policy */
  cert?: Buffer;
  key?: Buffer;
  /** accept any server certificate (self-signed, wrong name) */
  insecureSkipVerify?: boolean;
  minVersion?: SecureVersion;
}

/** The server's answer to AUTH. */
export interface AuthResponse {
  identity: string;
  identity_url: string;
  permission_count: number;
}

export interface IdentifyResponse {
  max_rdy_count: number;
  version: string;
  max_msg_timeout: number;
  msg_timeout: number;
  tls_v1: boolean;
  deflate: boolean;
  deflate_level: number;
  max_deflate_level: number;
  snappy: boolean;
  sample_rate: number;
  auth_required: boolean;
  output_buffer_size: number;
  output_buffer_timeout: number;
}

const NOP = encodeCommand('NOP');
const FIN_PREFIX = Buffer.from('FIN ', 'latin1');
/** "FIN " + 16-byte id + "\n" */
const FIN_LENGTH = 4 + MSG_ID_LENGTH + 1;
/** how an HTTP server's answer starts; as a frame size it would be 1.2 GB, which no nsqd sends */
const HTTP_PREFIX = Buffer.from('HTTP/', 'latin1');
const CHAR_O = 0x4f;
const CHAR_K = 0x4b;
/** small writes are copied into a slab of this size; the socket gets views of it, never copies */
const SLAB_SIZE = 32 * 1024;
/** writes this big are handed to the socket as they are */
const COPY_LIMIT = 4 * 1024;

/**
 * `writable` is false from this many bytes buffered and not yet taken by the kernel (queued here,
 * in the socket, in the compressor): producers wait for `whenWritable()` before publishing more,
 * and a pipeline stops pulling. Frames nobody waits for (FIN, REQ, TOUCH, RDY, NOP) are always
 * queued: there is one per delivered message and the server delivers at most the RDY count
 * without an answer, so they stay within max-in-flight × 37 bytes (a REQ line).
 */
export const WRITE_HIGH_WATER = 1024 * 1024;

/** A delivered message. Answer it once: finish, requeue, or let it time out (touch to extend). */
export class Message {
  readonly id: string;
  readonly attempts: number;
  /** nanoseconds since the epoch, as the server stamped it */
  readonly timestamp: bigint;
  readonly body: Buffer;
  readonly connection: Connection;
  #answered = false;

  constructor(connection: Connection, id: string, attempts: number, timestamp: bigint, body: Buffer) {
    this.connection = connection;
    this.id = id;
    this.attempts = attempts;
    this.timestamp = timestamp;
    this.body = body;
  }

  get answered(): boolean {
    return this.#answered;
  }

  finish(): void {
    if (this.#answered) return;
    this.#answered = true;
    this.connection.finish(this.id);
  }

  requeue(delayMs = 0): void {
    if (this.#answered) return;
    this.#answered = true;
    this.connection.requeue(this.id, delayMs);
  }

  touch(): void {
    if (!this.#answered) this.connection.touch(this.id);
  }
}

export interface ConnectionEvents {
  message?: (msg: Message) => void;
  /**
   * Fast path: when set, message frames come here instead of `message`, in place. `buf[start, end)`
   * is the frame data — timestamp (8 bytes), attempts (2), id (16, at `start + 10`), body — valid
   * only during the call. Answer with `finishRaw(buf, start + 10)` (or `finish(id)`).
   */
  rawMessage?: (buf: Buffer, start: number, end: number) => void;
  /** errors that do not end the connection (E_FIN_FAILED, ...) */
  warning?: (err: ProtocolError) => void;
  /** the connection ended; `err` says why when it was not closed by us */
  close?: (err: Error | null) => void;
}

interface Pending {
  resolve: (text: string) => void;
  reject: (err: Error) => void;
  /** runs as the answer is decoded, before the frames after it (a protocol upgrade diverts them) */
  onAnswer?: (text: string) => void;
}

/** Complete publish commands (PUB/MPUB/DPUB) back to back, written with one socket write. */
export interface PublishBatch {
  data: Buffer;
  /** commands in `data` */
  commands: number;
}

/** What `pipeline()` pulls batches from. */
export interface PublishSource {
  /** most commands written and not yet answered */
  window: number;
  /** The next batch, given room for `room` more commands; null: nothing to send now. */
  next(room: number): PublishBatch | null;
  /**
   * Every command of `batch` was answered OK (`sentAt`, `ackedAt`: performance.now()). From here
   * on the connection no longer holds `batch.data`: it may be reused.
   */
  acked?(batch: PublishBatch, sentAt: number, ackedAt: number): void;
}

export interface Pipeline {
  /** commands written and not yet answered */
  readonly unanswered: number;
  /** Pulls batches now (from a rate timer, say); it also happens after every received chunk. */
  pump(): void;
  /** Stops pulling; resolves once every written command is answered, rejects if the connection fails first. */
  end(): Promise<void>;
}

/** A pipelined batch waiting for its answers, in the same in-order queue as single commands. */
class SentBatch {
  constructor(
    readonly batch: PublishBatch,
    readonly sentAt: number,
    public left: number,
  ) {}
}

class PipelineState implements Pipeline {
  unanswered = 0;
  ended = false;
  readonly src: PublishSource;
  readonly pump: () => void;
  readonly done: Promise<void>;
  resolve!: () => void;
  reject!: (err: Error) => void;

  constructor(src: PublishSource, pump: () => void) {
    this.src = src;
    this.pump = pump;
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.done.catch(() => {});
  }

  end(): Promise<void> {
    this.ended = true;
    if (this.unanswered === 0) this.resolve();
    return this.done;
  }
}

export class Connection implements FrameSink {
  readonly host: string;
  readonly port: number;
  /** the TCP socket, or after a TLS upgrade the TLS socket over it */
  socket: Socket;
  identify: IdentifyResponse | null = null;
  /** who the server's auth server says we are (null: the server does not require AUTH) */
  auth: AuthResponse | null = null;
  /** rawMessage deliveries not yet answered (the fast path counts, it does not track IDs) */
  #rawInFlight = 0;
  /** Message deliveries not yet answered: ID → when delivered (performance.now()) */
  #held = new Map<string, number>();
  events: ConnectionEvents = {};
  /** performance.now() when the chunk being decoded arrived: a receive time for every frame in it */
  receivedAt = 0;

  #decoder: FrameDecoder;
  #pending: (Pending | SentBatch)[] = [];
  #pipeline: PipelineState | null = null;
  /** buffers queued for the next write, in order; small writes go to the slab first */
  #out: Buffer[] = [];
  /** bytes in #out */
  #outBytes = 0;
  /** whenWritable() callers */
  #writableWaiters: (() => void)[] = [];
  #slab: Buffer = Buffer.alloc(0);
  #slabStart = 0;
  #slabEnd = 0;
  #flushScheduled = false;
  #closed = false;
  #closeError: Error | null = null;
  readonly closed: Promise<Error | null>;
  #onClosed!: (err: Error | null) => void;
  /** deflate: the stream between #flush and the socket, whose buffers count as ours */
  #compressor: Duplex | null = null;
  /** compressed connection: what #flush would write goes through here instead */
  #compress: ((data: Buffer) => void) | null = null;
  /** deflate: ends the socket once everything given to the compressor has come out of it */
  #endCompressed: (() => void) | null = null;
  /** bytes received past an upgrade's answer, for the layer that starts next */
  #early: Buffer | null = null;

  private constructor(host: string, port: number, socket: Socket) {
    this.host = host;
    this.port = port;
    this.socket = socket;
    this.#decoder = new FrameDecoder(this);
    this.closed = new Promise((resolve) => (this.#onClosed = resolve));
    socket.on('data', this.#onData);
    socket.on('error', (err) => this.#fail(err));
    socket.on('close', this.#onSocketClose);
    socket.on('drain', this.#onDrain);
  }

  /** Protocol bytes (after TLS and decompression). */
  #onData = (chunk: Buffer): void => {
    if (this.#firstBytes !== null) {
      const c = this.#sniffHttp(chunk);
      if (c === null) return;
      chunk = c;
    }
    this.receivedAt = performance.now();
    this.#decoder.push(chunk);
    if (this.#pipeline !== null) this.#pump();
    // replies to this chunk (FINs, RDY, NOP) go out together, now
    this.#flush();
  };

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** the start of the server's first answer, until it is known not to be HTTP's (null from then on) */
  #firstBytes: Buffer | null = Buffer.alloc(0);

  /**
   * An HTTP port (nsqd's 4151, say) answers the magic and IDENTIFY with `HTTP/1.1 400 Bad
   * Request`: say so, rather than that a 1.2 GB frame is invalid. Returns the bytes to decode
   * (null: none yet, or the connection failed).
   */
  #sniffHttp(chunk: Buffer): Buffer | null {
    const have = this.#firstBytes!.length === 0 ? chunk : Buffer.concat([this.#firstBytes!, chunk]);
    const n = Math.min(have.length, HTTP_PREFIX.length);
    if (!have.subarray(0, n).equals(HTTP_PREFIX.subarray(0, n))) {
      this.#firstBytes = null;
      return have;
    }
    if (have.length < HTTP_PREFIX.length) {
      this.#firstBytes = have;
      return null;
    }
    this.#firstBytes = null;
    // "HTTP/1.1 400 Bad Request\r\n..." → "HTTP/1.1 400"
    const status = have.toString('latin1', 0, Math.min(have.length, 100)).split('\r\n')[0]!.split(' ').slice(0, 2).join(' ');
    const err = new NsqError(E_WRONG_PORT, `${this.address} is an HTTP port (answered ${status}); nsqd's TCP port is usually 4150`);
    if (this.#closeError === null) this.#closeError = err;
    for (const p of this.#pending.splice(0)) {
      if (p instanceof SentBatch) this.#pipeline?.reject(err);
      else p.reject(err);
    }
    this.socket.destroy();
    return null;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Connects, sends the magic and IDENTIFY (with feature negotiation). */
  static async open(cfg: ConnectionConfig): Promise<Connection> {
    const socket = connect({ host: cfg.host, port: cfg.port, noDelay: true });
    const timeoutMs = cfg.connectTimeout ?? 5000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new NsqError(E_CONNECT, `connect to ${cfg.host}:${cfg.port} timed out after ${timeoutMs}ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new NsqError(err.code ?? E_CONNECT, `connect to ${cfg.host}:${cfg.port}: ${err.code === 'ECONNREFUSED' ? 'connection refused' : err.message}`));
      });
    });
    const conn = new Connection(cfg.host, cfg.port, socket);
    socket.write(MAGIC_V2);
    const body: Record<string, unknown> = {
      client_id: cfg.clientId ?? 'nsq',
      hostname: cfg.hostname ?? 'nsq',
      user_agent: cfg.userAgent ?? 'nsq',
      feature_negotiation: true,
    };
    if (cfg.heartbeatInterval !== undefined) body['heartbeat_interval'] = cfg.heartbeatInterval;
    if (cfg.msgTimeout !== undefined) body['msg_timeout'] = cfg.msgTimeout;
    if (cfg.sampleRate !== undefined) body['sample_rate'] = cfg.sampleRate;
    if (cfg.outputBufferSize !== undefined) body['output_buffer_size'] = cfg.outputBufferSize;
    if (cfg.outputBufferTimeout !== undefined) body['output_buffer_timeout'] = cfg.outputBufferTimeout;
    if (cfg.tls !== undefined) body['tls_v1'] = true;
    if (cfg.snappy === true) body['snappy'] = true;
    if (cfg.deflate === true) {
      body['deflate'] = true;
      if (cfg.deflateLevel !== undefined) body['deflate_level'] = cfg.deflateLevel;
    }
    try {
      const text = await conn.#request(encodeIdentify(body), (answer) => {
        const r = answer === RESPONSE_OK ? null : (JSON.parse(answer) as IdentifyResponse);
        conn.identify = r;
        // what follows the answer is TLS or compressed: keep it for that layer
        if (r !== null && (r.tls_v1 || r.snappy || r.deflate)) conn.#decoder.divert((rest) => (conn.#early = rest));
      });
      const r = text === RESPONSE_OK ? null : (JSON.parse(text) as IdentifyResponse);
      if (cfg.tls !== undefined && r?.tls_v1 !== true) {
        throw new NsqError(E_TLS, `${conn.address} does not offer TLS (nsqd needs --tls-cert and --tls-key)`);
      }
      if (r !== null) await conn.#upgrade(r, cfg);
      // AUTH goes over the negotiated transport (TLS, compression), as nsqd expects it
      if (r?.auth_required === true) {
        if (cfg.authSecret === undefined || cfg.authSecret === '') {
          throw new NsqError(E_AUTH_REQUIRED, `nsqd ${cfg.host}:${cfg.port} requires authorization (AUTH) and no auth secret was given`);
        }
        conn.auth = JSON.parse(await conn.#request(encodeCommandWithBody('AUTH', cfg.authSecret))) as AuthResponse;
      }
    } catch (err) {
      conn.close();
      throw err;
    }
    return conn;
  }

  /** TLS, then compression, each confirmed by an OK from the server (sent over the new layer). */
  async #upgrade(r: IdentifyResponse, cfg: ConnectionConfig): Promise<void> {
    const compression = r.snappy ? 'snappy' : r.deflate ? 'deflate' : null;
    if (r.tls_v1) {
      // waiting for the OK before the handshake starts, so it cannot arrive unexpected
      const ok = this.#expectAnswer(compression !== null);
      ok.catch(() => {});
      await this.#startTls(cfg.tls!, cfg.host, this.#takeEarly());
      await ok.catch((err: unknown) => {
        throw this.#tlsRefused(err);
      });
    }
    if (compression === null) return;
    this.#startCompression(compression, r.deflate_level);
    const early = this.#takeEarly();
    await Promise.all([this.#expectAnswer(false), early.length > 0 ? this.#receiveLayer!(early) : undefined]);
  }

  /**
   * The server closed the connection between the handshake and its OK. With TLS 1.3 the handshake
   * ends on the client before the server has judged the client's certificate: this is how nsqd
   * refuses one (or the lack of one) under --tls-client-auth-policy.
   */
  #tlsRefused(err: unknown): unknown {
    if (!(err instanceof NsqError) || err.code !== E_CLOSED) return err;
    const reason = (this.#closeError as { reason?: unknown } | null)?.reason;
    const why = typeof reason === 'string' ? ` (${reason})` : '';
    return new NsqError(E_TLS, `${this.address} closed the connection after the TLS handshake${why}: it refused this client's certificate, or wants one`);
  }

  #takeEarly(): Buffer {
    const b = this.#early ?? Buffer.alloc(0);
    this.#early = null;
    return b;
  }

  /** Waits for the OK that confirms an upgrade; `divertAfter`: another layer follows it. */
  async #expectAnswer(divertAfter: boolean): Promise<void> {
    if (this.#closed) throw this.#closedError();
    const text = await new Promise<string>((resolve, reject) => {
      this.#pending.push({ resolve, reject, onAnswer: divertAfter ? () => this.#decoder.divert((rest) => (this.#early = rest)) : undefined });
    });
    if (text !== RESPONSE_OK) throw new NsqError(E_UNEXPECTED, `expected OK, got ${JSON.stringify(text)}`);
  }

  #startTls(opts: ClientTls, host: string, early: Buffer): Promise<void> {
    if (early.length > 0) return Promise.reject(new NsqError(E_TLS, `${this.address} sent data before the TLS handshake`));
    const raw = this.socket;
    raw.off('data', this.#onData);
    const secure: TLSSocket = tlsConnect({
      socket: raw,
      host,
      // SNI takes host names only
      servername: isIP(host) === 0 ? host : undefined,
      ca: opts.ca,
      cert: opts.cert,
      key: opts.key,
      rejectUnauthorized: opts.insecureSkipVerify !== true,
      minVersion: opts.minVersion,
    });
    this.socket = secure;
    secure.on('data', this.#onData);
    secure.on('close', this.#onSocketClose);
    secure.on('drain', this.#onDrain);
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        const e = new NsqError(E_TLS, `TLS handshake with ${this.address} failed: ${err.message}`);
        this.#fail(e);
        reject(e);
      };
      secure.once('error', onError);
      secure.once('secureConnect', () => {
        secure.off('error', onError);
        secure.on('error', (err) => this.#fail(err));
        resolve();
      });
    });
  }

  /** decompresses what the socket delivers (set once compression starts) */
  #receiveLayer: ((chunk: Buffer) => void) | null = null;
  /** deflate: calls `done` once what the socket delivered has come out of the inflater */
  #drainReceived: ((done: () => void) => void) | null = null;

  /**
   * Inflating runs on the thread pool: when the socket closes, the server's last frames (the
   * E_* error it closed after) may still be in the inflater. They are decoded before the close.
   */
  #onSocketClose = (): void => {
    const drain = this.#drainReceived;
    if (drain === null) this.#finish();
    else drain(() => this.#finish());
  };

  #startCompression(kind: 'snappy' | 'deflate', level: number): void {
    const socket = this.socket;
    socket.off('data', this.#onData);
    if (kind === 'snappy') {
      const encoder = new SnappyFrameEncoder();
      this.#compress = (data) => {
        this.socket.write(encoder.encode(data));
      };
      const decoder = new SnappyFrameDecoder(this.#onData);
      this.#receiveLayer = (chunk) => {
        try {
          decoder.push(chunk);
        } catch (err) {
          this.#fail(err as Error);
        }
      };
    } else {
      const deflate = createDeflateRaw({ level: level > 0 ? level : 6 });
      // the deflater's output waits while the socket is full; its input then fills and says so
      deflate.on('data', (b: Buffer) => {
        if (!this.socket.destroyed && !this.socket.write(b)) deflate.pause();
      });
      deflate.on('drain', this.#onDrain);
      this.#compressor = deflate;
      deflate.on('error', (err) => this.#fail(err));
      this.#compress = (data) => {
        deflate.write(data);
        deflate.flush(zlibConstants.Z_SYNC_FLUSH);
      };
      this.#endCompressed = () => {
        deflate.once('end', () => this.socket.end());
        deflate.end();
      };
      const inflate = createInflateRaw();
      inflate.on('data', this.#onData);
      inflate.on('error', (err) => this.#fail(new NsqError(E_DEFLATE, `deflate stream from ${this.address}: ${err.message}`)));
      this.#receiveLayer = (chunk) => {
        inflate.write(chunk);
      };
      this.#drainReceived = (done) => {
        finished(inflate, () => done());
        inflate.end();
      };
    }
    socket.on('data', this.#receiveLayer);
  }

  // ---- FrameSink ------------------------------------------------------------------------------

  onFrame(frameType: number, buf: Buffer, start: number, end: number): void {
    if (frameType === FRAME_TYPE_MESSAGE) {
      const raw = this.events.rawMessage;
      if (raw !== undefined) {
        this.#rawInFlight++;
        raw(buf, start, end);
        return;
      }
      const m = decodeMessage(buf, start, end);
      // a redelivery of a message that timed out here replaces the old delivery; delete + set keeps
      // the map in delivery order, so pruning only ever looks at its oldest entries
      this.#held.delete(m.id);
      this.#held.set(m.id, performance.now());
      const msg = new Message(this, m.id, m.attempts, m.timestamp, m.body);
      if (this.events.message) this.events.message(msg);
      return;
    }
    if (frameType !== FRAME_TYPE_ERROR && end - start === 2 && buf[start] === CHAR_O && buf[start + 1] === CHAR_K && this.#pending[0] instanceof SentBatch) {
      this.#ackPipelined(this.#pending[0]);
      return;
    }
    const text = buf.toString('utf8', start, end);
    if (frameType === FRAME_TYPE_ERROR) {
      const err = ProtocolError.fromFrame(text);
      if (!err.fatal) {
        this.events.warning?.(err);
        return;
      }
      // any other error closes the connection: it answers the oldest command and is why we closed
      if (this.#closeError === null) this.#closeError = err;
      const p = this.#pending.shift();
      if (p instanceof SentBatch) this.#pipeline?.reject(err);
      else p?.reject(err);
      return;
    }
    if (text === RESPONSE_HEARTBEAT) {
      this.#write(NOP);
      return;
    }
    const p = this.#pending.shift();
    if (p instanceof SentBatch) this.#fail(new NsqError(E_UNEXPECTED, `expected OK for a publish, got ${JSON.stringify(text)}`));
    else if (p) {
      if (p.onAnswer !== undefined) {
        try {
          p.onAnswer(text);
        } catch (err) {
          p.reject(err as Error);
          return;
        }
      }
      p.resolve(text);
    }
  }

  #ackPipelined(sent: SentBatch): void {
    const pipe = this.#pipeline!;
    pipe.unanswered--;
    if (--sent.left > 0) return;
    this.#pending.shift();
    pipe.src.acked?.(sent.batch, sent.sentAt, this.receivedAt);
    if (pipe.ended && pipe.unanswered === 0) pipe.resolve();
  }

  onDecodeError(err: Error): void {
    this.#fail(err);
  }

  // ---- commands -------------------------------------------------------------------------------

  #request(data: Buffer, onAnswer?: (text: string) => void): Promise<string> {
    if (this.#closed) return Promise.reject(this.#closedError());
    return new Promise((resolve, reject) => {
      this.#pending.push(onAnswer === undefined ? { resolve, reject } : { resolve, reject, onAnswer });
      this.#write(data);
    });
  }

  async #expectOk(data: Buffer): Promise<void> {
    const text = await this.#request(data);
    if (text !== RESPONSE_OK) throw new NsqError(E_UNEXPECTED, `expected OK, got ${JSON.stringify(text)}`);
  }

  subscribe(topic: string, channel: string): Promise<void> {
    return this.#expectOk(encodeCommand('SUB', topic, channel));
  }

  publish(topic: string, body: Buffer | string): Promise<void> {
    return this.#expectOk(encodePub(topic, body));
  }

  mpublish(topic: string, bodies: readonly (Buffer | string)[]): Promise<void> {
    return this.#expectOk(encodeMpub(topic, bodies));
  }

  dpublish(topic: string, body: Buffer | string, deferMs: number): Promise<void> {
    return this.#expectOk(encodeDpub(topic, deferMs, body));
  }

  /** Sends an already-encoded publish command (PUB/MPUB/DPUB) and waits for its OK. */
  publishRaw(command: Buffer): Promise<void> {
    return this.#expectOk(command);
  }

  ready(count: number): void {
    this.#write(encodeCommand('RDY', count));
  }

  /**
   * Messages delivered and not yet answered. A delivery older than the negotiated msg_timeout is no
   * longer in flight at the server (it timed out and was requeued), so it does not count.
   */
  get inFlight(): number {
    const timeout = this.identify?.msg_timeout ?? 60_000;
    const cutoff = performance.now() - timeout;
    for (const [id, at] of this.#held) {
      if (at >= cutoff) break;
      this.#held.delete(id);
    }
    return this.#rawInFlight + this.#held.size;
  }

  finish(id: string): void {
    this.#held.delete(id);
    this.#writeLine(`FIN ${id}\n`);
  }

  /** REQ (no delay) every message delivered and not yet answered; returns how many. */
  requeueHeld(): number {
    const ids = [...this.#held.keys()];
    for (const id of ids) this.requeue(id, 0);
    return ids.length;
  }

  /** FIN by the id's 16 bytes at `buf[idStart]` (see `events.rawMessage`), copied straight into the next write. */
  finishRaw(buf: Buffer, idStart: number): void {
    this.#rawInFlight--;
    if (this.#closed) return;
    const at = this.#reserve(FIN_LENGTH);
    const slab = this.#slab;
    FIN_PREFIX.copy(slab, at);
    buf.copy(slab, at + 4, idStart, idStart + MSG_ID_LENGTH);
    slab[at + FIN_LENGTH - 1] = 10;
  }

  requeue(id: string, delayMs = 0): void {
    this.#held.delete(id);
    this.#writeLine(`REQ ${id} ${Math.max(0, Math.round(delayMs))}\n`);
  }

  touch(id: string): void {
    this.#writeLine(`TOUCH ${id}\n`);
  }

  /**
   * Publishes from `src` with at most `src.window` commands unanswered: batches are pulled now,
   * after every received chunk and on `pump()`, and each pull's batches go out in one write.
   * Acknowledgements are counted, not promised. One pipeline per connection.
   */
  pipeline(src: PublishSource): Pipeline {
    const old = this.#pipeline;
    if (old !== null && !(old.ended && old.unanswered === 0)) throw new Error('this connection already has a pipeline');
    const pipe = new PipelineState(src, () => this.#pump());
    this.#pipeline = pipe;
    if (this.#closed) pipe.reject(this.#closedError());
    else this.#pump();
    return pipe;
  }

  #pump(): void {
    const pipe = this.#pipeline;
    if (pipe === null || pipe.ended || this.#closed) return;
    let wrote = false;
    // a slow server: pull again on drain
    while (this.bufferedBytes < WRITE_HIGH_WATER) {
      const room = pipe.src.window - pipe.unanswered;
      if (room <= 0) break;
      const batch = pipe.src.next(room);
      if (batch === null) break;
      this.#pending.push(new SentBatch(batch, performance.now(), batch.commands));
      pipe.unanswered += batch.commands;
      this.#write(batch.data);
      wrote = true;
    }
    if (wrote) this.#flush();
  }

  /** CLS: the server stops sending and answers CLOSE_WAIT; in-flight messages can still be answered. */
  /**
   * Sends `command`, and once it is answered OK hands the socket over to another protocol (a
   * replication link after `REPL`): this connection stops reading and writing it, and `early` holds
   * what arrived after the OK. Not for compressed connections (the new protocol has its own frames).
   */
  async detach(command: Buffer): Promise<{ socket: Socket; early: Buffer }> {
    if (this.#compress !== null) throw new NsqError(E_UNEXPECTED, 'cannot hand over a compressed connection');
    const text = await this.#request(command, () => this.#decoder.divert((rest) => (this.#early = rest)));
    if (text !== RESPONSE_OK) throw new NsqError(E_UNEXPECTED, `expected OK, got ${JSON.stringify(text)}`);
    this.#flush(true);
    const socket = this.socket;
    socket.off('data', this.#onData);
    socket.removeAllListeners('error');
    socket.removeAllListeners('close');
    this.#closed = true;
    this.#decoder.stop();
    return { socket, early: this.#takeEarly() };
  }

  async startClose(): Promise<void> {
    const text = await this.#request(encodeCommand('CLS'));
    if (text !== RESPONSE_CLOSE_WAIT) throw new NsqError(E_UNEXPECTED, `expected CLOSE_WAIT, got ${JSON.stringify(text)}`);
  }

  /** Writes what is queued (whether or not the socket asked for more), then closes the socket. */
  close(): void {
    this.#flush(true);
    // deflate compresses asynchronously: ending the socket now would drop the last FINs
    if (this.#endCompressed !== null && !this.#closed) this.#endCompressed();
    else this.socket.end();
    if (!this.#closed) setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  // ---- the write path: everything queued goes out in one write per chunk or turn ----------------

  #write(data: Buffer): void {
    if (this.#closed) return;
    if (data.length < COPY_LIMIT) {
      const at = this.#reserve(data.length);
      data.copy(this.#slab, at);
      return;
    }
    this.#sealSlab();
    this.#out.push(data);
    this.#outBytes += data.length;
    this.#scheduleFlush();
  }

  #writeLine(line: string): void {
    if (this.#closed) return;
    const at = this.#reserve(line.length);
    this.#slab.write(line, at, 'latin1');
  }

  /** Room for `n` bytes at the end of the slab; returns where they go. */
  #reserve(n: number): number {
    if (this.#slabEnd + n > this.#slab.length) {
      this.#sealSlab();
      // the socket may still hold views of the old slab: start a new one, never overwrite
      this.#slab = Buffer.allocUnsafe(Math.max(SLAB_SIZE, n));
      this.#slabStart = this.#slabEnd = 0;
    }
    const at = this.#slabEnd;
    this.#slabEnd += n;
    this.#scheduleFlush();
    return at;
  }

  /** Queues the slab's unwritten bytes as a view, keeping order with the buffers around them. */
  #sealSlab(): void {
    if (this.#slabEnd === this.#slabStart) return;
    this.#out.push(this.#slab.subarray(this.#slabStart, this.#slabEnd));
    this.#outBytes += this.#slabEnd - this.#slabStart;
    this.#slabStart = this.#slabEnd;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(this.#flush);
  }

  /**
   * Bytes written and not yet taken by the kernel: queued here, in the socket (and TLS), in the
   * compressor. From WRITE_HIGH_WATER on, `writable` is false.
   */
  get bufferedBytes(): number {
    const c = this.#compressor;
    return this.#outBytes + (this.#slabEnd - this.#slabStart) + this.socket.writableLength + (c === null ? 0 : c.writableLength + c.readableLength);
  }

  /** False while WRITE_HIGH_WATER bytes or more wait to be sent: publish more after whenWritable(). */
  get writable(): boolean {
    return this.#closed || this.bufferedBytes < WRITE_HIGH_WATER;
  }

  /** Resolves once `writable` (or the connection closed: publishing then fails at once). */
  whenWritable(): Promise<void> {
    if (this.writable) return Promise.resolve();
    return new Promise((resolve) => this.#writableWaiters.push(resolve));
  }

  /** the socket (or the deflater, which waits for the socket) takes writes again */
  get #blocked(): boolean {
    return this.socket.writableNeedDrain || (this.#compressor?.writableNeedDrain ?? false);
  }

  #onDrain = (): void => {
    if (!this.socket.writableNeedDrain) this.#compressor?.resume();
    this.#flush();
    if (this.#pipeline !== null) this.#pump();
    this.#wakeWritable();
  };

  #wakeWritable(): void {
    if (this.#writableWaiters.length === 0 || !this.writable) return;
    for (const f of this.#writableWaiters.splice(0)) f();
  }

  /** `force`: write even if the socket asked to wait (closing: the last writes) */
  #flush = (force = false): void => {
    this.#flushScheduled = false;
    if (this.#closed) return;
    this.#sealSlab();
    const out = this.#out;
    if (out.length === 0) return;
    // honour backpressure: the rest goes out on 'drain'
    if (force !== true && this.#blocked) return;
    this.#out = [];
    this.#outBytes = 0;
    if (this.#compress !== null) this.#compress(out.length === 1 ? out[0]! : Buffer.concat(out));
    else if (out.length === 1) this.socket.write(out[0]!);
    else {
      // corked: one writev for all of them, no concatenating copy
      this.socket.cork();
      for (const b of out) this.socket.write(b);
      this.socket.uncork();
    }
    // the kernel may have taken it all at once: then no 'drain' follows
    this.#wakeWritable();
  };

  #closedError(): NsqError {
    const why = this.#closeError === null ? '' : ` after: ${this.#closeError.message}`;
    return new NsqError(E_CLOSED, `connection to ${this.address} closed${why}`);
  }

  #fail(err: Error): void {
    if (this.#closeError === null) this.#closeError = err;
    this.socket.destroy();
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    const err = this.#closeError;
    const pending = this.#pending.splice(0);
    // commands after the one that failed were not executed: E_CLOSED tells callers they may retry
    const why = this.#closedError();
    for (const p of pending) if (!(p instanceof SentBatch)) p.reject(why);
    const pipe = this.#pipeline;
    if (pipe !== null && !(pipe.ended && pipe.unanswered === 0)) pipe.reject(err ?? why);
    for (const f of this.#writableWaiters.splice(0)) f();
    this.#onClosed(err);
    this.events.close?.(err);
  }
}

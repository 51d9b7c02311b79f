// One client connection to any nsqd (Go or ours): magic, IDENTIFY with feature negotiation,
// heartbeat replies, commands answered in order, messages handed to a callback.
// Commands written within one event-loop turn go out in one socket write.

import { connect, type Socket } from 'node:net';
import { FRAME_TYPE_ERROR, FRAME_TYPE_MESSAGE, MAGIC_V2, RESPONSE_CLOSE_WAIT, RESPONSE_HEARTBEAT, RESPONSE_OK } from '../protocol/constants.js';
import { decodeMessage, encodeCommand, encodeDpub, encodeIdentify, encodeMpub, encodePub } from '../protocol/encoders.js';
import { FrameDecoder, type FrameSink } from '../protocol/frame-decoder.js';

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

/** An error frame from the server, or a failure of the connection itself. */
export class NsqError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'NsqError';
    this.code = code;
  }

  /** Parses an error frame's text: `E_CODE description`. */
  static fromFrame(text: string): NsqError {
    const space = text.indexOf(' ');
    return new NsqError(space === -1 ? text : text.slice(0, space), text);
  }
}

const NON_FATAL = new Set(['E_FIN_FAILED', 'E_REQ_FAILED', 'E_TOUCH_FAILED']);
const NOP = encodeCommand('NOP');

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
  /** errors that do not end the connection (E_FIN_FAILED, ...) */
  warning?: (err: NsqError) => void;
  /** the connection ended; `err` says why when it was not closed by us */
  close?: (err: Error | null) => void;
}

interface Pending {
  resolve: (text: string) => void;
  reject: (err: Error) => void;
}

export class Connection implements FrameSink {
  readonly host: string;
  readonly port: number;
  readonly socket: Socket;
  identify: IdentifyResponse | null = null;
  /** messages delivered and not yet answered */
  inFlight = 0;
  events: ConnectionEvents = {};

  #decoder: FrameDecoder;
  #pending: Pending[] = [];
  #out: Buffer[] = [];
  #flushScheduled = false;
  #closed = false;
  #closeError: Error | null = null;
  readonly closed: Promise<Error | null>;
  #onClosed!: (err: Error | null) => void;

  private constructor(host: string, port: number, socket: Socket) {
    this.host = host;
    this.port = port;
    this.socket = socket;
    this.#decoder = new FrameDecoder(this);
    this.closed = new Promise((resolve) => (this.#onClosed = resolve));
    socket.on('data', (chunk: Buffer) => this.#decoder.push(chunk));
    socket.on('error', (err) => this.#fail(err));
    socket.on('close', () => this.#finish());
  }

  get address(): string {
    return `${this.host}:${this.port}`;
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
        reject(new NsqError('E_CONNECT', `connect to ${cfg.host}:${cfg.port} timed out after ${timeoutMs}ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new NsqError(err.code ?? 'E_CONNECT', `connect to ${cfg.host}:${cfg.port}: ${err.code === 'ECONNREFUSED' ? 'connection refused' : err.message}`));
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
    try {
      const text = await conn.#request(encodeIdentify(body));
      conn.identify = text === RESPONSE_OK ? null : (JSON.parse(text) as IdentifyResponse);
    } catch (err) {
      conn.close();
      throw err;
    }
    return conn;
  }

  // ---- FrameSink ------------------------------------------------------------------------------

  onFrame(frameType: number, buf: Buffer, start: number, end: number): void {
    if (frameType === FRAME_TYPE_MESSAGE) {
      const m = decodeMessage(buf, start, end);
      this.inFlight++;
      const msg = new Message(this, m.id, m.attempts, m.timestamp, m.body);
      if (this.events.message) this.events.message(msg);
      return;
    }
    const text = buf.toString('utf8', start, end);
    if (frameType === FRAME_TYPE_ERROR) {
      const err = NsqError.fromFrame(text);
      if (NON_FATAL.has(err.code)) {
        this.events.warning?.(err);
        return;
      }
      // any other error closes the connection: it answers the oldest command and is why we closed
      if (this.#closeError === null) this.#closeError = err;
      this.#pending.shift()?.reject(err);
      return;
    }
    if (text === RESPONSE_HEARTBEAT) {
      this.#write(NOP);
      return;
    }
    const p = this.#pending.shift();
    if (p) p.resolve(text);
  }

  onDecodeError(err: Error): void {
    this.#fail(err);
  }

  // ---- commands -------------------------------------------------------------------------------

  #request(data: Buffer): Promise<string> {
    if (this.#closed) return Promise.reject(this.#closedError());
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve, reject });
      this.#write(data);
    });
  }

  async #expectOk(data: Buffer): Promise<void> {
    const text = await this.#request(data);
    if (text !== RESPONSE_OK) throw new NsqError('E_UNEXPECTED', `expected OK, got ${JSON.stringify(text)}`);
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

  finish(id: string): void {
    this.inFlight--;
    this.#write(Buffer.from(`FIN ${id}\n`, 'latin1'));
  }

  requeue(id: string, delayMs = 0): void {
    this.inFlight--;
    this.#write(Buffer.from(`REQ ${id} ${Math.max(0, Math.round(delayMs))}\n`, 'latin1'));
  }

  touch(id: string): void {
    this.#write(Buffer.from(`TOUCH ${id}\n`, 'latin1'));
  }

  /** CLS: the server stops sending and answers CLOSE_WAIT; in-flight messages can still be answered. */
  async startClose(): Promise<void> {
    const text = await this.#request(encodeCommand('CLS'));
    if (text !== RESPONSE_CLOSE_WAIT) throw new NsqError('E_UNEXPECTED', `expected CLOSE_WAIT, got ${JSON.stringify(text)}`);
  }

  /** Writes what is queued, then closes the socket. */
  close(): void {
    this.#flush();
    this.socket.end();
    if (!this.#closed) setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  #write(data: Buffer): void {
    if (this.#closed) return;
    this.#out.push(data);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(this.#flush);
    }
  }

  #flush = (): void => {
    this.#flushScheduled = false;
    const out = this.#out;
    if (out.length === 0 || this.#closed) return;
    this.#out = [];
    this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  };

  #closedError(): NsqError {
    const why = this.#closeError === null ? '' : ` after: ${this.#closeError.message}`;
    return new NsqError('E_CLOSED', `connection to ${this.address} closed${why}`);
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
    for (const p of pending) p.reject(why);
    this.#onClosed(err);
    this.events.close?.(err);
  }
}

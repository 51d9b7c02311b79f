// The bench's own lean client on src/protocol: one connection, pipelined publishing with a
// bounded window of outstanding commands, and a consumer that FINs per received chunk.
// Every socket.write carries a batch of commands, never one message.

import { connect, type Socket } from 'node:net';
import { FRAME_TYPE_ERROR, FRAME_TYPE_MESSAGE, MAGIC_V2, RESPONSE_HEARTBEAT } from '../src/protocol/constants.js';
import { encodeCommand, encodeIdentify } from '../src/protocol/encoders.js';
import { FrameDecoder, type FrameSink } from '../src/protocol/frame-decoder.js';

const NOP = encodeCommand('NOP');
const CH_O = 79;
const CH_K = 75;
/** "FIN " + 16-byte id + "\n" */
const FIN_LEN = 21;
const FIN_PREFIX = Buffer.from('FIN ', 'latin1');
const HEARTBEAT = Buffer.from(RESPONSE_HEARTBEAT, 'latin1');

export class BenchConnection implements FrameSink {
  readonly socket: Socket;
  readonly #decoder: FrameDecoder;
  /** handshake-phase responses, answered in order */
  #waiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  #closing = false;

  /** rejects when the connection fails; race it against whatever the case awaits */
  readonly failed: Promise<never>;
  #fail!: (err: Error) => void;

  /** pipelined phase: called for each OK instead of resolving a waiter */
  onOk: (() => void) | null = null;
  /** message frame; `buf[start, end)` is the frame data (valid during the call only) */
  onMessage: ((buf: Buffer, start: number, end: number) => void) | null = null;
  /** after each received chunk has been decoded: the place to write batched replies */
  afterChunk: (() => void) | null = null;
  /** process.hrtime.bigint() when the current chunk arrived, if `stampChunks` */
  chunkAt = 0n;
  stampChunks = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.#decoder = new FrameDecoder(this);
    this.failed = new Promise<never>((_, reject) => {
      this.#fail = reject;
    });
    this.failed.catch(() => {});
    socket.on('data', (chunk: Buffer) => {
      if (this.stampChunks) this.chunkAt = process.hrtime.bigint();
      this.#decoder.push(chunk);
      if (this.afterChunk !== null) this.afterChunk();
    });
    socket.on('error', (err) => this.#failWith(err));
    socket.on('close', () => {
      if (!this.#closing) this.#failWith(new Error('connection closed by the server'));
    });
  }

  /** Connects, sends the magic and IDENTIFY, and waits for its OK. */
  static async open(port: number): Promise<BenchConnection> {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const conn = new BenchConnection(socket);
    socket.write(Buffer.concat([MAGIC_V2, encodeIdentify({ client_id: 'bench', hostname: 'bench', user_agent: 'nsq-bench', feature_negotiation: false })]));
    await conn.expectOk();
    return conn;
  }

  /** Waits for the next response, which must be OK. */
  expectOk(): Promise<void> {
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  async subscribe(topic: string, channel: string): Promise<void> {
    this.socket.write(encodeCommand('SUB', topic, channel));
    await this.expectOk();
  }

  close(): void {
    this.#closing = true;
    this.#decoder.stop();
    this.socket.destroy();
  }

  #failWith(err: Error): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#decoder.stop();
    this.socket.destroy();
    for (const w of this.#waiters.splice(0)) w.reject(err);
    this.#fail(err);
  }

  // ---- FrameSink ---------------------------------------------------------------------------

  onFrame(frameType: number, buf: Buffer, start: number, end: number): void {
    if (frameType === FRAME_TYPE_MESSAGE) {
      if (this.onMessage === null) return this.#failWith(new Error('unexpected message frame'));
      this.onMessage(buf, start, end);
      return;
    }
    if (frameType === FRAME_TYPE_ERROR) {
      this.#failWith(new Error(`server error: ${buf.toString('utf8', start, end)}`));
      return;
    }
    if (end - start === 2 && buf[start] === CH_O && buf[start + 1] === CH_K) {
      if (this.onOk !== null) this.onOk();
      else {
        const w = this.#waiters.shift();
        if (w === undefined) this.#failWith(new Error('unexpected OK'));
        else w.resolve();
      }
      return;
    }
    if (buf.subarray(start, end).equals(HEARTBEAT)) {
      this.socket.write(NOP);
      return;
    }
    this.#failWith(new Error(`unexpected response: ${buf.toString('utf8', start, end)}`));
  }

  onDecodeError(err: Error): void {
    this.#failWith(err);
  }
}

// ---- publishing ------------------------------------------------------------------------------

export interface PipelineOptions {
  /** several complete commands (PUB or MPUB) concatenated: written with one socket.write */
  batch: Buffer;
  commandsPerBatch: number;
  messagesPerCommand: number;
  /** most commands sent but not yet answered */
  window: number;
  maxMessages: number;
  /** stop sending new batches after this long */
  maxMs: number;
}

export interface Throughput {
  messages: number;
  seconds: number;
}

/**
 * Publishes the same batch over and over until `maxMessages` or `maxMs`, keeping at most
 * `window` commands unanswered, and resolves once every sent command has been answered.
 */
export function publishPipelined(conn: BenchConnection, o: PipelineOptions): Promise<Throughput> {
  const maxCommands = Math.floor(o.maxMessages / o.messagesPerCommand);
  const window = Math.max(o.window, o.commandsPerBatch);
  let sent = 0;
  let acked = 0;
  let stopped = false;
  const t0 = performance.now();
  const deadline = t0 + o.maxMs;
  const done = new Promise<Throughput>((resolve) => {
    const refill = (): void => {
      while (!stopped && sent - acked + o.commandsPerBatch <= window) {
        if (sent + o.commandsPerBatch > maxCommands || performance.now() >= deadline) {
          stopped = true;
          break;
        }
        conn.socket.write(o.batch);
        sent += o.commandsPerBatch;
      }
      if (stopped && acked === sent) {
        conn.onOk = null;
        conn.afterChunk = null;
        resolve({ messages: acked * o.messagesPerCommand, seconds: (performance.now() - t0) / 1000 });
      }
    };
    conn.onOk = () => {
      acked++;
    };
    // refill once per received chunk: one write per batch of answers, not per answer
    conn.afterChunk = refill;
    refill();
  });
  return Promise.race([done, conn.failed]);
}

/** `count` PUB commands for `topic` concatenated into one buffer. */
export function pubBatch(topic: string, body: Buffer, count: number): Buffer {
  const head = Buffer.from(`PUB ${topic}\n`, 'latin1');
  const one = head.length + 4 + body.length;
  const out = Buffer.allocUnsafe(one * count);
  for (let i = 0, p = 0; i < count; i++, p += one) {
    head.copy(out, p);
    out.writeUInt32BE(body.length, p + head.length);
    body.copy(out, p + head.length + 4);
  }
  return out;
}

/** A 200-byte-ish body of printable bytes (content does not matter to the server). */
export function makeBody(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = 97 + (i % 26);
  return b;
}

// ---- consuming -------------------------------------------------------------------------------

export interface ConsumeOptions {
  rdy: number;
  /** resolve once this many messages have arrived (and been FINed) */
  expected: number;
  /** called for every message, before its FIN is queued */
  onMessage?: (buf: Buffer, start: number, end: number) => void;
}

export interface ConsumeResult extends Throughput {
  /** deliveries with attempts > 1: should be 0 in a clean run */
  redelivered: number;
}

/**
 * Sends RDY and FINs every message, writing the FINs of one received chunk together.
 * The clock starts when RDY is written.
 */
export function consume(conn: BenchConnection, o: ConsumeOptions): { done: Promise<ConsumeResult>; received: () => number } {
  let received = 0;
  let redelivered = 0;
  let fins = Buffer.allocUnsafe(64 * 1024);
  let finLen = 0;
  const user = o.onMessage;
  const t0 = performance.now();
  const done = new Promise<ConsumeResult>((resolve) => {
    conn.onMessage = (buf, start, end) => {
      if (user !== undefined) user(buf, start, end);
      if (buf.readUInt16BE(start + 8) > 1) redelivered++;
      if (finLen + FIN_LEN > fins.length) {
        const bigger = Buffer.allocUnsafe(fins.length * 2);
        fins.copy(bigger, 0, 0, finLen);
        fins = bigger;
      }
      FIN_PREFIX.copy(fins, finLen);
      buf.copy(fins, finLen + 4, start + 10, start + 26);
      fins[finLen + 20] = 10;
      finLen += FIN_LEN;
      received++;
    };
    conn.afterChunk = () => {
      if (finLen > 0) {
        // the socket may hold the buffer until written: hand it a copy, keep the scratch
        const out = Buffer.allocUnsafe(finLen);
        fins.copy(out, 0, 0, finLen);
        finLen = 0;
        conn.socket.write(out);
      }
      if (received >= o.expected) {
        resolve({ messages: received, seconds: (performance.now() - t0) / 1000, redelivered });
      }
    };
  });
  conn.socket.write(encodeCommand('RDY', o.rdy));
  return { done: Promise.race([done, conn.failed]), received: () => received };
}

// One TCP connection's state on the server: negotiated settings, RDY and in-flight accounting,
// and the buffered writer. Frames are appended to one output buffer and written once per
// event-loop turn (or when the buffer fills), never once per message.

import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { SnappyFrameEncoder } from '../protocol/snappy-frame.js';
import type { DeflateRaw } from 'node:zlib';
import { tls, zlib } from '../util/builtins.js';
import { FRAME_TYPE_ERROR, FRAME_TYPE_MESSAGE, FRAME_TYPE_RESPONSE, MESSAGE_HEADER_LENGTH, RESPONSE_OK } from '../protocol/constants.js';
import { writeMessageId } from '../protocol/message-id.js';
import { writeUint64BE } from '../protocol/uint64.js';
import { InFlightTable } from './inflight.js';
import { MSG_IN_FLIGHT, type Message } from './message.js';
import { TimeoutFifo } from './pqueue.js';
import type { AuthState } from './auth.js';
import { peerCommonName } from './tls.js';
import type { Channel } from './channel.js';
import type { NSQD } from './nsqd.js';

export const STATE_INIT = 0;
export const STATE_SUBSCRIBED = 2;
export const STATE_CLOSING = 3;

/** What the connection's protocol does for the engine's periodic checks. */
export interface ClientProtocol {
  /** A subscribed client's authorization expired: ask the auth server again before delivering more. */
  authExpired(): void;
}

/** Output buffer of a quiet connection, and of one whose buffer has filled up (busy: fewer, larger writes). */
const OUT_SMALL = 16 * 1024;
const OUT_BUSY = 64 * 1024;
const EMPTY = Buffer.alloc(0);
/** Writes up to this size are copied out so the output buffer can be reused. */
const SMALL_WRITE = 4096;
/** [size 6][frame type 0: response]["OK"]: shared by every connection, never modified */
const OK_FRAME = Buffer.from([0, 0, 0, 6, 0, 0, 0, FRAME_TYPE_RESPONSE, 0x4f, 0x4b]);
const isOkFrame = (b: Buffer): boolean => {
  for (let i = 0; i < OK_FRAME.length; i++) if (b[i] !== OK_FRAME[i]) return false;
  return true;
};

export class Client {
  readonly id: number;
  /** the connection's socket; after a TLS upgrade, the TLS socket over it */
  socket: Socket;
  readonly nsqd: NSQD;
  readonly remoteAddress: string;
  readonly connectTime: number;

  // settings negotiated by IDENTIFY
  clientId: string;
  hostname: string;
  userAgent = '';
  heartbeatInterval: number;
  msgTimeout: number;
  outputBufferSize = 16 * 1024;
  outputBufferTimeout: number;
  sampleRate = 0;
  featureNegotiation = false;
  identified = false;
  /** the TLS handshake after IDENTIFY completed: everything since goes over TLS */
  tls = false;
  /** between IDENTIFY's answer and the TLS handshake's end: nothing else may be written */
  upgrading = false;
  snappy = false;
  deflate = false;
  deflateLevel = 0;
  authSecret = '';
  /** what the auth server granted (AUTH); null before */
  authState: AuthState | null = null;
  protocol: ClientProtocol | null = null;

  state = STATE_INIT;
  channel: Channel | null = null;
  readyCount = 0;
  inFlightCount = 0;
  messageCount = 0;
  finishCount = 0;
  requeueCount = 0;
  /** messages published by this client, per topic */
  readonly pubCounts = new Map<string, number>();

  readonly inFlight = new InFlightTable();
  readonly timeouts = new TimeoutFifo();

  /** monotonic ms of the last bytes read, for the heartbeat read deadline */
  lastRead: number;
  /** a command is still executing (AUTH waits for the auth server): nothing is read, no read deadline (as nsqd) */
  executing = false;
  lastHeartbeat: number;

  /** allocated on first use, so idle connections cost no buffer */
  #out: Buffer = EMPTY;
  #outSize = OUT_SMALL;
  #outLen = 0;
  #dirty = false;
  #ending = false;
  /** the socket's buffer is full: deliver nothing more until it drains */
  writeBlocked = false;

  constructor(nsqd: NSQD, id: number, socket: Socket) {
    this.nsqd = nsqd;
    this.id = id;
    this.socket = socket;
    const addr = socket.remoteAddress ?? '';
    this.remoteAddress = addr.includes(':') ? `[${addr}]:${socket.remotePort}` : `${addr}:${socket.remotePort}`;
    this.clientId = addr;
    this.hostname = addr;
    this.connectTime = Date.now();
    const opts = nsqd.options;
    this.heartbeatInterval = opts.clientTimeout / 2;
    this.msgTimeout = opts.msgTimeout;
    this.outputBufferTimeout = opts.outputBufferTimeout;
    this.lastRead = performance.now();
    this.lastHeartbeat = this.lastRead;
  }

  /** nsqd's HasAuthorizations: AUTH succeeded with at least one authorization. */
  get authed(): boolean {
    return this.authState !== null && this.authState.authorizations.length > 0;
  }

  /** Can this client take one more message now? Not while its expired authorization is asked for again. */
  isReady(): boolean {
    return this.state === STATE_SUBSCRIBED && this.inFlightCount < this.readyCount && !this.writeBlocked && !this.executing;
  }

  /** Hands a message to this client: mark it in flight and append its frame. */
  deliver(msg: Message, now: number): void {
    msg.attempts++;
    msg.state = MSG_IN_FLIGHT;
    msg.owner = this;
    msg.deadline = now + this.msgTimeout;
    msg.deliveredAt = now;
    this.inFlight.add(msg);
    this.timeouts.push(msg, msg.deadline, this.inFlightCount);
    this.inFlightCount++;
    this.messageCount++;
    this.#writeMessage(msg);
  }

  #writeMessage(msg: Message): void {
    const len = msg.bodyLength;
    const frameLen = 8 + MESSAGE_HEADER_LENGTH + len;
    const buf = this.#reserve(frameLen);
    let p = this.#outLen;
    buf.writeUInt32BE(4 + MESSAGE_HEADER_LENGTH + len, p);
    buf.writeUInt32BE(FRAME_TYPE_MESSAGE, p + 4);
    writeUint64BE(buf, p + 8, msg.timestamp);
    buf.writeUInt16BE(msg.attempts > 65535 ? 65535 : msg.attempts, p + 16);
    writeMessageId(buf, p + 18, msg.id);
    p += 8 + MESSAGE_HEADER_LENGTH;
    msg.body.copy(buf, p, msg.bodyStart, msg.bodyStart + len);
    this.#outLen = p + len;
    this.#markDirty();
  }

  sendResponse(text: string): void {
    if (text === RESPONSE_OK) {
      // every publish's answer: ten bytes copied, no string encoded
      const buf = this.#reserve(OK_FRAME.length);
      const p = this.#outLen;
      for (let i = 0; i < OK_FRAME.length; i++) buf[p + i] = OK_FRAME[i]!;
      this.#outLen = p + OK_FRAME.length;
      this.#markDirty();
      return;
    }
    this.#writeFrame(FRAME_TYPE_RESPONSE, text);
  }

  sendError(text: string): void {
    this.#writeFrame(FRAME_TYPE_ERROR, text);
  }

  sendResponseBytes(data: Buffer): void {
    const buf = this.#reserve(8 + data.length);
    const p = this.#outLen;
    buf.writeUInt32BE(4 + data.length, p);
    buf.writeUInt32BE(FRAME_TYPE_RESPONSE, p + 4);
    data.copy(buf, p + 8);
    this.#outLen = p + 8 + data.length;
    this.#markDirty();
  }

  #writeFrame(frameType: number, text: string): void {
    const n = Buffer.byteLength(text);
    const buf = this.#reserve(8 + n);
    const p = this.#outLen;
    buf.writeUInt32BE(4 + n, p);
    buf.writeUInt32BE(frameType, p + 4);
    buf.write(text, p + 8, 'utf8');
    this.#outLen = p + 8 + n;
    this.#markDirty();
  }

  /** Makes room for `n` more bytes in the output buffer, writing out what is there if needed. */
  #reserve(n: number): Buffer {
    if (this.#outLen + n <= this.#out.length) return this.#out;
    if (this.#outLen > 0) {
      // the buffer filled within one turn: this connection is busy
      this.#outSize = OUT_BUSY;
      this.flush();
    }
    if (n > this.#out.length) this.#out = Buffer.allocUnsafe(Math.max(n, this.#outSize));
    return this.#out;
  }

  #markDirty(): void {
    if (!this.#dirty) {
      this.#dirty = true;
      // while its own input is executed the connection is written when that ends (endRead)
      if (!this.#reading) this.nsqd.scheduleFlush(this);
    }
  }

  #reading = false;

  /** The connection's input is being executed: what it answers is written by endRead. */
  beginRead(): void {
    this.#reading = true;
  }

  /**
   * Writes what executing the input buffered now, in the turn it was read, rather than with every
   * other connection's at the end of the turn: a producer that waits for each OK gets it sooner.
   */
  endRead(): void {
    this.#reading = false;
    if (this.#dirty) this.flush();
  }

  /** Writes the buffered frames to the socket. */
  flush(): void {
    this.#dirty = false;
    if (this.#outLen === 0) return;
    // the socket keeps what it is given until it is written: small writes get a copy and the
    // buffer is reused; large ones take the buffer and writing continues in a fresh one
    let chunk: Buffer;
    if (this.#outLen === OK_FRAME.length && isOkFrame(this.#out)) {
      // the commonest answer by far: a frame that is never written to, so nothing to copy
      chunk = OK_FRAME;
    } else if (this.#outLen <= SMALL_WRITE) {
      chunk = Buffer.allocUnsafe(this.#outLen);
      this.#out.copy(chunk, 0, 0, this.#outLen);
    } else {
      chunk = this.#out.subarray(0, this.#outLen);
      this.#out = EMPTY;
    }
    this.#outLen = 0;
    if (this.socket.destroyed) return;
    if (this.#snappy !== null) {
      this.#writeSocket(this.#snappy.encode(chunk));
      return;
    }
    if (this.#deflate !== null) {
      // after close() the deflater is ending: as for a plain socket, nothing more goes out
      if (this.#deflate.writableEnded) return;
      // compressed connection: the deflater writes to the socket as it produces output
      this.#deflate.write(chunk);
      this.#deflate.flush(zlib().constants.Z_SYNC_FLUSH);
      return;
    }
    this.#writeSocket(chunk);
  }

  #writeSocket = (chunk: Buffer): void => {
    if (this.socket.destroyed) return;
    if (!this.socket.write(chunk) && !this.writeBlocked) {
      this.writeBlocked = true;
      // stop reading too, so a peer that never reads its responses cannot grow our memory
      this.socket.pause();
      this.socket.once('drain', this.#onDrain);
    }
  };

  #deflate: DeflateRaw | null = null;

  /** From now on everything written is raw DEFLATE at `level`, flushed with every write (as nsqd). */
  startDeflate(level: number): void {
    const d = zlib().createDeflateRaw({ level });
    d.on('data', this.#writeSocket);
    d.on('error', () => this.socket.destroy());
    this.#deflate = d;
  }

  #snappy: SnappyFrameEncoder | null = null;

  /** From now on everything written is in snappy's framing format, complete chunks per write. */
  startSnappy(): void {
    this.#snappy = new SnappyFrameEncoder();
  }

  /** The TLS session, once the handshake after IDENTIFY is done. */
  get tlsSocket(): TLSSocket | null {
    // the TLS module is loaded once a connection is on TLS
    return this.tls && this.socket instanceof tls().TLSSocket ? this.socket : null;
  }

  /** The client certificate's subject common name ('' without TLS or certificate), for auth. */
  get tlsCommonName(): string {
    const secure = this.tlsSocket;
    return secure === null ? '' : peerCommonName(secure);
  }

  #onDrain = (): void => {
    this.writeBlocked = false;
    if (this.state !== STATE_CLOSING) this.socket.resume();
    if (this.channel !== null) this.channel.pump();
  };

  /** Closes the connection after what is buffered has been written. */
  close(): void {
    if (this.#ending) return;
    this.#ending = true;
    this.state = STATE_CLOSING;
    this.flush();
    const d = this.#deflate;
    if (d !== null && !this.socket.destroyed) {
      // deflating runs on the thread pool: the last frames (a fatal error's E_* frame) are still
      // in the deflater, and ending the socket now would drop them
      d.once('end', () => this.socket.end());
      d.end();
      return;
    }
    this.socket.end();
  }
}

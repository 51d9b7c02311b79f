// Short replication calls to another node (docs/replication.md, "Return" and "Failover"): not a
// link that follows an origin, but one connection for a few requests, each answered by frames:
//   FETCH {name, incarnation: null}      → STATE {mirrors: [...]}     which copies of `name` it holds
//   FETCH {name, incarnation, have}      → APPEND… META COMMIT(0)     one copy's bytes beyond `have`
//   CLAIM {origin, incarnation, by}      → CONFIRM(0)                 "I take this origin over"
//   RELEASE {origin, incarnation}        → CONFIRM(0)                 "its messages are safe elsewhere now"
// While the connection lasts the peer does not take over the copies it was asked about. Anything
// unexpected ends the call with an error; the caller decides what that costs (never a loss: a copy
// is only given up on a RELEASE).

import type { Duplex } from 'node:stream';
import {
  ReplFrameDecoder,
  T_APPEND,
  T_CLAIM,
  T_COMMIT,
  T_CONFIRM,
  T_ERROR,
  T_FETCH,
  T_META,
  T_PING,
  T_RELEASE,
  T_STATE,
  encodeJson,
  encodePing,
  frameTypeName,
  type ReplFrame,
} from '../protocol/replication.js';
import { pingInterval } from './replica-link.js';
import type { ReplicaMirror } from './replica-mirror.js';

/** A copy of an origin that a peer holds (FETCH's listing). */
export interface HeldCopy {
  incarnation: string;
  /** epoch ms of the origin's last frame to that peer */
  last_contact: number;
  bytes: number;
}

type Step = (f: ReplFrame) => boolean;

export class ReplicaCall {
  readonly address: string;
  readonly #socket: Duplex;
  readonly #decoder: ReplFrameDecoder;
  readonly #idleMs: number;
  #step: { handle: Step; resolve: () => void; reject: (err: Error) => void; timer: NodeJS.Timeout } | null = null;
  #ping: NodeJS.Timeout;
  #closed: Error | null = null;

  /** `socket` is past V2 and `REPL 1`; a request with no frame back for `idleMs` (the failover timeout) fails. */
  constructor(address: string, socket: Duplex, early: Buffer, idleMs: number) {
    this.address = address;
    this.#socket = socket;
    this.#idleMs = idleMs;
    this.#decoder = new ReplFrameDecoder({
      onReplFrame: (f) => this.#onFrame(f),
      onReplError: (err) => this.#fail(new Error(`${address}: ${err.message}`)),
    });
    socket.on('data', (chunk: Buffer) => this.#decoder.push(chunk));
    socket.on('error', (err) => this.#fail(new Error(`${address}: ${err.message}`)));
    socket.on('close', () => this.#fail(new Error(`${address}: connection closed`)));
    // the peer's clock for the copies this call holds runs from its last frame from us
    this.#ping = setInterval(() => socket.write(encodePing()), pingInterval(idleMs));
    this.#ping.unref();
    if (early.length > 0) this.#decoder.push(early);
  }

  /** Which copies of `name` the peer holds (not taken over), other than that of incarnation `self` (the asker's own). */
  async held(name: string, self: string): Promise<HeldCopy[]> {
    let out: HeldCopy[] = [];
    await this.#request(encodeJson(T_FETCH, { version: 1, name, incarnation: null, self, have: {} }), (f) => {
      if (f.type !== T_STATE) return this.#unexpected(f);
      const list = f.json['mirrors'];
      if (!Array.isArray(list)) throw new Error(`${this.address}: STATE without its list of copies`);
      out = list.filter(
        (m): m is HeldCopy =>
          m !== null && typeof m === 'object' && typeof m.incarnation === 'string' && /^[0-9a-f]{1,32}$/.test(m.incarnation) && Number.isSafeInteger(m.last_contact) && Number.isSafeInteger(m.bytes),
      );
      return true;
    });
    return out;
  }

  /**
   * Copies what the peer holds of `name`/`incarnation` beyond what `into` has (files are prefixes
   * of one origin's byte stream, so the longer copy of a file holds the shorter), then fsyncs it.
   */
  async fetch(name: string, incarnation: string, into: ReplicaMirror): Promise<void> {
    await this.#request(encodeJson(T_FETCH, { version: 1, name, incarnation, have: into.files() }), (f) => {
      switch (f.type) {
        case T_APPEND:
          into.append(f.file, f.offset, f.bytes);
          return false;
        case T_META:
          // the first copy fetched (the freshest) says which topics and channels there are
          if (into.meta === null && Object.keys(f.json).length > 0) into.setMeta(f.json);
          return false;
        case T_COMMIT:
          into.commit(0);
          return true;
        default:
          return this.#unexpected(f);
      }
    });
  }

  /** Tells the peer this node takes `origin`/`incarnation` over; it holds its copy back meanwhile. */
  async claim(origin: string, incarnation: string, by: string): Promise<void> {
    await this.#request(encodeJson(T_CLAIM, { origin, incarnation, by }), (f) => (f.type === T_CONFIRM ? true : this.#unexpected(f)));
  }

  /** Tells the peer it may drop its copy of `origin`/`incarnation`: the messages are safe elsewhere. */
  async release(origin: string, incarnation: string): Promise<void> {
    await this.#request(encodeJson(T_RELEASE, { origin, incarnation }), (f) => (f.type === T_CONFIRM ? true : this.#unexpected(f)));
  }

  close(): void {
    this.#fail(new Error(`${this.address}: call closed`));
  }

  #unexpected(f: ReplFrame): never {
    if (f.type === T_ERROR) throw new Error(`${this.address} refused: ${f.text}`);
    throw new Error(`${this.address} answered ${frameTypeName(f.type)}`);
  }

  #request(frame: Buffer, handle: Step): Promise<void> {
    if (this.#closed !== null) return Promise.reject(this.#closed);
    if (this.#step !== null) return Promise.reject(new Error(`${this.address}: a request is already waiting`));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.#fail(new Error(`${this.address}: no answer for ${this.#idleMs} ms`)), this.#idleMs);
      this.#step = { handle, resolve, reject, timer };
      this.#socket.write(frame);
    });
  }

  #onFrame(f: ReplFrame): void {
    if (f.type === T_PING) {
      this.#step?.timer.refresh();
      return;
    }
    const step = this.#step;
    if (step === null) return this.#fail(new Error(`${this.address} sent ${frameTypeName(f.type)} unasked`));
    step.timer.refresh();
    let done: boolean;
    try {
      done = step.handle(f);
    } catch (err) {
      return this.#fail(err as Error);
    }
    if (!done) return;
    clearTimeout(step.timer);
    this.#step = null;
    step.resolve();
  }

  #fail(err: Error): void {
    if (this.#closed === null) {
      this.#closed = err;
      clearInterval(this.#ping);
      this.#decoder.stop();
      this.#socket.destroy();
    }
    const step = this.#step;
    this.#step = null;
    if (step !== null) {
      clearTimeout(step.timer);
      step.reject(err);
    }
  }
}

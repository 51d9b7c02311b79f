// The replica's end of a replication link (docs/replication.md, "Running"): frames from one origin
// applied to its mirror, COMMITs made durable once per turn and confirmed. Anything wrong in what the
// origin sends ends the session with an ERROR frame; nothing of a bad frame is applied.

import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Logger } from '../util/log.js';
import {
  E_REPL_PAYLOAD,
  ReplFrameDecoder,
  ReplicationProtocolError,
  T_APPEND,
  T_COMMIT,
  T_HELLO,
  T_META,
  T_PING,
  T_REMOVE,
  T_STATE,
  T_TAKEN_OK,
  encodeError,
  encodeJson,
  encodePing,
  encodeSeq,
  T_CONFIRM,
  T_CLAIM,
  T_FETCH,
  T_RELEASE,
  encodeMeta,
  frameTypeName,
  type ReplFrame,
} from '../protocol/replication.js';
import { ReplicaMirror } from './replica-mirror.js';
import { pingInterval } from './replica-link.js';
import { SEND_HIGH_WATER, readAppends } from './replica-append.js';
import type { HeldCopy } from './replica-call.js';

export interface Hello {
  name: string;
  incarnation: string;
  replicas: string[];
  restore: boolean;
}

export interface SessionHost {
  /** <data-path>/replicas */
  root: string;
  logger: Logger;
  /** this node's own name: an origin of that name is a loop in the configuration */
  selfName: string;
  /** this node's --failover-timeout (ms): how often the session pings follows it (default 4 s) */
  failoverMs?: number;
  /** a session said HELLO: the host may refuse it (by throwing) and learns which mirror it uses */
  opened(session: ReplicaSession, hello: Hello): void;
  closed(session: ReplicaSession): void;
  /** what STATE carries beyond the files: a takeover record for this origin, if any */
  takenOver(hello: Hello): Record<string, unknown> | null;
  /** the origin applied takeover `n` */
  takenApplied?(hello: Hello, n: number): void;
  /**
   * FETCH (a node restoring) or CLAIM (another replica taking over): the copies of `origin` held here
   * (one incarnation, or all with null), which are not taken over while `session` lasts.
   */
  /** `asker`: the incarnation the listing origin runs now (FETCH's `self`), whose own copy is left out */
  hold?(session: ReplicaSession, origin: string, incarnation: string | null, asker?: string): HeldCopy[];
  /** RELEASE: the messages of that copy are safe elsewhere; it may go */
  release?(session: ReplicaSession, origin: string, incarnation: string): void;
}

const INCARNATION = /^[0-9a-f]{1,32}$/;

export class ReplicaSession {
  readonly #socket: Duplex;
  readonly #host: SessionHost;
  readonly #decoder: ReplFrameDecoder;
  hello: Hello | null = null;
  mirror: ReplicaMirror | null = null;
  /** FETCH, CLAIM or RELEASE came first: a call, not a link that follows an origin */
  #call = false;
  #commitSeq = 0;
  #commitScheduled = false;
  #closed = false;
  #lastSent = Date.now();
  #ping: NodeJS.Timeout;

  constructor(socket: Duplex, early: Buffer, host: SessionHost) {
    this.#socket = socket;
    this.#host = host;
    this.#decoder = new ReplFrameDecoder({
      onReplFrame: (f) => this.#onFrame(f),
      onReplError: (err) => this.#refuse(err),
    });
    socket.on('data', (chunk: Buffer) => this.#decoder.push(chunk));
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
    const every = pingInterval(host.failoverMs ?? 4000);
    this.#ping = setInterval(() => {
      if (Date.now() - this.#lastSent >= every / 2) this.#send(encodePing());
    }, every);
    this.#ping.unref();
    if (early.length > 0) this.#decoder.push(early);
  }

  get origin(): string {
    return this.hello?.name ?? '?';
  }

  #onFrame(f: ReplFrame): void {
    if (this.#closed) return;
    try {
      if (f.type === T_HELLO) return this.#onHello(f.json);
      const m = this.mirror;
      if (m === null) return this.#onCall(f);
      m.touch(Date.now());
      switch (f.type) {
        case T_APPEND:
          m.append(f.file, f.offset, f.bytes);
          return;
        case T_REMOVE:
          m.remove(f.file);
          return;
        case T_META:
          m.setMeta(f.json);
          return;
        case T_COMMIT:
          if (f.seq > this.#commitSeq) this.#commitSeq = f.seq;
          this.#scheduleCommit();
          return;
        case T_PING:
          return;
        case T_TAKEN_OK:
          this.#host.takenApplied?.(this.hello!, f.seq);
          return;
        default:
          throw new ReplicationProtocolError(E_REPL_PAYLOAD, `${frameTypeName(f.type)} is not sent by an origin`);
      }
    } catch (err) {
      if (err instanceof ReplicationProtocolError) return this.#refuse(err);
      // the disk refused (ENOSPC, EIO): the origin is told and retries; it counts this replica out meanwhile
      this.#host.logger.error(`REPLICATION: mirror of ${this.origin}: ${(err as Error).message}`);
      this.#send(encodeError('E_REPL_DISK', (err as Error).message));
      this.close();
    }
  }

  #onHello(j: Record<string, unknown>): void {
    if (this.hello !== null) throw new ReplicationProtocolError(E_REPL_PAYLOAD, 'a second HELLO');
    if (this.#call) throw new ReplicationProtocolError(E_REPL_PAYLOAD, 'HELLO on a call');
    const name = j['name'];
    const inc = j['incarnation'];
    const replicas = j['replicas'];
    if (j['version'] !== 1) throw new ReplicationProtocolError(E_REPL_PAYLOAD, `replication version ${JSON.stringify(j['version'])} is not 1`);
    if (typeof name !== 'string' || name.length === 0 || name.length > 255) throw new ReplicationProtocolError(E_REPL_PAYLOAD, 'HELLO without a name');
    if (typeof inc !== 'string' || !INCARNATION.test(inc)) throw new ReplicationProtocolError(E_REPL_PAYLOAD, 'HELLO without an incarnation');
    if (!Array.isArray(replicas) || !replicas.every((r) => typeof r === 'string')) throw new ReplicationProtocolError(E_REPL_PAYLOAD, 'HELLO without its replica list');
    if (name === this.#host.selfName) throw new ReplicationProtocolError(E_REPL_PAYLOAD, `origin ${name} is this node: a node cannot be its own replica`);
    const hello: Hello = { name, incarnation: inc, replicas: replicas as string[], restore: j['restore'] === true };
    this.hello = hello;
    this.#host.opened(this, hello);
    this.mirror = new ReplicaMirror(this.#host.root, name, inc);
    this.mirror.touch(Date.now());
    this.mirror.setReplicas(hello.replicas);
    this.#send(
      encodeJson(T_STATE, {
        incarnation: inc,
        files: this.mirror.files(),
        confirmed: this.mirror.state.confirmed,
        taken_over: this.#host.takenOver(hello),
      }),
    );
  }

  // ---- calls: FETCH, CLAIM, RELEASE ------------------------------------------------------------

  #onCall(f: ReplFrame): void {
    const host = this.#host;
    if (f.type === T_PING) return;
    if ((f.type !== T_FETCH && f.type !== T_CLAIM && f.type !== T_RELEASE) || host.hold === undefined || host.release === undefined) {
      throw new ReplicationProtocolError(E_REPL_PAYLOAD, `${frameTypeName(f.type)} before HELLO`);
    }
    this.#call = true;
    const j = f.json;
    const origin = f.type === T_FETCH ? j['name'] : j['origin'];
    const inc = j['incarnation'];
    if (typeof origin !== 'string' || origin.length === 0 || origin.length > 255) throw new ReplicationProtocolError(E_REPL_PAYLOAD, `${frameTypeName(f.type)} without an origin name`);
    if (origin === host.selfName) throw new ReplicationProtocolError(E_REPL_PAYLOAD, `${origin} is this node`);
    if (!(typeof inc === 'string' && INCARNATION.test(inc)) && !(f.type === T_FETCH && inc === null)) {
      throw new ReplicationProtocolError(E_REPL_PAYLOAD, `${frameTypeName(f.type)} without an incarnation`);
    }
    if (f.type === T_RELEASE) {
      host.release(this, origin, inc as string);
      this.#send(encodeSeq(T_CONFIRM, 0));
      return;
    }
    const self = j['self'];
    const held = host.hold(this, origin, inc as string | null, typeof self === 'string' && INCARNATION.test(self) ? self : undefined);
    if (f.type === T_CLAIM) {
      host.logger.info(`REPLICATION: ${typeof j['by'] === 'string' ? j['by'] : 'a replica'} takes ${origin} (incarnation ${inc as string}) over; holding this copy back`);
      this.#send(encodeSeq(T_CONFIRM, 0));
      return;
    }
    if (inc === null) {
      this.#send(encodeJson(T_STATE, { mirrors: held.map(({ incarnation, last_contact, bytes }) => ({ incarnation, last_contact, bytes })) }));
      return;
    }
    const copy = held[0];
    if (copy === undefined) throw new ReplicationProtocolError('E_REPL_GONE', `no copy of ${origin} incarnation ${inc as string} here`);
    const have = j['have'];
    if (have === null || typeof have !== 'object' || Array.isArray(have)) throw new ReplicationProtocolError(E_REPL_PAYLOAD, 'FETCH without its file sizes');
    host.logger.info(`REPLICATION: ${origin} restores incarnation ${inc as string} from this node's copy (${copy.bytes} bytes)`);
    void this.#stream(origin, inc as string, have as Record<string, unknown>).catch((err: Error) => {
      host.logger.error(`REPLICATION: sending ${origin}'s copy: ${err.message}`);
      this.#send(encodeError('E_REPL_DISK', err.message));
      this.close();
    });
  }

  /** FETCH: the copy's bytes beyond `have`, file by file, then its META and COMMIT 0 (the end). */
  async #stream(origin: string, inc: string, have: Record<string, unknown>): Promise<void> {
    const copy = new ReplicaMirror(this.#host.root, origin, inc);
    const dir = copy.dir;
    const files = copy.files();
    const meta = copy.meta;
    copy.close();
    const socket = this.#socket;
    for (const [file, size] of Object.entries(files)) {
      const h = have[file];
      let pos = typeof h === 'number' && Number.isSafeInteger(h) && h >= 0 ? h : 0;
      if (pos >= size) continue;
      const fd = openSync(join(dir, file), 'r');
      try {
        for (;;) {
          const r = readAppends(fd, file, 0, pos, size, (frame) => {
            this.#send(frame);
            return socket.writableLength < SEND_HIGH_WATER;
          });
          pos = r.reached;
          if (r.end !== 'paused') break;
          await new Promise<void>((resolve) => {
            socket.once('drain', resolve);
            socket.once('close', resolve);
          });
          if (this.#closed) return;
        }
      } finally {
        closeSync(fd);
      }
    }
    this.#send(encodeMeta(0, meta ?? {}));
    this.#send(encodeSeq(T_COMMIT, 0));
  }

  /** One fsync of the mirror per turn, however many COMMITs came in it. */
  #scheduleCommit(): void {
    if (this.#commitScheduled) return;
    this.#commitScheduled = true;
    setImmediate(() => {
      this.#commitScheduled = false;
      if (this.#closed || this.mirror === null) return;
      const seq = this.#commitSeq;
      try {
        this.mirror.commit(seq);
      } catch (err) {
        this.#host.logger.error(`REPLICATION: mirror of ${this.origin}: commit failed: ${(err as Error).message}`);
        this.#send(encodeError('E_REPL_DISK', (err as Error).message));
        this.close();
        return;
      }
      this.#send(encodeSeq(T_CONFIRM, seq));
    });
  }

  /** Sends a frame to the origin (a takeover record, say). */
  send(frame: Buffer): void {
    this.#send(frame);
  }

  #send(frame: Buffer): void {
    if (this.#closed) return;
    this.#lastSent = Date.now();
    this.#socket.write(frame);
  }

  #refuse(err: ReplicationProtocolError): void {
    this.#host.logger.error(`REPLICATION: origin ${this.origin}: ${err.message}; link closed`);
    this.#send(encodeError(err.code, err.message));
    this.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#ping);
    this.#decoder.stop();
    this.mirror?.close();
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), 1000).unref();
    this.#host.closed(this);
  }
}

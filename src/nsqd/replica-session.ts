// The replica's end of a replication link (docs/replication.md, "Running"): frames from one origin
// applied to its mirror, COMMITs made durable once per turn and confirmed. Anything wrong in what the
// origin sends ends the session with an ERROR frame; nothing of a bad frame is applied.

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
  frameTypeName,
  type ReplFrame,
} from '../protocol/replication.js';
import { ReplicaMirror } from './replica-mirror.js';
import { pingInterval } from './replica-link.js';

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
}

export class ReplicaSession {
  readonly #socket: Duplex;
  readonly #host: SessionHost;
  readonly #decoder: ReplFrameDecoder;
  hello: Hello | null = null;
  mirror: ReplicaMirror | null = null;
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
      if (m === null) throw new ReplicationProtocolError(E_REPL_PAYLOAD, `${frameTypeName(f.type)} before HELLO`);
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
    const name = j['name'];
    const inc = j['incarnation'];
    const replicas = j['replicas'];
    if (j['version'] !== 1) throw new ReplicationProtocolError(E_REPL_PAYLOAD, `replication version ${JSON.stringify(j['version'])} is not 1`);
    if (typeof name !== 'string' || name.length === 0 || name.length > 255) throw new ReplicationProtocolError(E_REPL_PAYLOAD, 'HELLO without a name');
    if (typeof inc !== 'string' || !/^[0-9a-f]{1,32}$/.test(inc)) throw new ReplicationProtocolError(E_REPL_PAYLOAD, 'HELLO without an incarnation');
    if (!Array.isArray(replicas) || !replicas.every((r) => typeof r === 'string')) throw new ReplicationProtocolError(E_REPL_PAYLOAD, 'HELLO without its replica list');
    if (name === this.#host.selfName) throw new ReplicationProtocolError(E_REPL_PAYLOAD, `origin ${name} is this node: a node cannot be its own replica`);
    const hello: Hello = { name, incarnation: inc, replicas: replicas as string[], restore: j['restore'] === true };
    this.hello = hello;
    this.#host.opened(this, hello);
    this.mirror = new ReplicaMirror(this.#host.root, name, inc);
    this.mirror.touch(Date.now());
    this.#send(
      encodeJson(T_STATE, {
        incarnation: inc,
        files: this.mirror.files(),
        confirmed: this.mirror.state.confirmed,
        taken_over: this.#host.takenOver(hello),
      }),
    );
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

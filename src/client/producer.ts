// A producer for one nsqd: PUB/MPUB/DPUB with pipelining and automatic batching (messages for one
// topic published in the same event-loop turn go out as one MPUB), reconnecting on the next
// publish after the connection is lost, and a clean close that waits for every acknowledgement.
// Publishing never blocks: a caller with much to send keeps memory bounded by waiting for
// whenWritable() whenever `writable` is false (a slow or stopped nsqd).

import { Connection, NsqError, WRITE_HIGH_WATER, type ConnectionConfig } from './connection.js';
import { encodeMpub, encodePub } from '../protocol/encoders.js';
import { parseHostPort, type HostPort } from '../util/host-port.js';
import { E_BAD_ADDRESS, E_CLOSED } from '../protocol/errors.js';

export interface ProducerOptions extends Omit<ConnectionConfig, 'host' | 'port'> {
  /** most messages in one MPUB (default 200) */
  maxBatch?: number;
  /** most body bytes in one MPUB (default 1 MiB, well under nsqd's 5 MiB max-body-size) */
  maxBatchBytes?: number;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

interface Batch {
  topic: string;
  bodies: Buffer[];
  bytes: number;
  waiters: Waiter[];
}

export class Producer {
  readonly host: string;
  readonly port: number;
  #opts: ProducerOptions;
  #conn: Connection | null = null;
  #connecting: Promise<Connection> | null = null;
  #batches = new Map<string, Batch>();
  /** body bytes in #batches */
  #batchBytes = 0;
  #flushScheduled = false;
  #outstanding = 0;
  #idle: (() => void)[] = [];
  #closed = false;

  constructor(address: string, opts: ProducerOptions = {}) {
    const { host, port } = parseAddress(address);
    this.host = host;
    this.port = port;
    this.#opts = opts;
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** Connects now (publishing connects on demand too); rejects with a clear error. */
  async connect(): Promise<void> {
    await this.#connection();
  }

  #connection(): Promise<Connection> {
    if (this.#conn !== null && !this.#conn.isClosed) return Promise.resolve(this.#conn);
    if (this.#connecting === null) {
      this.#connecting = Connection.open({ ...this.#opts, host: this.host, port: this.port }).then(
        (conn) => {
          this.#conn = conn;
          this.#connecting = null;
          return conn;
        },
        (err: unknown) => {
          this.#connecting = null;
          throw err;
        },
      );
    }
    return this.#connecting;
  }

  /** Publishes one message; resolves when nsqd has acknowledged it (possibly as part of an MPUB). */
  publish(topic: string, body: Buffer | string): Promise<void> {
    if (this.#closed) return Promise.reject(new NsqError(E_CLOSED, 'producer is closed'));
    const b = typeof body === 'string' ? Buffer.from(body) : body;
    const maxBatch = this.#opts.maxBatch ?? 200;
    const maxBytes = this.#opts.maxBatchBytes ?? 1024 * 1024;
    let batch = this.#batches.get(topic);
    if (batch !== undefined && (batch.bodies.length >= maxBatch || batch.bytes + b.length > maxBytes)) {
      this.#send(batch);
      batch = undefined;
    }
    if (batch === undefined) {
      batch = { topic, bodies: [], bytes: 0, waiters: [] };
      this.#batches.set(topic, batch);
    }
    batch.bodies.push(b);
    batch.bytes += b.length;
    this.#batchBytes += b.length;
    this.#schedule();
    return new Promise((resolve, reject) => batch!.waiters.push({ resolve, reject }));
  }

  /** Publishes a batch as one MPUB, exactly as given (atomic: all or none). */
  mpublish(topic: string, bodies: readonly (Buffer | string)[]): Promise<void> {
    if (this.#closed) return Promise.reject(new NsqError(E_CLOSED, 'producer is closed'));
    return this.#track((conn) => conn.mpublish(topic, bodies));
  }

  /** DPUB: the message is delivered after `deferMs`. */
  deferredPublish(topic: string, body: Buffer | string, deferMs: number): Promise<void> {
    if (this.#closed) return Promise.reject(new NsqError(E_CLOSED, 'producer is closed'));
    return this.#track((conn) => conn.dpublish(topic, body, deferMs));
  }

  #schedule(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      for (const batch of this.#batches.values()) this.#send(batch);
    });
  }

  #send(batch: Batch): void {
    this.#batches.delete(batch.topic);
    this.#batchBytes -= batch.bytes;
    const cmd = batch.bodies.length === 1 ? encodePub(batch.topic, batch.bodies[0]!) : encodeMpub(batch.topic, batch.bodies);
    this.#track((conn) => conn.publishRaw(cmd)).then(
      () => {
        for (const w of batch.waiters) w.resolve();
      },
      (err: Error) => {
        for (const w of batch.waiters) w.reject(err);
      },
    );
  }

  #track(op: (conn: Connection) => Promise<void>): Promise<void> {
    this.#outstanding++;
    const done = (): void => {
      if (--this.#outstanding === 0) for (const f of this.#idle.splice(0)) f();
    };
    // connected: the command is in the connection's buffer now, where bufferedBytes counts it
    const conn = this.#conn !== null && !this.#conn.isClosed ? this.#conn : null;
    return (conn !== null ? op(conn) : this.#connection().then(op)).then(
        () => done(),
        (err: unknown) => {
          done();
          throw err;
        },
      );
  }

  /** Bytes published and not yet taken by the kernel: this turn's batches and the connection's buffers. */
  get bufferedBytes(): number {
    return this.#batchBytes + (this.#conn?.bufferedBytes ?? 0);
  }

  /** False from WRITE_HIGH_WATER buffered bytes on: publish more once whenWritable() resolves. */
  get writable(): boolean {
    return this.#closed || this.bufferedBytes < WRITE_HIGH_WATER;
  }

  /** Resolves once `writable`, or once publishing would fail at once (closed, connection lost). */
  async whenWritable(): Promise<void> {
    while (!this.writable) {
      if (this.#connecting !== null) {
        await this.#connecting.catch(() => {});
        continue;
      }
      // this turn's batches go to the connection now, where the wait is
      for (const batch of [...this.#batches.values()]) this.#send(batch);
      const conn = this.#conn;
      if (conn === null || conn.isClosed) return;
      await conn.whenWritable();
    }
  }

  /** Resolves once every publish so far has been answered. */
  flush(): Promise<void> {
    if (this.#batches.size > 0) for (const batch of [...this.#batches.values()]) this.#send(batch);
    if (this.#outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Waits for outstanding acknowledgements, then closes the connection. */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    this.#conn?.close();
    if (this.#conn !== null) await this.#conn.closed;
  }
}

/** "host:port", "[::1]:port" or ":port" (meaning 127.0.0.1). */
export function parseAddress(address: string, defaultPort = 4150): HostPort {
  const a = parseHostPort(address, defaultPort);
  if (a === null || a.port === 0) throw new NsqError(E_BAD_ADDRESS, `invalid address "${address}": want host:port`);
  return { host: a.host === '' ? '127.0.0.1' : a.host, port: a.port };
}

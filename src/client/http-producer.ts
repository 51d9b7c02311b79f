// A producer for one nsqd over its HTTP API: messages published in the same event-loop turn go
// out as one binary /mpub, DPUB as /pub?defer=, one request in flight at a time (so in order).

import { NsqError } from './connection.js';
import { fetchWithin } from './http.js';
import { parseAddress } from './producer.js';
import { encodeMpubBody } from '../protocol/mpub.js';
import { E_HTTP, E_AUTH_REQUIRED } from '../protocol/errors.js';

export interface HttpProducerOptions {
  userAgent: string;
  /** sent as the bearer, for nodes started with --auth-http-api ('' : none) */
  authSecret?: string;
  /** most messages in one /mpub request */
  maxBatch?: number;
  /** most body bytes in one /mpub request */
  maxBatchBytes?: number;
  /** /ping and /config at connect() */
  connectTimeoutMs?: number;
  /** one /pub or /mpub (an unanswered one is not acknowledged) */
  publishTimeoutMs?: number;
}

const DEFAULTS = {
  maxBatch: 1000,
  maxBatchBytes: 1024 * 1024,
  connectTimeoutMs: 5_000,
  publishTimeoutMs: 30_000,
};

/** nsqd answered a /pub or /mpub with something other than 200: its code (MSG_TOO_BIG ...) and what was sent. */
export class HttpRejection extends Error {
  readonly status: number;
  readonly code: string;
  /** how many messages the request carried */
  readonly count: number;
  /** whether one of them was empty */
  readonly hadEmpty: boolean;
  constructor(status: number, code: string, address: string, bodies: Buffer[]) {
    super(`${address} answered ${status} ${code}`);
    this.name = 'HttpRejection';
    this.status = status;
    this.code = code;
    this.count = bodies.length;
    this.hadEmpty = bodies.some((b) => b.length === 0);
  }
}

interface Queued {
  topic: string;
  body: Buffer;
  deferMs: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class HttpProducer {
  /** host:port */
  readonly address: string;
  /** the server's --max-msg-size, once connect() has read it (Infinity when unknown) */
  maxMsgSize = Infinity;
  /** the server's --max-req-timeout in ms (the longest defer it takes), once connect() has read it */
  maxReqTimeoutMs = Infinity;
  /** one message per request: set by a caller that must find which message of a refused batch was too big */
  oneAtATime = false;
  readonly #base: string;
  readonly #opts: Required<HttpProducerOptions>;
  #queue: Queued[] = [];
  #busy = false;
  #scheduled = false;

  /** `address` is host:port, optionally with http:// or https:// in front (port 4151 by default). */
  constructor(address: string, opts: HttpProducerOptions) {
    const scheme = address.startsWith('https://') ? 'https' : 'http';
    const { host, port } = parseAddress(address.replace(/^https?:\/\//, '').replace(/\/$/, ''), 4151);
    this.address = `${host}:${port}`;
    this.#base = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
    this.#opts = { authSecret: '', ...DEFAULTS, ...opts };
  }

  /** Checks the address is an nsqd (/ping) and reads the limits it reports at /config/<name>. */
  async connect(): Promise<void> {
    const ping = await this.#fetch('/ping', { method: 'GET' }, this.#opts.connectTimeoutMs);
    if (ping.status !== 200) throw new NsqError(E_HTTP, `${this.address} is not an nsqd HTTP address: /ping answered ${ping.status}`);
    // with the limits known, big records and long defers are not sent only to be refused
    this.maxMsgSize = await this.#configNumber('max_msg_size', Infinity);
    // a duration: nanoseconds, as Go's JSON for time.Duration
    this.maxReqTimeoutMs = (await this.#configNumber('max_req_timeout', Infinity)) / 1e6;
  }

  async #configNumber(name: string, otherwise: number): Promise<number> {
    try {
      const res = await this.#fetch(`/config/${name}`, { method: 'GET' }, this.#opts.connectTimeoutMs);
      const n = res.status === 200 ? Number(res.text) : NaN;
      return Number.isInteger(n) && n > 0 ? n : otherwise;
    } catch {
      // an older server: the limit is learned from refusals instead
      return otherwise;
    }
  }

  /** Resolves when nsqd has acknowledged the message (possibly as part of an /mpub). */
  publish(topic: string, body: Buffer): Promise<void> {
    return this.#enqueue(topic, body, 0);
  }

  /** /pub?defer=: the message is delivered after `deferMs`. */
  deferredPublish(topic: string, body: Buffer, deferMs: number): Promise<void> {
    return this.#enqueue(topic, body, deferMs);
  }

  #enqueue(topic: string, body: Buffer, deferMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ topic, body, deferMs, resolve, reject });
      if (!this.#scheduled && !this.#busy) {
        this.#scheduled = true;
        setImmediate(this.#pump);
      }
    });
  }

  #pump = (): void => {
    this.#scheduled = false;
    if (this.#busy || this.#queue.length === 0) return;
    const first = this.#queue[0]!;
    const one = first.deferMs > 0 || this.oneAtATime;
    let n = 0;
    let bytes = 0;
    while (n < this.#queue.length && n < (one ? 1 : this.#opts.maxBatch)) {
      const q = this.#queue[n]!;
      if (n > 0 && (q.topic !== first.topic || q.deferMs > 0 || bytes + q.body.length > this.#opts.maxBatchBytes)) break;
      bytes += q.body.length;
      n++;
    }
    const batch = this.#queue.splice(0, n);
    this.#busy = true;
    this.#post(first.topic, first.deferMs, batch.map((q) => q.body))
      .then(
        () => {
          for (const q of batch) q.resolve();
        },
        (err: Error) => {
          for (const q of batch) q.reject(err);
        },
      )
      .finally(() => {
        this.#busy = false;
        this.#pump();
      });
  };

  async #post(topicName: string, deferMs: number, bodies: Buffer[]): Promise<void> {
    const topic = encodeURIComponent(topicName);
    let path: string;
    let body: Buffer;
    if (bodies.length === 1) {
      path = deferMs > 0 ? `/pub?topic=${topic}&defer=${deferMs}` : `/pub?topic=${topic}`;
      body = bodies[0]!;
    } else {
      // binary /mpub is the MPUB body: [count]([size][bytes])*, so bodies may hold newlines
      path = `/mpub?topic=${topic}&binary=true`;
      body = encodeMpubBody(bodies);
    }
    const res = await this.#fetch(path, { method: 'POST', body }, this.#opts.publishTimeoutMs);
    const text = res.text;
    if (res.status === 200) return;
    if (res.status === 401 && this.#opts.authSecret === '') throw new NsqError(E_AUTH_REQUIRED, `nsqd ${this.address} requires authorization (HTTP 401) and no auth secret was given`);
    let code = text.trim();
    try {
      code = String((JSON.parse(text) as { message?: unknown }).message ?? code);
    } catch {
      // a plain-text answer
    }
    throw new HttpRejection(res.status, code, this.address, bodies);
  }

  #fetch(path: string, init: RequestInit, timeoutMs: number): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = { 'User-Agent': this.#opts.userAgent };
    if (this.#opts.authSecret !== '') headers['Authorization'] = `Bearer ${this.#opts.authSecret}`;
    return fetchWithin(this.#base + path, { ...init, headers }, timeoutMs, this.address);
  }

  async close(): Promise<void> {
    // nothing is held open beyond fetch's keep-alive pool, which does not keep the process alive
  }
}

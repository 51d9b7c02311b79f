// Where `nsq pub` sends records: one nsqd over TCP (the Producer, MPUB batching) or HTTP (the
// HttpProducer), each able to say what a failed publish means for the record.

import type { TransportOptions } from '../../client/connection.js';
import { badMessage, deferLimit, E_CLOSED, E_CONNECT, NsqError } from '../../protocol/errors.js';
import { HttpProducer, HttpRejection } from '../../client/http-producer.js';
import { Producer } from '../../client/producer.js';

const DEFAULTS = {
  /** most messages in one MPUB (TCP) or one /mpub request (HTTP) */
  maxBatch: 1000,
  /** most body bytes in one batch: well under nsqd's default 5 MiB --max-body-size */
  maxBatchBytes: 1024 * 1024,
  /** --http: /ping and /config at the start; one /pub or /mpub (an unanswered one is not acknowledged) */
  httpConnectTimeoutMs: 5_000,
  httpPublishTimeoutMs: 30_000,
};

export interface DestinationOptions {
  topic: string;
  /** DPUB delay in ms; 0 publishes normally */
  deferMs: number;
  userAgent: string;
  /** TLS and compression of the TCP connections */
  transport: TransportOptions;
  /** AUTH secret for nodes that require it ('' : none) */
  authSecret: string;
}

/**
 * How a failed publish is handled: the server's size limit, its refusal of empty bodies, a try
 * again at once, the connection lost or refused (`resend`: the publish was cut off with its
 * connection, so sending it again at once may well work), or the end.
 */
export type Failure =
  | { kind: 'too-big'; limit: number | null }
  | { kind: 'empty' }
  | { kind: 'retry' }
  | { kind: 'lost'; resend: boolean }
  /** the defer is longer than the server's --max-req-timeout (ms, when it says) */
  | { kind: 'defer-too-long'; limit: number | null }
  | { kind: 'fatal' };

export interface Destination {
  readonly address: string;
  /** the server's max message size: known once the server has told us (Infinity until then) */
  maxMsgSize: number;
  /** the server refused an empty message once: the next ones are not sent */
  rejectsEmpty: boolean;
  /** the longest defer the server takes (its --max-req-timeout, ms), when it says before the first publish */
  readonly maxDeferMs: number;
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

/** a publish cut off with its connection (commands queued behind a fatal error were never executed either) */
const RETRY_CODES = new Set([E_CLOSED, 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);
/** the server is not there (now): worth trying again later, with --retry */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ETIMEDOUT', E_CONNECT, 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'EAI_AGAIN']);

/** A lost or refused connection, or null for any other error. */
function connectionFailure(err: unknown): Failure | null {
  if (!(err instanceof NsqError)) return null;
  if (RETRY_CODES.has(err.code)) return { kind: 'lost', resend: true };
  if (UNREACHABLE_CODES.has(err.code)) return { kind: 'lost', resend: false };
  return null;
}

/** What a lost connection's error says, briefly: "ECONNRESET", "connection refused", "connection closed". */
export function lossReason(err: unknown): string {
  if (!(err instanceof NsqError)) return String(err instanceof Error ? err.message : err);
  if (err.code === 'ECONNREFUSED') return 'connection refused';
  if (err.code === E_CLOSED) {
    const after = /closed after: (?:read |write )?(\S+)/.exec(err.message);
    return after !== null ? after[1]! : 'connection closed';
  }
  return err.code;
}

export class TcpDestination implements Destination {
  readonly address: string;
  maxMsgSize = Infinity;
  rejectsEmpty = false;
  /** IDENTIFY does not tell it (nsqd answers max_msg_timeout, not max_req_timeout): DPUB's refusal does */
  readonly maxDeferMs = Infinity;
  dead: Error | null = null;
  readonly #producer: Producer;
  readonly #topic: string;
  readonly #deferMs: number;

  constructor(address: string, o: DestinationOptions) {
    this.#producer = new Producer(address, { ...o.transport, userAgent: o.userAgent, authSecret: o.authSecret, maxBatch: DEFAULTS.maxBatch, maxBatchBytes: DEFAULTS.maxBatchBytes });
    this.address = this.#producer.address;
    this.#topic = o.topic;
    this.#deferMs = o.deferMs;
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
    const deferMax = deferLimit(err);
    if (deferMax !== null) return { kind: 'defer-too-long', limit: deferMax };
    // the producer reconnects on the next publish
    return connectionFailure(err) ?? { kind: 'fatal' };
  }

  close(): Promise<void> {
    return this.#producer.close();
  }
}

/** nsqd's HTTP API through the HttpProducer. */
export class HttpDestination implements Destination {
  readonly address: string;
  maxMsgSize = Infinity;
  rejectsEmpty = false;
  maxDeferMs = Infinity;
  dead: Error | null = null;
  /** requests take one body at a time from the queue, which the unacknowledged limit bounds */
  readonly writable = true;
  readonly #producer: HttpProducer;
  readonly #topic: string;
  readonly #deferMs: number;

  constructor(address: string, o: DestinationOptions) {
    this.#producer = new HttpProducer(address, {
      userAgent: o.userAgent,
      authSecret: o.authSecret,
      maxBatch: DEFAULTS.maxBatch,
      maxBatchBytes: DEFAULTS.maxBatchBytes,
      connectTimeoutMs: DEFAULTS.httpConnectTimeoutMs,
      publishTimeoutMs: DEFAULTS.httpPublishTimeoutMs,
    });
    this.address = this.#producer.address;
    this.#topic = o.topic;
    this.#deferMs = o.deferMs;
  }

  whenWritable(): Promise<void> {
    return Promise.resolve();
  }

  async connect(): Promise<void> {
    await this.#producer.connect();
    this.maxMsgSize = this.#producer.maxMsgSize;
    this.maxDeferMs = this.#producer.maxReqTimeoutMs;
  }

  send(body: Buffer): Promise<void> {
    return this.#deferMs > 0 ? this.#producer.deferredPublish(this.#topic, body, this.#deferMs) : this.#producer.publish(this.#topic, body);
  }

  classify(err: unknown): Failure {
    if (err instanceof HttpRejection) {
      if (err.code === 'MSG_EMPTY') return { kind: 'empty' };
      if (err.code === 'INVALID_DEFER') return { kind: 'defer-too-long', limit: this.maxDeferMs === Infinity ? null : this.maxDeferMs };
      if (err.code === 'MSG_TOO_BIG' || err.code === 'BAD_MESSAGE') {
        // a binary /mpub says BAD_MESSAGE for an empty or a too-big message alike
        if (err.hadEmpty) return { kind: 'empty' };
        if (this.maxMsgSize !== Infinity) return { kind: 'too-big', limit: this.maxMsgSize };
        if (err.count > 1) {
          // the limit is unknown: find the culprit one by one
          this.#producer.oneAtATime = true;
          return { kind: 'retry' };
        }
        return { kind: 'too-big', limit: null };
      }
      return { kind: 'fatal' };
    }
    return connectionFailure(err) ?? { kind: 'fatal' };
  }

  close(): Promise<void> {
    return this.#producer.close();
  }
}

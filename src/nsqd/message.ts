// One message once it is delivered (in flight or deferred): queued messages live packed in typed
// arrays (message-queue.ts) and become a Message only when sent. The body is a range of a body-store
// slab (or of a buffer of its own for big bodies); each channel gets its own Message (attempts,
// deadline, owner) sharing the same body bytes.

import type { Client } from './client.js';

export const MSG_QUEUED = 0;
export const MSG_IN_FLIGHT = 1;
export const MSG_DEFERRED = 2;
export const MSG_DONE = 3;

/** Placeholder deadline; a double so V8 keeps the field unboxed-double from the start. */
export const NO_DEADLINE = -0.5;

export class Message {
  id: number;
  /** publish time, nanoseconds since the epoch (as a double: exact to ~256 ns) */
  timestamp: number;
  attempts: number;
  body: Buffer;
  bodyStart: number;
  bodyLength: number;
  /** monotonic ms (performance.now()) when this delivery or deferral ends */
  deadline: number;
  /** monotonic ms of the current delivery: TOUCH never extends past this + max-msg-timeout */
  deliveredAt: number;
  state: number;
  owner: Client | null;

  constructor(id: number, timestamp: number, body: Buffer, bodyStart: number, bodyLength: number) {
    this.id = id;
    this.timestamp = timestamp;
    this.attempts = 0;
    this.body = body;
    this.bodyStart = bodyStart;
    this.bodyLength = bodyLength;
    this.deadline = NO_DEADLINE;
    this.deliveredAt = NO_DEADLINE;
    this.state = MSG_QUEUED;
    this.owner = null;
  }

  /** A fresh copy for another channel: same id, timestamp and body bytes. */
  copy(): Message {
    return new Message(this.id, this.timestamp, this.body, this.bodyStart, this.bodyLength);
  }

  bodyBuffer(): Buffer {
    return this.body.subarray(this.bodyStart, this.bodyStart + this.bodyLength);
  }
}

/** the epoch ms of performance.now()'s zero (a getter call each time it is read) */
const TIME_ORIGIN = performance.timeOrigin;

/** Nanoseconds since the epoch as a double. */
export function nowNanos(): number {
  return (TIME_ORIGIN + performance.now()) * 1e6;
}

/** Nanoseconds since the epoch, as a double, of a performance.now() reading taken earlier. */
export function nanosAt(monotonicMs: number): number {
  return (TIME_ORIGIN + monotonicMs) * 1e6;
}

// nsqadmin's notifications: every admin action POSTed as JSON to --notification-http-endpoint.
// Sent one at a time in the background from a bounded queue, so an action never waits for the
// endpoint; when the endpoint falls behind by QUEUE_LIMIT actions, the oldest waiting one is dropped
// and a warning logged (docs/admin.md).

import { fetchWithin } from '../client/http.js';

/** nsqadmin's AdminAction (nsqadmin/notify.go), field for field. */
export interface AdminActionNotice {
  action: string;
  topic: string;
  channel?: string;
  node?: string;
  /** seconds since the epoch */
  timestamp: number;
  /** the basic-auth user of the request, when it had one */
  user?: string;
  remote_ip: string;
  user_agent: string;
  /** the URL of the request that acted */
  url: string;
  /** the hostname of the admin server that acted */
  via: string;
}

export const QUEUE_LIMIT = 100;

export class Notifier {
  readonly #endpoint: string;
  readonly #timeoutMs: number;
  readonly #warn: (line: string) => void;
  #queue: AdminActionNotice[] = [];
  #sending = false;
  #idle: (() => void)[] = [];

  constructor(endpoint: string, timeoutMs: number, warn: (line: string) => void) {
    this.#endpoint = endpoint;
    this.#timeoutMs = timeoutMs;
    this.#warn = warn;
  }

  notify(n: AdminActionNotice): void {
    if (this.#queue.length >= QUEUE_LIMIT) {
      const dropped = this.#queue.shift()!;
      this.#warn(`notification endpoint ${this.#endpoint} is behind by ${QUEUE_LIMIT} actions: dropped the notice of ${dropped.action} ${dropped.topic}`);
    }
    this.#queue.push(n);
    if (!this.#sending) void this.#drain();
  }

  /** Resolves once every queued notice was sent (or failed): for shutdown and tests. */
  flushed(): Promise<void> {
    if (!this.#sending && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async #drain(): Promise<void> {
    this.#sending = true;
    while (this.#queue.length > 0) {
      const n = this.#queue.shift()!;
      try {
        const { status } = await fetchWithin(this.#endpoint, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(n) }, this.#timeoutMs, this.#endpoint);
        if (status < 200 || status >= 300) this.#warn(`notification endpoint ${this.#endpoint} answered ${status} to ${n.action} ${n.topic}`);
      } catch (err) {
        this.#warn(`notification of ${n.action} ${n.topic} not sent: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    this.#sending = false;
    for (const resolve of this.#idle.splice(0)) resolve();
  }
}

/** The basic-auth user of an Authorization header, as nsqadmin reports it ('' without one). */
export function basicAuthUser(authorization: string | undefined): string {
  const m = /^Basic (.+)$/.exec(authorization ?? '');
  if (m === null) return '';
  const pair = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = pair.indexOf(':');
  return colon < 0 ? '' : pair.slice(0, colon);
}

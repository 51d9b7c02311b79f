// nsq to-http's options: what the command line is turned into, and the defaults of nsq_to_http 1.3.

import type { Mode } from '../relay/host-pool.js';
import type { ConsumerTuning, RelaySource } from '../relay/run.js';

export type ToHttpMode = Mode | 'multicast';

export interface ToHttpOptions extends RelaySource {
  topic: string;
  method: 'GET' | 'POST';
  /** POST: the URLs; GET: URL templates with one `%s`, replaced by the query-escaped body */
  urls: string[];
  /** every request's headers: User-Agent, Content-Type (POST), --header */
  headers: Record<string, string>;
  /** round-robin or hostpool: one endpoint per message; multicast: every endpoint */
  mode: ToHttpMode;
  /** requests at once (nsq_to_http's -n, its concurrent handlers) */
  concurrency: number;
  /** fraction of messages sent (0-1); the others are finished unsent */
  sample: number;
  connectTimeout: number;
  requestTimeout: number;
  /** requests between status lines (0: none) */
  statusEvery: number;
}

export const TO_HTTP_DEFAULTS = {
  channel: 'nsq_to_http',
  mode: 'hostpool' as ToHttpMode,
  concurrency: 100,
  maxInFlight: 200,
  sample: 1,
  connectTimeout: 2000,
  requestTimeout: 20_000,
  statusEvery: 250,
  contentType: 'application/octet-stream',
};

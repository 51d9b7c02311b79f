// The JSON of nsqd's GET /channel/peek and /topic/peek (docs/peek.md): written by the engine
// (src/nsqd/peek.ts), read by `nsq peek` and the tests.

export interface PeekMessageJson {
  /** 16 hex characters, as the TCP protocol sends it */
  id: string;
  /** publish time, ns since the epoch */
  timestamp: number;
  attempts: number;
  state: 'in_flight' | 'queued' | 'deferred';
  /** deferred: due time, epoch ms */
  due_at?: number;
  /** in_flight: the consumer (its IDENTIFY client_id) and its address, and when the message times out (epoch ms) */
  client_id?: string;
  client_address?: string;
  timeout_at?: number;
  /** base64 */
  body: string;
  /** the body, when it is valid UTF-8 */
  text?: string;
}

export interface PeekJson {
  topic: string;
  /** absent for a topic peek */
  channel?: string;
  depth: number;
  in_flight_count: number;
  deferred_count: number;
  count: number;
  messages: PeekMessageJson[];
}

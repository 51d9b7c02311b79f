// A consumer of one topic/channel across several nsqd nodes: max-in-flight spread over the
// connections as RDY, backoff when the handler fails, reconnection with backoff, and a clean
// stop (CLS, wait for in-flight messages, close).

import { Connection, NsqError, type ConnectionConfig, type Message } from './connection.js';
import { Discovery } from './discovery.js';
import { parseAddress } from './producer.js';
import { E_CLOSED, E_NO_NODES } from '../protocol/errors.js';

export type Handler = (msg: Message) => void | Promise<void>;

export interface ConsumerOptions extends Omit<ConnectionConfig, 'host' | 'port'> {
  topic: string;
  channel: string;
  /** nsqd TCP addresses (host:port) */
  nsqdTcpAddresses: string[];
  /** lookupd HTTP addresses: the topic's nodes are found (and followed) through them */
  lookupdHttpAddresses?: string[];
  /** how often lookupd is asked again (ms, default 60s, with jitter) */
  lookupdPollInterval?: number;
  /** messages in flight across all connections (default 1, as go-nsq) */
  maxInFlight?: number;
  /** finish messages after the handler returns, requeue when it throws (default true) */
  autoFinish?: boolean;
  /** give up on a message after this many attempts: it is finished and reported (0: never) */
  maxAttempts?: number;
  /** requeue delay for a failed message, multiplied by its attempts (ms, default 90s capped at 15m) */
  requeueDelay?: number;
  /** longest backoff pause after failures (ms, default 2 min); 0 disables backoff */
  maxBackoff?: number;
  /** first reconnect delay (ms, default 1s; doubles up to 60s) */
  reconnectDelay?: number;
}

export interface ConsumerEvents {
  /** a node could not be reached or was lost; the consumer keeps retrying */
  error?: (err: Error, address: string) => void;
  /** a message reached maxAttempts and was finished without handling */
  giveUp?: (msg: Message) => void;
  connected?: (address: string) => void;
  /**
   * a connection stops taking messages (the consumer stops, or its node was dropped): answer what
   * you hold now; the connection closes once everything it delivered is answered (or the stop's
   * timeout passes: the rest is requeued)
   */
  draining?: (address: string) => void;
  /** through lookupd, no node has the topic yet (or no lookupd answers): why; told once per reason, polling goes on */
  waiting?: (why: string) => void;
}

interface Node {
  address: string;
  host: string;
  port: number;
  conn: Connection | null;
  retryDelay: number;
  timer: NodeJS.Timeout | null;
}

export class Consumer {
  readonly topic: string;
  readonly channel: string;
  events: ConsumerEvents = {};
  received = 0;
  finished = 0;
  requeued = 0;

  #opts: ConsumerOptions;
  #handler: Handler;
  #nodes = new Map<string, Node>();
  #stopping = false;
  #backoffLevel = 0;
  #backoffTimer: NodeJS.Timeout | null = null;
  #inBackoff = false;
  #discovery: Discovery | null = null;
  /** connections being drained: stop() waits for all of them, removed nodes' too */
  #drains = new Set<Promise<void>>();

  constructor(opts: ConsumerOptions, handler: Handler) {
    this.topic = opts.topic;
    this.channel = opts.channel;
    this.#opts = opts;
    this.#handler = handler;
  }

  get maxInFlight(): number {
    return Math.max(1, this.#opts.maxInFlight ?? 1);
  }

  /** Connects to every node; resolves once at least one is subscribed (or all failed: rejects). */
  async start(): Promise<void> {
    const addrs = [...new Set(this.#opts.nsqdTcpAddresses)];
    const lookupds = this.#opts.lookupdHttpAddresses ?? [];
    if (lookupds.length > 0) {
      // nodes come and go as lookupd says; none yet is fine: they are picked up when they appear
      const d = new Discovery(lookupds, this.topic, this.#opts.lookupdPollInterval ?? 60_000);
      d.events = {
        added: (addr) => this.addNode(addr),
        removed: (addr) => this.removeNode(addr),
        error: (lookupd, err) => this.events.error?.(err, lookupd),
        waiting: (why) => this.events.waiting?.(why),
      };
      this.#discovery = d;
      for (const a of addrs) this.addNode(a);
      await d.start();
      return;
    }
    if (addrs.length === 0) throw new NsqError(E_NO_NODES, 'no nsqd address given');
    for (const a of addrs) {
      const { host, port } = parseAddress(a);
      this.#nodes.set(a, { address: a, host, port, conn: null, retryDelay: this.#opts.reconnectDelay ?? 1000, timer: null });
    }
    const results = await Promise.allSettled([...this.#nodes.values()].map((n) => this.#connect(n)));
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failures.length === results.length) {
      await this.stop();
      throw failures[0]!.reason;
    }
  }

  /** Adds a node while running (discovery). */
  addNode(address: string): void {
    if (this.#nodes.has(address) || this.#stopping) return;
    const { host, port } = parseAddress(address);
    const node: Node = { address, host, port, conn: null, retryDelay: this.#opts.reconnectDelay ?? 1000, timer: null };
    this.#nodes.set(address, node);
    this.#connect(node).catch(() => {});
  }

  /** Drops a node (discovery no longer lists it): stop consuming from it cleanly. */
  removeNode(address: string): void {
    const node = this.#nodes.get(address);
    if (node === undefined) return;
    this.#nodes.delete(address);
    if (node.timer) clearTimeout(node.timer);
    if (node.conn) this.#startDrain(node.conn, address, 5000);
    this.#updateRdy();
  }

  get connectionCount(): number {
    let n = 0;
    for (const node of this.#nodes.values()) if (node.conn !== null && !node.conn.isClosed) n++;
    return n;
  }

  async #connect(node: Node): Promise<void> {
    const o = this.#opts;
    let conn: Connection;
    try {
      conn = await Connection.open({ ...o, host: node.host, port: node.port });
      if (this.#stopping || !this.#nodes.has(node.address)) {
        conn.close();
        return;
      }
      conn.events = {
        message: (msg) => this.#onMessage(msg),
        warning: (err) => this.events.error?.(err, node.address),
        close: (err) => this.#onClose(node, conn, err),
      };
      await conn.subscribe(this.topic, this.channel);
      if (this.#stopping || !this.#nodes.has(node.address)) {
        // stopped (or dropped) while subscribing: stop() did not see this connection
        this.#startDrain(conn, node.address, 1000);
        return;
      }
    } catch (err) {
      this.events.error?.(err as Error, node.address);
      this.#scheduleReconnect(node);
      throw err;
    }
    node.conn = conn;
    node.retryDelay = o.reconnectDelay ?? 1000;
    this.events.connected?.(node.address);
    this.#updateRdy();
  }

  #scheduleReconnect(node: Node): void {
    if (this.#stopping || !this.#nodes.has(node.address) || node.timer !== null) return;
    const jitter = 0.8 + Math.random() * 0.4;
    node.timer = setTimeout(() => {
      node.timer = null;
      this.#connect(node).catch(() => {});
    }, node.retryDelay * jitter);
    node.retryDelay = Math.min(node.retryDelay * 2, 60_000);
  }

  #onClose(node: Node, conn: Connection, err: Error | null): void {
    if (node.conn === conn) node.conn = null;
    if (this.#stopping) return;
    this.events.error?.(err ?? new NsqError(E_CLOSED, `connection to ${node.address} closed`), node.address);
    this.#updateRdy();
    this.#scheduleReconnect(node);
  }

  /** RDY per connection: max-in-flight split evenly (at least 1), 0 while backing off. */
  #updateRdy(): void {
    const conns = [...this.#nodes.values()].map((n) => n.conn).filter((c): c is Connection => c !== null && !c.isClosed);
    if (conns.length === 0 || this.#stopping) return;
    if (this.#inBackoff) {
      for (const c of conns) c.ready(0);
      return;
    }
    const per = Math.max(1, Math.floor(this.maxInFlight / conns.length));
    for (const c of conns) c.ready(Math.min(per, c.identify?.max_rdy_count ?? 2500));
  }

  #onMessage(msg: Message): void {
    this.received++;
    const max = this.#opts.maxAttempts ?? 0;
    if (max > 0 && msg.attempts > max) {
      msg.finish();
      this.finished++;
      this.events.giveUp?.(msg);
      return;
    }
    const autoFinish = this.#opts.autoFinish ?? true;
    let result: void | Promise<void>;
    try {
      result = this.#handler(msg);
    } catch (err) {
      this.#failed(msg, autoFinish);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        () => this.#succeeded(msg, autoFinish),
        () => this.#failed(msg, autoFinish),
      );
    } else {
      this.#succeeded(msg, autoFinish);
    }
  }

  #succeeded(msg: Message, autoFinish: boolean): void {
    if (autoFinish && !msg.answered) {
      msg.finish();
      this.finished++;
    }
    if (this.#backoffLevel > 0) this.#adjustBackoff(-1);
  }

  #failed(msg: Message, autoFinish: boolean): void {
    if (autoFinish && !msg.answered) {
      const base = this.#opts.requeueDelay ?? 90_000;
      msg.requeue(Math.min(base * msg.attempts, 15 * 60_000));
      this.requeued++;
    }
    this.#adjustBackoff(+1);
  }

  #adjustBackoff(delta: number): void {
    const max = this.#opts.maxBackoff ?? 120_000;
    if (max <= 0) return;
    this.#backoffLevel = Math.max(0, Math.min(this.#backoffLevel + delta, 16));
    if (this.#backoffLevel === 0) {
      if (this.#inBackoff) {
        this.#inBackoff = false;
        this.#updateRdy();
      }
      return;
    }
    if (delta < 0) return;
    // pause everything, then probe with RDY 1 on one connection
    this.#inBackoff = true;
    this.#updateRdy();
    if (this.#backoffTimer) clearTimeout(this.#backoffTimer);
    const wait = Math.min(1000 * 2 ** (this.#backoffLevel - 1), max);
    this.#backoffTimer = setTimeout(() => {
      this.#backoffTimer = null;
      const probe = [...this.#nodes.values()].find((n) => n.conn !== null && !n.conn.isClosed)?.conn;
      probe?.ready(1);
    }, wait);
  }

  #startDrain(conn: Connection, address: string, timeoutMs: number): void {
    const p = this.#drain(conn, address, timeoutMs).finally(() => this.#drains.delete(p));
    this.#drains.add(p);
  }

  /**
   * RDY 0 first (nothing more is sent while CLS travels), CLS, then waits (bounded) for every
   * message delivered to be answered. What is still unanswered at the deadline is requeued before
   * the socket closes: Go nsqd would otherwise hold it in flight until its msg-timeout.
   */
  async #drain(conn: Connection, address: string, timeoutMs: number): Promise<void> {
    if (conn.isClosed) return;
    conn.ready(0);
    this.events.draining?.(address);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([conn.startClose(), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    } catch {
      // the connection is gone already
    } finally {
      clearTimeout(timer);
    }
    const deadline = Date.now() + timeoutMs;
    while (conn.inFlight > 0 && !conn.isClosed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (!conn.isClosed) conn.requeueHeld();
    conn.close();
    await conn.closed;
  }

  /** CLS on every connection, waits for in-flight messages to be answered, closes. */
  async stop(timeoutMs = 5000): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#discovery?.stop();
    if (this.#backoffTimer) clearTimeout(this.#backoffTimer);
    for (const node of this.#nodes.values()) {
      if (node.timer) clearTimeout(node.timer);
      if (node.conn) this.#startDrain(node.conn, node.address, timeoutMs);
    }
    // drains started meanwhile (a subscription completing during the stop) are waited for too
    while (this.#drains.size > 0) await Promise.all([...this.#drains]);
  }
}

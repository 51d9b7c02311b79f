// nsqd's side of discovery: one connection per --lookupd-tcp-address speaking lookupd protocol V1
// ("  V1", IDENTIFY with this node's addresses, REGISTER/UNREGISTER of every topic and channel,
// PING every 15 s), reconnecting with backoff and registering everything again after a reconnect.
// Responses are [4-byte size][data]; the peer only needs to know that commands were answered.

import { connect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { NSQ_VERSION } from '../protocol/constants.js';
import { encodeCommand, encodeIdentify } from '../protocol/encoders.js';
import { MAGIC_V1, V1ResponseDecoder } from '../protocol/lookup-v1.js';
import type { NSQD } from './nsqd.js';

const PING_INTERVAL = 15_000;
const MAX_BACKOFF = 15_000;
const PING = encodeCommand('PING');

const registration = (verb: 'REGISTER' | 'UNREGISTER', topic: string, channel?: string): Buffer => (channel === undefined ? encodeCommand(verb, topic) : encodeCommand(verb, topic, channel));

/** One lookupd: connected, identified and kept up to date, or retrying. */
class LookupPeer {
  readonly address: string;
  #nsqd: NSQD;
  #socket: Socket | null = null;
  #ready = false;
  #closed = false;
  #backoff = 250;
  #timer: NodeJS.Timeout | null = null;
  #ping: NodeJS.Timeout | null = null;
  #responses = this.#newDecoder();
  /** the lookupd's HTTP address, from its IDENTIFY answer */
  httpAddress: string | null = null;

  constructor(nsqd: NSQD, address: string) {
    this.#nsqd = nsqd;
    this.address = address;
    this.#connect();
  }

  get ready(): boolean {
    return this.#ready;
  }

  #connect(): void {
    if (this.#closed) return;
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(this.address);
    if (m === null) {
      this.#nsqd.logger.error(`LOOKUP(${this.address}): invalid address, want host:port`);
      return;
    }
    const socket = connect({ host: m[1] ?? m[2]!, port: Number(m[3]) });
    this.#socket = socket;
    // a fresh connection starts a fresh stream of answers
    this.#responses = this.#newDecoder();
    socket.setNoDelay(true);
    socket.on('connect', () => {
      this.#nsqd.logger.info(`LOOKUP(${this.address}): connected`);
      this.#backoff = 250;
      const tcp = this.#nsqd.tcpEndpoint.port;
      const http = this.#nsqd.httpEndpoint.port;
      const o = this.#nsqd.options;
      const out = [
        MAGIC_V1,
        encodeIdentify({
          broadcast_address: o.broadcastAddress,
          hostname: hostname(),
          tcp_port: o.broadcastTcpPort || tcp,
          http_port: o.broadcastHttpPort || http,
          version: NSQ_VERSION,
        }),
      ];
      // everything this node has, as nsqd sends it after (re)connecting
      for (const t of this.#nsqd.topics.values()) {
        if (t.channels.size === 0) out.push(registration('REGISTER', t.name));
        for (const c of t.channels.values()) out.push(registration('REGISTER', t.name, c.name));
      }
      socket.write(Buffer.concat(out));
      this.#ready = true;
      this.#ping = setInterval(() => this.send(PING), PING_INTERVAL);
      this.#ping.unref();
    });
    socket.on('data', (chunk: Buffer) => this.#responses.push(chunk));
    socket.on('error', (err) => this.#nsqd.logger.error(`LOOKUP(${this.address}): ${err.message}`));
    socket.on('close', () => {
      this.#ready = false;
      if (this.#ping) clearInterval(this.#ping);
      this.#ping = null;
      this.#socket = null;
      if (this.#closed) return;
      this.#timer = setTimeout(() => this.#connect(), this.#backoff);
      this.#timer.unref();
      this.#backoff = Math.min(this.#backoff * 2, MAX_BACKOFF);
    });
  }

  #newDecoder(): V1ResponseDecoder {
    return new V1ResponseDecoder((data) => this.#onResponse(data.toString('utf8')));
  }

  /** Errors are logged; IDENTIFY's answer says where the HTTP API is; the rest is only acknowledgement. */
  #onResponse(text: string): void {
    if (text.startsWith('E_')) this.#nsqd.logger.error(`LOOKUP(${this.address}): ${text}`);
    else if (text.startsWith('{')) this.#identified(text);
  }

  /** IDENTIFY's answer says where the lookupd's HTTP API is (its broadcast address, or the host we dialled). */
  #identified(json: string): void {
    try {
      const info = JSON.parse(json) as { http_port?: number; broadcast_address?: string };
      if (typeof info.http_port !== 'number') return;
      const host = this.address.slice(0, this.address.lastIndexOf(':'));
      this.httpAddress = `${host}:${info.http_port}`;
    } catch {
      // not the IDENTIFY answer
    }
  }

  send(command: Buffer): void {
    if (this.#ready && this.#socket !== null) this.#socket.write(command);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#ping) clearInterval(this.#ping);
    this.#socket?.destroy();
  }
}

/** All of this node's lookupd connections; follows topic/channel changes and config updates. */
export class Lookup {
  #nsqd: NSQD;
  #peers = new Map<string, LookupPeer>();

  constructor(nsqd: NSQD) {
    this.#nsqd = nsqd;
  }

  /** Connects to exactly these lookupds (new ones added, dropped ones closed). */
  setAddresses(addresses: readonly string[]): void {
    const want = new Set(addresses);
    for (const [a, p] of this.#peers) {
      if (!want.has(a)) {
        p.close();
        this.#peers.delete(a);
      }
    }
    for (const a of want) if (!this.#peers.has(a)) this.#peers.set(a, new LookupPeer(this.#nsqd, a));
  }

  #all(command: Buffer): void {
    for (const p of this.#peers.values()) p.send(command);
  }

  topicCreated(topic: string): void {
    this.#all(registration('REGISTER', topic));
  }

  /**
   * A new topic takes the channels lookupd knows for it (from other nodes), as nsqd does, so
   * consumers of those channels get messages published here too. Ephemeral channels are not copied.
   */
  /** true when a new topic asks some lookupd for its channels (an HTTP address is known) */
  get asksForChannels(): boolean {
    for (const p of this.#peers.values()) if (p.httpAddress !== null) return true;
    return false;
  }

  async channelsFor(topic: string): Promise<string[]> {
    const lookupds = [...this.#peers.values()].map((p) => p.httpAddress).filter((a): a is string => a !== null);
    if (lookupds.length === 0) return [];
    try {
      // the client's HTTP code, loaded only when a new topic asks lookupd for its channels
      const { askLookupds } = await import('../client/discovery.js');
      const channels = await askLookupds<string>(lookupds, `/channels?topic=${encodeURIComponent(topic)}`, (b) => b['channels'], 2000);
      return [...new Set(channels.filter((c) => !c.endsWith('#ephemeral')))];
    } catch (err) {
      this.#nsqd.logger.warn(`LOOKUP: channels of ${topic}: ${(err as Error).message}`);
      return [];
    }
  }


  topicDeleted(topic: string): void {
    this.#all(registration('UNREGISTER', topic));
  }

  channelCreated(topic: string, channel: string): void {
    this.#all(registration('REGISTER', topic, channel));
  }

  channelDeleted(topic: string, channel: string): void {
    this.#all(registration('UNREGISTER', topic, channel));
  }

  close(): void {
    for (const p of this.#peers.values()) p.close();
    this.#peers.clear();
  }
}

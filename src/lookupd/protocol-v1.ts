// nsqlookupd's TCP protocol V1, one instance per connection: the magic "  V1", then newline-terminated
// commands (PING, IDENTIFY + 4-byte size + JSON body, REGISTER, UNREGISTER) executed through one
// dispatch on the verb. Every answer is [4-byte size][data]; every error closes the connection, and a
// closed connection takes its peer's registrations with it.

import type { Socket } from 'node:net';
import { hostname } from 'node:os';
import { CommandDecoder, type CommandSink } from '../protocol/command-decoder.js';
import { NSQ_VERSION } from '../protocol/constants.js';
import { encodeV1Response, MAGIC_V1 } from '../protocol/lookup-v1.js';
import { E_BAD_BODY, E_BAD_CHANNEL, E_BAD_PROTOCOL, E_BAD_TOPIC, E_INVALID, fatal, ProtocolError } from '../protocol/errors.js';
import { isEphemeral, isValidChannelName, isValidTopicName } from '../protocol/names.js';
import { ANY, CATEGORY_CHANNEL, CATEGORY_CLIENT, CATEGORY_TOPIC, type PeerInfo } from './registration-db.js';
import type { NSQLookupd } from './lookupd.js';

/** An nsqd's IDENTIFY is a few hundred bytes; nsqlookupd has no limit, we refuse what cannot be one. */
export const MAX_IDENTIFY_BODY = 1024 * 1024;

/** Answers a peer has not read yet; past this it is cut off rather than buffered without limit. */
const MAX_PENDING_OUTPUT = 1024 * 1024;

const RESPONSE_OK = Buffer.from('OK');

// Go's strings.TrimSpace on a line of bytes (latin1 holds one byte per char)
const TRIM_RE = /^[\t\n\v\f\r ]+|[\t\n\v\f\r ]+$/g;

export class LookupProtocolV1 implements CommandSink {
  readonly #lookupd: NSQLookupd;
  readonly #socket: Socket;
  readonly #decoder: CommandDecoder;
  readonly #addr: string;
  #magic: Buffer | null = Buffer.alloc(0);
  #peer: PeerInfo | null = null;
  #closing = false;

  constructor(lookupd: NSQLookupd, socket: Socket) {
    this.#lookupd = lookupd;
    this.#socket = socket;
    this.#decoder = new CommandDecoder(this);
    const host = socket.remoteAddress ?? '';
    this.#addr = host.includes(':') ? `[${host}]:${socket.remotePort}` : `${host}:${socket.remotePort}`;
    lookupd.logger.info(`TCP: new client(${this.#addr})`);
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') lookupd.logger.error(`client(${this.#addr}) - ${err.message}`);
    });
    socket.on('close', () => this.#closed());
  }

  /** The peer's remote address, which is also its id in the registration database. */
  get address(): string {
    return this.#addr;
  }

  /** Server shutdown: stop reading and hang up. */
  close(): void {
    this.#closing = true;
    this.#decoder.stop();
    this.#socket.destroy();
  }

  #receive(chunk: Buffer): void {
    if (this.#closing) return;
    if (this.#magic !== null) {
      const have = Buffer.concat([this.#magic, chunk]);
      if (have.length < 4) {
        this.#magic = have;
        return;
      }
      this.#magic = null;
      const magic = have.toString('latin1', 0, 4);
      this.#lookupd.logger.info(`CLIENT(${this.#addr}): desired protocol magic '${magic}'`);
      if (!have.subarray(0, 4).equals(MAGIC_V1)) {
        this.#lookupd.logger.error(`client(${this.#addr}) bad protocol magic '${magic}'`);
        this.#hangUp(E_BAD_PROTOCOL);
        return;
      }
      if (have.length === 4) return;
      chunk = have.subarray(4);
    }
    this.#decoder.push(chunk);
  }

  #send(data: Buffer | string): void {
    if (this.#closing) return;
    this.#socket.write(encodeV1Response(data));
    if (this.#socket.writableLength > MAX_PENDING_OUTPUT) {
      this.#lookupd.logger.error(`client(${this.#addr}) - not reading its responses, closing`);
      this.close();
    }
  }

  /** Sends the error (or text) as the last answer and closes; nothing read after it is executed. */
  #hangUp(text: string): void {
    if (this.#closing) return;
    this.#decoder.stop();
    this.#socket.end(encodeV1Response(text));
    this.#closing = true;
  }

  #fail(err: ProtocolError): void {
    this.#lookupd.logger.error(`[${this.#addr}] - ${err.message}`);
    // every nsqlookupd client error is fatal
    this.#hangUp(err.frameText());
  }

  // ---- CommandSink ------------------------------------------------------------------------------

  onLine(buf: Buffer, start: number, end: number): boolean {
    const params = buf.toString('latin1', start, end).replace(TRIM_RE, '').split(' ');
    try {
      return this.#exec(params);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.#fail(err);
      return false;
    }
  }

  onBodySize(size: number): boolean {
    if (size < 0) this.#fail(fatal(E_BAD_BODY, `IDENTIFY invalid body size ${size}`));
    else if (size > MAX_IDENTIFY_BODY) this.#fail(fatal(E_BAD_BODY, `IDENTIFY body too big ${size} > ${MAX_IDENTIFY_BODY}`));
    else return true;
    return false;
  }

  onBody(buf: Buffer, start: number, end: number): void {
    try {
      this.#identify(buf.toString('utf8', start, end));
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.#fail(err);
    }
  }

  onDecodeError(err: ProtocolError): void {
    this.#fail(err);
  }

  // ---- commands ---------------------------------------------------------------------------------

  /** Runs one command line; true when an IDENTIFY body follows. */
  #exec(params: string[]): boolean {
    const verb = params[0]!;
    switch (verb) {
      case 'PING':
        this.#ping();
        return false;
      case 'IDENTIFY':
        if (this.#peer !== null) throw fatal(E_INVALID, 'cannot IDENTIFY again');
        return true;
      case 'REGISTER':
        this.#register(params.slice(1));
        return false;
      case 'UNREGISTER':
        this.#unregister(params.slice(1));
        return false;
    }
    throw fatal(E_INVALID, `invalid command ${verb}`);
  }

  #ping(): void {
    if (this.#peer !== null) {
      // a PING may come before IDENTIFY; only an identified peer has a last update to refresh
      const now = Date.now();
      this.#lookupd.logger.debug(`CLIENT(${this.#peer.id}): pinged (last ping ${now - this.#peer.lastUpdate}ms)`);
      this.#peer.lastUpdate = now;
    }
    this.#send(RESPONSE_OK);
  }

  #identify(text: string): void {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw fatal(E_BAD_BODY, 'IDENTIFY failed to decode JSON body');
    }
    const peer = decodePeerInfo(body, this.#addr);
    if (peer === null) throw fatal(E_BAD_BODY, 'IDENTIFY failed to decode JSON body');
    if (peer.broadcastAddress === '' || peer.tcpPort === 0 || peer.httpPort === 0 || peer.version === '') {
      throw fatal(E_BAD_BODY, 'IDENTIFY missing fields');
    }
    const log = this.#lookupd.logger;
    log.info(`CLIENT(${this.#addr}): IDENTIFY Address:${peer.broadcastAddress} TCP:${peer.tcpPort} HTTP:${peer.httpPort} Version:${peer.version}`);
    this.#peer = peer;
    if (this.#lookupd.db.addProducer(CATEGORY_CLIENT, '', '', peer)) log.info(`DB: client(${this.#addr}) REGISTER category:client key: subkey:`);
    const o = this.#lookupd.options;
    // the keys in the order Go marshals a map: sorted
    this.#send(
      JSON.stringify({
        broadcast_address: o.broadcastAddress,
        hostname: hostname(),
        http_port: this.#lookupd.httpEndpoint.port,
        tcp_port: this.#lookupd.tcpEndpoint.port,
        version: NSQ_VERSION,
      }),
    );
  }

  #topicChannel(command: string, params: string[]): { topic: string; channel: string } {
    if (this.#peer === null) throw fatal(E_INVALID, 'client must IDENTIFY');
    if (params.length === 0) throw fatal(E_INVALID, `${command} insufficient number of params`);
    const topic = params[0]!;
    const channel = params[1] ?? '';
    if (!isValidTopicName(topic)) throw fatal(E_BAD_TOPIC, `${command} topic name '${topic}' is not valid`);
    if (channel !== '' && !isValidChannelName(channel)) throw fatal(E_BAD_CHANNEL, `${command} channel name '${channel}' is not valid`);
    return { topic, channel };
  }

  #register(params: string[]): void {
    const { topic, channel } = this.#topicChannel('REGISTER', params);
    const peer = this.#peer!;
    const { db, logger } = this.#lookupd;
    if (channel !== '' && db.addProducer(CATEGORY_CHANNEL, topic, channel, peer)) {
      logger.info(`DB: client(${this.#addr}) REGISTER category:channel key:${topic} subkey:${channel}`);
    }
    if (db.addProducer(CATEGORY_TOPIC, topic, '', peer)) logger.info(`DB: client(${this.#addr}) REGISTER category:topic key:${topic} subkey:`);
    this.#send(RESPONSE_OK);
  }

  #unregister(params: string[]): void {
    const { topic, channel } = this.#topicChannel('UNREGISTER', params);
    const id = this.#peer!.id;
    const { db, logger } = this.#lookupd;
    if (channel !== '') {
      const reg = db.get(CATEGORY_CHANNEL, topic, channel);
      if (reg !== undefined) {
        const { removed, left } = db.removeProducer(reg, id);
        if (removed) logger.info(`DB: client(${this.#addr}) UNREGISTER category:channel key:${topic} subkey:${channel}`);
        // an ephemeral channel goes away with its last producer
        if (left === 0 && isEphemeral(channel)) db.removeRegistration(reg);
      }
    } else {
      // a topic unregistration takes the topic's channels with it; nsqd unregisters those first,
      // so finding one here is unexpected
      for (const reg of db.find(CATEGORY_CHANNEL, topic, ANY)) {
        if (db.removeProducer(reg, id).removed) logger.warn(`client(${this.#addr}) unexpected UNREGISTER category:channel key:${topic} subkey:${reg.subkey}`);
      }
      const reg = db.get(CATEGORY_TOPIC, topic, '');
      if (reg !== undefined) {
        const { removed, left } = db.removeProducer(reg, id);
        if (removed) logger.info(`DB: client(${this.#addr}) UNREGISTER category:topic key:${topic} subkey:`);
        if (left === 0 && isEphemeral(topic)) db.removeRegistration(reg);
      }
    }
    this.#send(RESPONSE_OK);
  }

  #closed(): void {
    this.#closing = true;
    this.#decoder.stop();
    this.#lookupd.logger.info(`CLIENT(${this.#addr}): closing`);
    const peer = this.#peer;
    if (peer === null) return;
    const { db, logger } = this.#lookupd;
    for (const reg of db.lookupRegistrations(peer.id)) {
      if (db.removeProducer(reg, peer.id).removed) {
        logger.info(`DB: client(${this.#addr}) UNREGISTER category:${reg.category} key:${reg.key} subkey:${reg.subkey}`);
      }
    }
  }
}

const STRING_FIELDS = { remote_address: 'remoteAddress', hostname: 'hostname', broadcast_address: 'broadcastAddress', version: 'version' } as const;
const INT_FIELDS = { tcp_port: 'tcpPort', http_port: 'httpPort' } as const;

/**
 * IDENTIFY's JSON as Go's json.Unmarshal reads it into PeerInfo: field names match case-insensitively,
 * unknown fields and nulls are ignored, a value of the wrong type is an error (null here).
 */
function decodePeerInfo(body: unknown, remoteAddress: string): PeerInfo | null {
  const peer: PeerInfo = { id: remoteAddress, remoteAddress, hostname: '', broadcastAddress: '', tcpPort: 0, httpPort: 0, version: '', lastUpdate: Date.now() };
  if (body === null) return peer;
  if (typeof body !== 'object' || Array.isArray(body)) return null;
  for (const [rawKey, value] of Object.entries(body as Record<string, unknown>)) {
    if (value === null) continue;
    const key = rawKey.toLowerCase();
    if (Object.hasOwn(STRING_FIELDS, key)) {
      if (typeof value !== 'string') return null;
      peer[STRING_FIELDS[key as keyof typeof STRING_FIELDS]] = value;
    } else if (Object.hasOwn(INT_FIELDS, key)) {
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return null;
      peer[INT_FIELDS[key as keyof typeof INT_FIELDS]] = value;
    }
  }
  // the connection's own address, whatever the body says
  peer.remoteAddress = remoteAddress;
  return peer;
}

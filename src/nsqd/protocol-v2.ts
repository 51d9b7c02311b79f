// Protocol V2 on the server side: one instance per TCP connection. Checks the magic, feeds bytes
// to the command decoder and executes each command through one dispatch on its verb (Exec).

import type { InflateRaw } from 'node:zlib';
import { zlib } from '../util/builtins.js';
import { CommandDecoder, MPUB_BODY, type CommandSink } from '../protocol/command-decoder.js';
import { MAGIC_V2, MSG_ID_LENGTH, NSQ_VERSION, RESPONSE_CLOSE_WAIT, RESPONSE_OK } from '../protocol/constants.js';
import { encodeError } from '../protocol/encoders.js';
import {
  E_AUTH_DISABLED,
  E_AUTH_FAILED,
  E_AUTH_FIRST,
  E_UNAUTHORIZED,
  E_BAD_BODY,
  E_BAD_CHANNEL,
  badMessageSize,
  deferOutOfRange,
  E_BAD_PROTOCOL,
  E_BAD_TOPIC,
  E_FIN_FAILED,
  E_INVALID,
  E_REQ_FAILED,
  E_SUB_FAILED,
  E_TOUCH_FAILED,
  fatal,
  messageTooBig,
  nonFatal,
  ProtocolError,
} from '../protocol/errors.js';
import { parseMessageId } from '../protocol/message-id.js';
import { goQuote, isValidChannelName, isValidTopicName } from '../protocol/names.js';
import type { Socket } from 'node:net';
import { SnappyFrameDecoder, SnappyFrameError } from '../protocol/snappy-frame.js';
import { authHttpOptions, queryAnyAuthd, type AuthQuery } from './auth.js';
import { OWN_BUFFER } from './body-store.js';
import { Client, STATE_CLOSING, STATE_INIT, STATE_SUBSCRIBED, type ClientProtocol } from './client.js';
import { nanosAt } from './message.js';
import { TLS_NOT_REQUIRED } from './options.js';
import { clientCertRefusal, upgradeToTls } from './tls.js';
import { applyIdentify, IdentifyError } from './identify.js';
import type { NSQD } from './nsqd.js';
import type { Committer } from './durable.js';
import type { ReplGrant } from './replication.js';
import { ReplicationUnconfirmed } from './replication-unconfirmed.js';

// verbs that carry a body, remembered between the line and the body
const V_NONE = 0;
const V_IDENTIFY = 1;
const V_AUTH = 2;
const V_PUB = 3;
const V_MPUB = 4;
const V_DPUB = 5;

const TLS_HANDSHAKE_TIMEOUT = 5000;

const CH_F = 70;
const EMPTY_BODY = Buffer.alloc(0);

/** Whether buf[start...] begins with `bytes` (short lines: a loop beats a native call). */
function sameBytes(buf: Buffer, start: number, bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if (buf[start + i] !== bytes[i]) return false;
  return true;
}
const CH_I = 73;
const CH_N = 78;
const CH_SPACE = 32;

/** Go's %q, as nsqd prints names in error messages. */
const q = goQuote;

/** The `commit` of an answer in line that waits for no commit (another command's answer). */
const NO_COMMIT: SealedBatch[] = [];

/** Publishes covered by one commit: their OKs go out in order, once it is done (and confirmed). */
interface SealedBatch {
  verbs: string[];
  topics: string[];
  done: boolean;
  err: Error | null;
  /** the group of the commit that covers it (null: not yet sealed into one) */
  commit: SealedBatch[] | null;
  /** an answer to another command, sent in its turn (not publishes) */
  then: (() => void) | null;
}

export class ProtocolV2 implements CommandSink, Committer, ClientProtocol {
  readonly client: Client;
  readonly #nsqd: NSQD;
  readonly #decoder: CommandDecoder;
  #magic: Buffer | null = Buffer.alloc(0);
  #verb = V_NONE;
  #topic = '';
  #deferMs = 0;
  #keptBuf: Buffer = Buffer.alloc(0);
  #inflate: InflateRaw | null = null;
  /** a decompressor the received bytes go through first (null: plain) */
  #input: ((chunk: Buffer) => void) | null = null;
  /** stops the current socket's data listener (before a TLS upgrade takes the socket over) */
  #detach: (() => void) | null = null;
  #gone = false;
  /** publishes executed in this chunk whose OK waits for their disk writes */
  #unsettled: string[] = [];
  /** durable mode: the topic of each held publish, so a journal failure fails only its own publishers */
  #unsettledTopics: string[] = [];
  /** the empty pair #settle swaps with the two above */
  #spareVerbs: string[] = [];
  #spareTopics: string[] = [];
  /** durable mode: registered for the commit at the end of this turn */
  #awaitingCommit = false;
  /** replicated: publishes sealed into a commit, answered in order once each commit is confirmed */
  #sealed: SealedBatch[] = [];
  #keptAt = 0;
  /**
   * Non-null while an auth server query is under way: what arrived meanwhile, replayed in order
   * afterwards. `fromSocket`: bytes as received (still to be inflated if DEFLATE starts before they
   * are replayed); otherwise already plain.
   */
  #held: { buf: Buffer; fromSocket: boolean }[] | null = null;

  constructor(nsqd: NSQD, client: Client) {
    this.#nsqd = nsqd;
    this.client = client;
    this.#decoder = new CommandDecoder(this, nsqd.options);
    client.protocol = this;
  }

  /**
   * Listens to `socket` (the TCP connection, later the TLS socket over it): its bytes go to
   * `receive`, its end and errors to the client.
   */
  attach(socket: Socket): void {
    const client = this.client;
    const nsqd = this.#nsqd;
    const onData = (chunk: Buffer): void => {
      client.lastRead = performance.now();
      this.receive(chunk);
    };
    socket.on('data', onData);
    this.#detach = () => socket.off('data', onData);
    socket.on('end', () => {
      // the peer is done sending: execute what it sent, finish writing what we have, then close.
      // Inflating runs on the thread pool, so the last commands (a consumer's final FINs) may still
      // be in the inflater: closing now would requeue messages the client finished. (The server
      // sockets are half-open, so this end does not close ours before then.)
      const inflate = this.#inflate;
      if (inflate === null || inflate.destroyed) {
        client.close();
        return;
      }
      inflate.once('end', () => client.close());
      inflate.end();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') nsqd.logger.error(`[${client.remoteAddress}] - ${err.message}`);
    });
    socket.on('close', () => {
      if (this.#gone) return;
      this.#gone = true;
      nsqd.logger.info(`PROTOCOL(V2): [${client.remoteAddress}] exiting ioloop`);
      this.connectionClosed();
      nsqd.removeClient(client);
    });
  }

  /** Bytes from the socket. */
  receive(chunk: Buffer): void {
    if (this.#magic !== null) {
      const have = Buffer.concat([this.#magic, chunk]);
      if (have.length < 4) {
        this.#magic = have;
        return;
      }
      this.#magic = null;
      if (!have.subarray(0, 4).equals(MAGIC_V2)) {
        this.#nsqd.logger.error(`client(${this.client.remoteAddress}) bad protocol magic '${have.toString('latin1', 0, 4)}'`);
        this.#decoder.stop();
        this.client.state = STATE_CLOSING;
        this.client.socket.end(encodeError(E_BAD_PROTOCOL));
        return;
      }
      this.#nsqd.logger.info(`TCP: new client(${this.client.remoteAddress})`);
      if (have.length === 4) return;
      chunk = have.subarray(4);
    }
    if (this.#input !== null) {
      this.#input(chunk);
      return;
    }
    if (this.#held !== null) {
      this.#held.push({ buf: chunk, fromSocket: true });
      return;
    }
    this.#plain(chunk);
  }

  /** The chunk #plain is executing (EMPTY_BODY between chunks): a PUB whose body ends it is its last command. */
  #chunk: Buffer = EMPTY_BODY;

  /** Plain command bytes (decompressed when compression is on): executed, or held during an auth query. */
  #plain(buf: Buffer): void {
    if (this.#held !== null) {
      this.#held.push({ buf, fromSocket: false });
      return;
    }
    // answer in the turn the command was read: a producer that waits for each OK (go-nsq's
    // Publish, nsqjs) gets it without waiting for the next loop phase; one write per chunk read
    const client = this.client;
    client.beginRead();
    this.#chunk = buf;
    try {
      this.#decoder.push(buf);
      this.#settleChunk();
    } finally {
      this.#chunk = EMPTY_BODY;
      client.endRead();
    }
  }

  /**
   * The socket closed: nothing more is executed, including bytes a decompressor still holds (they
   * would otherwise arrive after the client left its channel).
   */
  connectionClosed(): void {
    this.#decoder.stop();
    this.#inflate?.destroy();
  }

  /** Everything the client sends from here on is raw DEFLATE. */
  #startInflate(): void {
    const inflate = zlib().createInflateRaw();
    inflate.on('data', (plain: Buffer) => this.#plain(plain));
    inflate.on('error', (err) => {
      this.#nsqd.logger.error(`[${this.client.remoteAddress}] - deflate stream: ${err.message}`);
      this.#decoder.stop();
      this.client.socket.destroy();
    });
    this.#inflate = inflate;
    this.#input = (chunk) => inflate.write(chunk);
  }

  /** Everything the client sends from here on is in snappy's framing format. */
  #startUnsnappy(): void {
    const decoder = new SnappyFrameDecoder((plain) => this.#plain(plain));
    this.#input = (chunk) => {
      try {
        decoder.push(chunk);
      } catch (err) {
        if (!(err instanceof SnappyFrameError)) throw err;
        this.#nsqd.logger.error(`[${this.client.remoteAddress}] - ${err.message}`);
        this.#decoder.stop();
        this.client.socket.destroy();
      }
    };
  }

  /**
   * After IDENTIFY's answer (and the TLS handshake's OK): compression negotiated by IDENTIFY
   * starts in both directions, confirmed by an OK that is already compressed (as nsqd).
   */
  #startCompression(): void {
    const client = this.client;
    if (!client.snappy && !client.deflate) return;
    client.flush();
    if (client.snappy) {
      this.#nsqd.logger.info(`PROTOCOL(V2): [${client.remoteAddress}] upgrading connection to snappy`);
      client.startSnappy();
      this.#startUnsnappy();
    } else {
      this.#nsqd.logger.info(`PROTOCOL(V2): [${client.remoteAddress}] upgrading connection to deflate`);
      client.startDeflate(client.deflateLevel);
      this.#startInflate();
    }
    client.sendResponse(RESPONSE_OK);
  }

  /**
   * The TLS handshake on this connection, right after IDENTIFY's answer; `early` are bytes the
   * client already sent past IDENTIFY. The handshake's success is confirmed by an OK over TLS.
   */
  #startTls(early: Buffer): void {
    const client = this.client;
    const nsqd = this.#nsqd;
    const tls = nsqd.tls!;
    nsqd.logger.info(`PROTOCOL(V2): [${client.remoteAddress}] upgrading connection to TLS`);
    this.#detach?.();
    const secure = upgradeToTls(client.socket, tls, early);
    client.socket = secure;
    client.upgrading = true;
    this.attach(secure);
    // nsqd gives the handshake 5 seconds
    const timer = setTimeout(() => {
      nsqd.logger.error(`[${client.remoteAddress}] - IDENTIFY failed TLS handshake timeout`);
      secure.destroy();
    }, TLS_HANDSHAKE_TIMEOUT);
    secure.once('close', () => clearTimeout(timer));
    secure.once('secure', () => {
      clearTimeout(timer);
      client.upgrading = false;
      const refused = clientCertRefusal(secure, tls);
      if (refused !== null) {
        nsqd.logger.error(`[${client.remoteAddress}] - IDENTIFY failed tls: ${refused}`);
        secure.destroy();
        return;
      }
      client.tls = true;
      client.sendResponse(RESPONSE_OK);
      this.#startCompression();
    });
  }

  // ---- CommandSink ------------------------------------------------------------------------

  onLine(buf: Buffer, start: number, end: number): boolean | typeof MPUB_BODY {
    // FIN is the hottest command: handle it without building strings
    if (end - start === 4 + MSG_ID_LENGTH && buf[start] === CH_F && buf[start + 1] === CH_I && buf[start + 2] === CH_N && buf[start + 3] === CH_SPACE) {
      this.#fin(buf, start + 4);
      return false;
    }
    // a PUB to the topic of this connection's last PUB (a producer's usual line): not parsed again;
    // the line was valid then and stays so (TLS, once required and on, stays on)
    const pubLine = this.#pubLine;
    if (pubLine !== null && end - start === pubLine.length && sameBytes(buf, start, pubLine)) {
      this.#topic = this.#pubTopic;
      this.#verb = V_PUB;
      return true;
    }
    // latin1 keeps every byte as one char: exact lengths, and raw bytes for error messages
    const params = buf.toString('latin1', start, end).split(' ');
    try {
      if (!this.#exec(params)) return false;
      return this.#verb === V_MPUB ? MPUB_BODY : true;
    } catch (err) {
      if (err instanceof ProtocolError) {
        this.#fail(err);
        return false;
      }
      throw err;
    }
  }

  onBodySize(size: number): boolean {
    const err = this.#checkBodySize(size);
    if (err === null) return true;
    this.#fail(err);
    return false;
  }

  onBody(buf: Buffer, start: number, end: number, owned: boolean): void {
    const verb = this.#verb;
    this.#verb = V_NONE;
    try {
      switch (verb) {
        case V_IDENTIFY:
          return this.#identifyBody(buf, start, end);
        case V_AUTH:
          return this.#authBody(buf, start, end);
        case V_PUB:
          if (!this.#authorized('PUB', this.#topic, '', false)) return this.#renewThenPublish(V_PUB, buf, start, end, owned);
          return this.#published('PUB', V_PUB, buf, start, end, owned);
        case V_MPUB:
          return this.#published('MPUB', V_MPUB, buf, start, end, owned);
        case V_DPUB:
          if (!this.#authorized('DPUB', this.#topic, '', false)) return this.#renewThenPublish(V_DPUB, buf, start, end, owned);
          return this.#published('DPUB', V_DPUB, buf, start, end, owned);
      }
    } catch (err) {
      if (err instanceof ProtocolError) return this.#fail(err);
      throw err;
    }
  }

  onDecodeError(err: ProtocolError): void {
    this.#fail(err);
  }

  // ---- Exec ---------------------------------------------------------------------------------

  /** Runs a command line; returns true when a body must follow. */
  #exec(params: string[]): boolean {
    const verb = params[0]!;
    if (verb === 'IDENTIFY') return this.#identify();
    if (this.#nsqd.options.tlsRequired !== TLS_NOT_REQUIRED && !this.client.tls) throw this.#tlsRequired(verb);
    switch (verb) {
      case 'FIN':
        this.#finSlow(params);
        return false;
      case 'RDY':
        this.#rdy(params);
        return false;
      case 'REQ':
        this.#req(params);
        return false;
      case 'PUB':
        return this.#pub(params);
      case 'MPUB':
        return this.#mpub(params);
      case 'DPUB':
        return this.#dpub(params);
      case 'NOP':
        return false;
      case 'TOUCH':
        this.#touch(params);
        return false;
      case 'SUB':
        this.#sub(params);
        return false;
      case 'CLS':
        this.#cls();
        return false;
      case 'AUTH':
        return this.#auth(params);
      case 'REPL':
        this.#repl(params);
        return false;
    }
    throw fatal(E_INVALID, `invalid command ${verb}`);
  }

  /**
   * `REPL 1` (ours, not nsqd's): the connection becomes a replication link from an origin node
   * (docs/replication.md). After the OK every byte belongs to the replication session.
   */
  #repl(params: string[]): void {
    this.#settle();
    const client = this.client;
    const nsqd = this.#nsqd;
    const r = nsqd.replication;
    if (r === null) throw fatal(E_INVALID, 'REPL needs a durable node (--durable or --durable-topic)');
    if (client.state !== STATE_INIT) throw fatal(E_INVALID, 'cannot REPL in current state');
    if (params.length !== 2 || params[1] !== '1') throw fatal(E_INVALID, `REPL version ${params[1] ?? ''} not supported (want 1)`);
    if (client.snappy || client.deflate) throw fatal(E_INVALID, 'cannot REPL on a compressed connection');
    let grant: ReplGrant | undefined;
    if (nsqd.options.authHttpAddresses.length > 0) {
      if (!client.authed) throw fatal(E_AUTH_FIRST, 'AUTH required before REPL');
      if (client.authState?.allowsAll !== true) throw fatal(E_UNAUTHORIZED, 'AUTH failed for REPL: needs publish and subscribe on topic .* channel .*');
      // the link outlives the AUTH: the replication side asks again whenever the grant expires
      const query = this.#authQuery();
      const o = nsqd.options;
      grant = {
        expires: client.authState.expires,
        renew: async () => {
          const state = await queryAnyAuthd(o.authHttpAddresses, query, authHttpOptions(o));
          if (!state.allowsAll) throw new Error('the grant no longer covers publish and subscribe on topic .* channel .*');
          return state.expires;
        },
      };
    }
    client.sendResponse(RESPONSE_OK);
    client.flush();
    nsqd.logger.info(`PROTOCOL(V2): [${client.remoteAddress}] replication link`);
    this.#decoder.divert((rest) => {
      // the client leaves the engine (no heartbeats, no stats); the socket goes to the session
      this.#gone = true;
      this.#detach?.();
      this.connectionClosed();
      const socket = client.socket;
      socket.removeAllListeners('end');
      socket.removeAllListeners('close');
      socket.removeAllListeners('error');
      nsqd.removeClient(client);
      r.accept(socket, Buffer.from(rest), grant);
    });
  }

  #tlsRequired(verb: string): ProtocolError {
    return fatal(E_INVALID, `cannot ${verb} in current state (TLS required)`);
  }

  #fail(err: ProtocolError): void {
    this.#settle();
    const client = this.client;
    if (err.fatal) {
      // the connection ends now: publishes still waiting for their replicas go unanswered (a publisher retries)
      client.sendError(err.frameText());
      this.#nsqd.logger.error(`[${client.remoteAddress}] - ${err.message}`);
      this.#decoder.stop();
      client.close();
    } else {
      const text = err.frameText();
      this.#reply(() => client.sendError(text));
      this.#nsqd.logger.debug(`[${client.remoteAddress}] - ${err.message}`);
    }
  }

  #identify(): boolean {
    this.#settle();
    if (this.client.state !== STATE_INIT) throw fatal(E_INVALID, 'cannot IDENTIFY in current state');
    this.#verb = V_IDENTIFY;
    return true;
  }

  #identifyBody(buf: Buffer, start: number, end: number): void {
    let data: unknown;
    try {
      data = JSON.parse(buf.toString('utf8', start, end));
    } catch {
      throw fatal(E_BAD_BODY, 'IDENTIFY failed to decode JSON body');
    }
    const client = this.client;
    let tlsV1: boolean;
    try {
      tlsV1 = applyIdentify(client, data, this.#nsqd.options, this.#nsqd.tls !== null);
    } catch (err) {
      if (err instanceof IdentifyError) throw fatal(err.code, err.message);
      throw err;
    }
    this.#nsqd.logger.debug(`[${client.remoteAddress}] IDENTIFY: ${JSON.stringify(data)}`);
    if (!client.featureNegotiation) {
      client.sendResponse(RESPONSE_OK);
      return;
    }
    const o = this.#nsqd.options;
    client.sendResponse(
      JSON.stringify({
        max_rdy_count: o.maxRdyCount,
        version: NSQ_VERSION,
        max_msg_timeout: o.maxMsgTimeout,
        msg_timeout: client.msgTimeout,
        tls_v1: tlsV1,
        deflate: client.deflate,
        deflate_level: client.deflateLevel,
        max_deflate_level: o.maxDeflateLevel,
        snappy: client.snappy,
        sample_rate: client.sampleRate,
        auth_required: o.authHttpAddresses.length > 0,
        output_buffer_size: client.outputBufferSize,
        output_buffer_timeout: client.outputBufferTimeout,
      }),
    );
    // the answer goes out plain; what follows (TLS, then compression) is layered under the
    // decoder, and bytes the client sent past IDENTIFY go to the new layer
    if (tlsV1) {
      client.flush();
      this.#decoder.divert((rest) => this.#startTls(rest));
    } else if (client.snappy || client.deflate) {
      this.#startCompression();
      this.#decoder.divert((rest) => {
        if (rest.length > 0) this.#input!(rest);
      });
    }
  }

  #auth(params: string[]): boolean {
    this.#settle();
    if (this.client.state !== STATE_INIT) throw fatal(E_INVALID, 'cannot AUTH in current state');
    if (params.length !== 1) throw fatal(E_INVALID, 'AUTH invalid number of parameters');
    this.#verb = V_AUTH;
    return true;
  }

  #authBody(buf: Buffer, start: number, end: number): void {
    const client = this.client;
    if (client.authed) throw fatal(E_INVALID, 'AUTH already set');
    if (this.#nsqd.options.authHttpAddresses.length === 0) throw fatal(E_AUTH_DISABLED, 'AUTH disabled');
    client.authSecret = buf.toString('utf8', start, end);
    this.#afterAuthQuery((err) => {
      if (err !== null) this.#authFailed(err);
      const state = client.authState;
      if (!client.authed || state === null) throw fatal(E_UNAUTHORIZED, 'AUTH no authorizations found');
      client.sendResponse(JSON.stringify({ identity: state.identity, identity_url: state.identityUrl, permission_count: state.authorizations.length }));
    });
  }

  /** The real reason goes to the log only: auth server errors are not for untrusted clients (as nsqd). */
  #authFailed(err: Error): never {
    this.#nsqd.logger.warn(`PROTOCOL(V2): [${this.client.remoteAddress}] AUTH failed ${err.message}`);
    throw fatal(E_AUTH_FAILED, 'AUTH failed');
  }

  /**
   * nsqd's CheckAuth for SUB, PUB, MPUB, DPUB (channel '' for publishes). True: go ahead. False: the
   * client's authorization expired and must be renewed first (#renewAuth). `renewed`: it just was.
   */
  #authorized(cmd: string, topic: string, channel: string, renewed: boolean): boolean {
    if (this.#nsqd.options.authHttpAddresses.length === 0) return true;
    const state = this.client.authState;
    if (!renewed) {
      if (!this.client.authed) throw fatal(E_AUTH_FIRST, `AUTH required before ${cmd}`);
      if (state!.expired) return false;
    }
    if (state === null || !state.allows(topic, channel)) throw fatal(E_UNAUTHORIZED, `AUTH failed for ${cmd} on ${q(topic)} ${q(channel)}`);
    return true;
  }

  /** Asks the auth server again for this client's secret, then runs `then` (nsqd re-queries on expiry). */
  #renewAuth(then: () => void): void {
    this.#afterAuthQuery((err) => {
      if (err !== null) this.#authFailed(err);
      then();
    });
  }

  /** The engine's scan loop found this subscribed client's authorization expired (ClientProtocol). */
  authExpired(): void {
    this.#recheckSubscription(false);
  }

  /**
   * Asks the auth server again whether this consumer may still read its channel; nothing is
   * delivered meanwhile. Refused: E_UNAUTHORIZED, and its in-flight messages go to other
   * consumers at once (nsqd keeps delivering to a subscriber whose grant was withdrawn).
   * `decoding`: called from a command, so the rest of the chunk is held too.
   */
  #recheckSubscription(decoding: boolean): void {
    const client = this.client;
    const channel = client.channel;
    if (client.executing || channel === null || this.#decoder.stopped) return;
    this.#afterAuthQuery((err) => {
      if (client.state !== STATE_SUBSCRIBED || client.channel !== channel) return;
      try {
        if (err !== null) this.#authFailed(err);
        this.#authorized('SUB', channel.topic.name, channel.name, true);
      } catch (e) {
        this.#nsqd.leaveChannel(client);
        throw e;
      }
      channel.pump();
    }, decoding);
  }

  /** A PUB or DPUB whose authorization must be renewed first: its body is kept until then. */
  #renewThenPublish(verb: number, buf: Buffer, start: number, end: number, owned: boolean): void {
    const body = owned ? buf : Buffer.from(buf.subarray(start, end));
    const from = owned ? start : 0;
    const to = owned ? end : body.length;
    this.#renewAuth(() => {
      if (verb === V_PUB) {
        this.#authorized('PUB', this.#topic, '', true);
        this.#published('PUB', V_PUB, body, from, to, true);
      } else {
        this.#authorized('DPUB', this.#topic, '', true);
        this.#published('DPUB', V_DPUB, body, from, to, true);
      }
    });
  }

  /**
   * Queries the auth servers with the client's secret; meanwhile this connection executes nothing
   * (other connections carry on). `done` gets the query's error or null (the new state is on the
   * client), and may throw a ProtocolError; then the commands that arrived meanwhile run, in order.
   */
  #afterAuthQuery(done: (err: Error | null) => void, decoding = true): void {
    const client = this.client;
    const o = this.#nsqd.options;
    this.#held = [];
    client.executing = true;
    client.socket.pause();
    // the rest of the chunk being decoded is kept too (outside a command nothing is being decoded,
    // and a divert left set would take the next chunk pushed)
    if (decoding) {
      this.#decoder.divert((rest) => {
        if (rest.length > 0) this.#held?.push({ buf: rest, fromSocket: this.#input === null });
      });
    }
    queryAnyAuthd(o.authHttpAddresses, this.#authQuery(), authHttpOptions(o)).then(
      (state) => {
        client.authState = state;
        this.#resumeAfter(done, null);
      },
      (err: Error) => this.#resumeAfter(done, err),
    );
  }

  /** What the auth servers are told about this client (nsqd's query parameters). */
  #authQuery(): AuthQuery {
    const client = this.client;
    return { remoteIp: client.socket.remoteAddress ?? '', tls: client.tls, commonName: client.tlsCommonName, secret: client.authSecret };
  }

  #resumeAfter(done: (err: Error | null) => void, err: Error | null): void {
    const client = this.client;
    client.executing = false;
    // the connection closed meanwhile: nothing more runs
    if (this.#decoder.stopped || client.socket.destroyed) return;
    // the read deadline restarts now, as nsqd's does for the next command
    client.lastRead = performance.now();
    if (!client.writeBlocked) client.socket.resume();
    try {
      done(err);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      this.#fail(e);
    }
    this.#settle();
    const held = this.#held!;
    this.#held = null;
    for (let i = 0; i < held.length; i++) {
      if (this.#decoder.stopped) return;
      if (this.#held !== null) {
        // another query started: the rest waits for it, still in order
        (this.#held as { buf: Buffer; fromSocket: boolean }[]).push(...held.slice(i));
        return;
      }
      const e = held[i]!;
      // bytes received before compression started (IDENTIFY was among the held commands)
      if (e.fromSocket && this.#input !== null) {
        this.#input(e.buf);
        continue;
      }
      this.#decoder.push(e.buf);
      this.#settleChunk();
    }
  }

  #sub(params: string[]): void {
    this.#settle();
    const client = this.client;
    if (client.state !== STATE_INIT) throw fatal(E_INVALID, 'cannot SUB in current state');
    if (client.heartbeatInterval <= 0) throw fatal(E_INVALID, 'cannot SUB with heartbeats disabled');
    if (params.length < 3) throw fatal(E_INVALID, 'SUB insufficient number of parameters');
    const topicName = params[1]!;
    if (!isValidTopicName(topicName)) throw fatal(E_BAD_TOPIC, `SUB topic name ${q(topicName)} is not valid`);
    const channelName = params[2]!;
    if (!isValidChannelName(channelName)) throw fatal(E_BAD_CHANNEL, `SUB channel name ${q(channelName)} is not valid`);
    if (this.#authorized('SUB', topicName, channelName, false)) {
      this.#subscribe(topicName, channelName);
      return;
    }
    this.#renewAuth(() => {
      this.#authorized('SUB', topicName, channelName, true);
      this.#subscribe(topicName, channelName);
    });
  }

  #subscribe(topicName: string, channelName: string): void {
    const client = this.client;
    const channel = this.#nsqd.getTopic(topicName).getChannel(channelName);
    const max = this.#nsqd.options.maxChannelConsumers;
    if (max > 0 && channel.clients.length >= max) {
      throw fatal(E_SUB_FAILED, `SUB failed consumers for ${topicName}:${channelName} exceeds limit of ${max}`);
    }
    channel.addClient(client);
    client.channel = channel;
    client.state = STATE_SUBSCRIBED;
    this.#reply(() => client.sendResponse(RESPONSE_OK));
  }

  #rdy(params: string[]): void {
    const client = this.client;
    if (client.state === STATE_CLOSING) {
      this.#nsqd.logger.info(`[${client.remoteAddress}] ignoring RDY after CLS in state ClientStateV2Closing`);
      return;
    }
    if (client.state !== STATE_SUBSCRIBED) throw fatal(E_INVALID, 'cannot RDY in current state');
    let count = 1;
    if (params.length > 1) {
      count = parseDigits(params[1]!);
      if (Number.isNaN(count)) throw fatal(E_INVALID, `RDY could not parse count ${params[1]}`);
    }
    const max = this.#nsqd.options.maxRdyCount;
    if (count < 0 || count > max) throw fatal(E_INVALID, `RDY count ${count} out of range 0-${max}`);
    client.readyCount = count;
    client.channel!.pump();
  }

  #checkConsuming(verb: string): void {
    const s = this.client.state;
    if (s !== STATE_SUBSCRIBED && s !== STATE_CLOSING) throw fatal(E_INVALID, `cannot ${verb} in current state`);
  }

  /** FIN fast path: the line is exactly "FIN <16 bytes>". */
  #fin(buf: Buffer, idPos: number): void {
    const client = this.client;
    const s = client.state;
    if (s !== STATE_SUBSCRIBED && s !== STATE_CLOSING) {
      const tlsMissing = this.#nsqd.options.tlsRequired !== TLS_NOT_REQUIRED && !client.tls;
      this.#fail(tlsMissing ? this.#tlsRequired('FIN') : fatal(E_INVALID, 'cannot FIN in current state'));
      return;
    }
    const id = parseMessageId(buf, idPos);
    const channel = client.channel!;
    if (!channel.finish(client, id)) {
      const idText = buf.toString('latin1', idPos, idPos + MSG_ID_LENGTH);
      this.#fail(nonFatal(E_FIN_FAILED, `FIN ${idText} failed ${channel.notInFlightReason(client, id)}`));
      return;
    }
    // the FIN counts (the message was delivered while authorized); the next delivery may not
    const auth = client.authState;
    if (auth !== null && s === STATE_SUBSCRIBED && auth.expires < Date.now()) this.#recheckSubscription(true);
  }

  /** FIN lines the fast path did not take: extra parameters (ignored, as nsqd does) or a bad ID. */
  #finSlow(params: string[]): void {
    this.#checkConsuming('FIN');
    if (params.length < 2) throw fatal(E_INVALID, 'FIN insufficient number of params');
    const id = this.#messageId(params[1]!);
    const client = this.client;
    if (!client.channel!.finish(client, id)) {
      throw nonFatal(E_FIN_FAILED, `FIN ${params[1]} failed ${client.channel!.notInFlightReason(client, id)}`);
    }
  }

  #messageId(idText: string): number {
    const bytes = Buffer.from(idText, 'latin1');
    if (bytes.length !== MSG_ID_LENGTH) throw fatal(E_INVALID, 'invalid message ID');
    return parseMessageId(bytes, 0);
  }

  #req(params: string[]): void {
    this.#checkConsuming('REQ');
    if (params.length < 3) throw fatal(E_INVALID, 'REQ insufficient number of params');
    const id = this.#messageId(params[1]!);
    let timeout = parseDigits(params[2]!);
    if (Number.isNaN(timeout)) throw fatal(E_INVALID, `REQ could not parse timeout ${params[2]}`);
    const max = this.#nsqd.options.maxReqTimeout;
    const clamped = timeout < 0 ? 0 : timeout > max ? max : timeout;
    if (clamped !== timeout) {
      this.#nsqd.logger.info(`[${this.client.remoteAddress}] REQ timeout ${timeout} out of range 0-${max}. Setting to ${clamped}`);
      timeout = clamped;
    }
    const client = this.client;
    if (!client.channel!.requeue(client, id, timeout)) {
      throw nonFatal(E_REQ_FAILED, `REQ ${params[1]} failed ${client.channel!.notInFlightReason(client, id)}`);
    }
  }

  #touch(params: string[]): void {
    this.#checkConsuming('TOUCH');
    if (params.length < 2) throw fatal(E_INVALID, 'TOUCH insufficient number of params');
    const id = this.#messageId(params[1]!);
    const client = this.client;
    if (!client.channel!.touch(client, id)) {
      throw nonFatal(E_TOUCH_FAILED, `TOUCH ${params[1]} failed ${client.channel!.notInFlightReason(client, id)}`);
    }
  }

  #cls(): void {
    this.#settle();
    const client = this.client;
    if (client.state !== STATE_SUBSCRIBED) throw fatal(E_INVALID, 'cannot CLS in current state');
    client.readyCount = 0;
    client.state = STATE_CLOSING;
    this.#reply(() => client.sendResponse(RESPONSE_CLOSE_WAIT));
  }

  #publishTopic(verb: string, params: string[], minParams: number): void {
    if (params.length < minParams) throw fatal(E_INVALID, `${verb} insufficient number of parameters`);
    const topic = params[1]!;
    if (!isValidTopicName(topic)) throw fatal(E_BAD_TOPIC, `${verb} topic name ${q(topic)} is not valid`);
    this.#topic = topic;
  }

  /** `PUB <topic>` as the last PUB of this connection sent it, and its topic (see onLine). */
  #pubLine: Buffer | null = null;
  #pubTopic = '';

  #pub(params: string[]): boolean {
    this.#publishTopic('PUB', params, 2);
    this.#verb = V_PUB;
    if (params.length === 2 && this.#topic !== this.#pubTopic) {
      this.#pubTopic = this.#topic;
      this.#pubLine = Buffer.from(`PUB ${this.#topic}`, 'latin1');
    }
    return true;
  }

  #mpub(params: string[]): boolean {
    this.#publishTopic('MPUB', params, 2);
    this.#verb = V_MPUB;
    // nsqd checks MPUB's authorization and creates the topic before it reads the body
    const topic = this.#topic;
    if (this.#authorized('MPUB', topic, '', false)) {
      this.#nsqd.getTopic(topic);
      return true;
    }
    this.#renewAuth(() => {
      this.#authorized('MPUB', topic, '', true);
      this.#nsqd.getTopic(topic);
    });
    return true;
  }

  #dpub(params: string[]): boolean {
    this.#publishTopic('DPUB', params, 3);
    const timeout = parseDigits(params[2]!);
    if (Number.isNaN(timeout)) throw fatal(E_INVALID, `DPUB could not parse timeout ${params[2]}`);
    const max = this.#nsqd.options.maxReqTimeout;
    if (timeout < 0 || timeout > max) throw deferOutOfRange(timeout, max);
    this.#deferMs = timeout;
    this.#verb = V_DPUB;
    return true;
  }

  #checkBodySize(size: number): ProtocolError | null {
    const o = this.#nsqd.options;
    switch (this.#verb) {
      case V_IDENTIFY:
        if (size > o.maxBodySize) return fatal(E_BAD_BODY, `IDENTIFY body too big ${size} > ${o.maxBodySize}`);
        if (size <= 0) return fatal(E_BAD_BODY, `IDENTIFY invalid body size ${size}`);
        return null;
      case V_AUTH:
        if (size <= 0) return fatal(E_BAD_BODY, `AUTH invalid body size ${size}`);
        if (size > o.maxBodySize) return fatal(E_BAD_BODY, `AUTH body too big ${size} > ${o.maxBodySize}`);
        return null;
      case V_PUB:
      case V_DPUB: {
        const verb = this.#verb === V_PUB ? 'PUB' : 'DPUB';
        if (size <= 0) return badMessageSize(verb, size);
        if (size > o.maxMsgSize) return messageTooBig(verb, size, o.maxMsgSize);
        return null;
      }
      case V_MPUB:
        if (size <= 0) return fatal(E_BAD_BODY, `MPUB invalid body size ${size}`);
        if (size > o.maxBodySize) return fatal(E_BAD_BODY, `MPUB body too big ${size} > ${o.maxBodySize}`);
        return null;
    }
    return fatal(E_INVALID, 'unexpected body');
  }

  #countPub(topic: string, n: number): void {
    const counts = this.client.pubCounts;
    counts.set(topic, (counts.get(topic) ?? 0) + n);
  }

  // the publish #published runs (fields and one bound function: no closure per message)
  #pubVerb = V_NONE;
  #pubBuf: Buffer = EMPTY_BODY;
  #pubStart = 0;
  #pubEnd = 0;
  #pubOwned = false;
  readonly #runPublish = (): void => {
    const buf = this.#pubBuf;
    this.#pubBuf = EMPTY_BODY;
    if (this.#pubVerb === V_PUB) this.#pubBody(buf, this.#pubStart, this.#pubEnd, this.#pubOwned);
    else if (this.#pubVerb === V_MPUB) this.#mpubBody(buf, this.#pubStart, this.#pubEnd, this.#pubOwned);
    else this.#dpubBody(buf, this.#pubStart, this.#pubEnd, this.#pubOwned);
  };

  /**
   * Runs a publish (`kind` V_PUB, V_MPUB or V_DPUB, its body buf[start...end]); a storage failure
   * becomes nsqd's E_PUB_FAILED (MPUB, DPUB likewise), OK is sent otherwise.
   */
  #published(verb: string, kind: number, buf: Buffer, start: number, end: number, owned: boolean): void {
    const r = this.#nsqd.replication;
    if (r !== null && r.needed > 0 && this.#nsqd.isDurableTopic(this.#topic)) {
      // too few replicas in sync: refused before anything is journaled, so an error is never delivered
      const why = r.refusal();
      if (why !== null) throw fatal(`E_${verb}_FAILED`, `${verb} failed ${why}`);
    }
    this.#pubVerb = kind;
    this.#pubBuf = buf;
    this.#pubStart = start;
    this.#pubEnd = end;
    this.#pubOwned = owned;
    if (kind === V_PUB && buf === this.#chunk && end === buf.length && this.#unsettled.length === 0 && this.#nsqd.durability === null) {
      const topic = this.#nsqd.topics.get(this.#topic);
      if (topic !== undefined && topic.publishStaysInMemory) return this.#answerThenPublish();
    }
    try {
      this.#nsqd.publish(this.#runPublish);
    } catch (err) {
      if (err instanceof ProtocolError) throw err;
      throw fatal(`E_${verb}_FAILED`, `${verb} failed ${(err as Error).message}`);
    }
    // the OK waits until what this chunk's publishes put on disk is written (#settle)
    this.#unsettled.push(verb);
    if (this.#nsqd.durability !== null) this.#unsettledTopics.push(this.#topic);
  }

  /**
   * A PUB that ends its chunk, with nothing before it waiting for an answer, into a topic that keeps
   * it in memory (Topic.publishStaysInMemory: no journal, no disk write, nothing that can fail):
   * its OK is written first, then it is published, in the same turn. The producer's next command is
   * on its way while the message is stored, and nothing else runs in between, so no one can see the
   * OK before the message is there (docs/scaling.md, request/response).
   */
  #answerThenPublish(): void {
    const client = this.client;
    client.sendResponse(RESPONSE_OK);
    client.flush();
    try {
      this.#nsqd.publish(this.#runPublish);
    } catch (err) {
      // cannot happen while publishStaysInMemory is exact; if it does, say so and end the connection
      this.#nsqd.logger.error(`[${client.remoteAddress}] - PUB ${this.#topic} answered OK, then failed: ${(err as Error).message}; the message is lost; closing`);
      this.#decoder.stop();
      client.socket.destroy();
    }
  }

  /**
   * End of a received chunk. Durable mode: the OKs wait for the commit at the end of the turn, which
   * every publisher of the turn shares (group commit). Plain mode: settled now.
   */
  #settleChunk(): void {
    if (this.#unsettled.length === 0) return;
    const durability = this.#nsqd.durability;
    if (durability === null) return this.#settle();
    if (!this.#awaitingCommit) {
      this.#awaitingCommit = true;
      durability.await(this);
    }
  }

  /**
   * The turn's commit is being written: it covers the publishes held until now, with those set
   * aside before an answer that had to wait for them (Committer).
   */
  seal(): { batch: object; durable: boolean } {
    this.#awaitingCommit = false;
    this.#holdPublishes();
    const group: SealedBatch[] = [];
    for (const b of this.#sealed) {
      if (b.commit !== null) continue;
      b.commit = group;
      group.push(b);
    }
    return { batch: group, durable: group.some((b) => b.topics.some((t) => this.#nsqd.isDurableTopic(t))) };
  }

  /** A sealed group's commit is done (and confirmed): answered once everything before it is (Committer). */
  committed(batch: object, err: Error | null): void {
    for (const b of batch as SealedBatch[]) {
      b.done = true;
      b.err = err;
    }
    this.#flushSealed();
  }

  /** The publishes held so far become a batch of their own, in line (answered with the next commit). */
  #holdPublishes(): void {
    if (this.#unsettled.length === 0) return;
    this.#sealed.push({ verbs: this.#unsettled, topics: this.#unsettledTopics, done: false, err: null, commit: null, then: null });
    this.#unsettled = [];
    this.#unsettledTopics = [];
  }

  #flushSealed(): void {
    while (this.#sealed.length > 0 && this.#sealed[0]!.done) {
      const next = this.#sealed.shift()!;
      if (this.client.socket.destroyed) continue;
      if (next.then !== null) next.then();
      else this.#answer(next.verbs, next.topics, next.err);
    }
  }

  /**
   * Sends the answer of a command other than a publish (SUB's OK, CLS's CLOSE_WAIT, a non-fatal
   * error) after the OKs of the publishes before it: at once, unless replicated publishes wait for
   * their replicas (only then does an answer wait, in line). IDENTIFY and AUTH answer at once: they
   * come before anything else a client sends.
   */
  #reply(send: () => void): void {
    const replicated = this.#nsqd.durability !== null && (this.#nsqd.replication?.needed ?? 0) > 0;
    if (!replicated || (this.#sealed.length === 0 && this.#unsettled.length === 0)) return send();
    if (this.#unsettled.length > 0) {
      this.#holdPublishes();
      if (!this.#awaitingCommit) {
        this.#awaitingCommit = true;
        this.#nsqd.durability!.await(this);
      }
    }
    // done already and waits for no commit: it goes out once everything before it has
    this.#sealed.push({ verbs: [], topics: [], done: true, err: null, commit: NO_COMMIT, then: send });
    this.#flushSealed();
  }

  /**
   * Answers the publishes held back so far, now: one disk write (durable: one commit) for all of
   * them, then their OKs, or E_PUB_FAILED when the disk refuses. Runs before any other answer, so
   * answers stay in command order.
   */
  #settle(): void {
    if (this.#unsettled.length === 0) return;
    const durability = this.#nsqd.durability;
    if (durability !== null && (this.#nsqd.replication?.needed ?? 0) > 0) {
      // replicated: the OKs can only come from the commit's confirmations (committed()); another
      // command's answer may go out first (an OK, or a fatal error that closes the connection)
      if (!this.#awaitingCommit) {
        this.#awaitingCommit = true;
        durability.await(this);
      }
      return;
    }
    let failure: Error | null = null;
    try {
      if (this.#nsqd.durability !== null) this.#nsqd.durability.commit();
      else this.#nsqd.flushDiskWrites();
    } catch (err) {
      failure = err as Error;
    }
    // answered now: the lists trade places with an empty pair (an answer that fails the connection
    // settles again, and must find nothing), then are emptied for the next turn: no allocation
    const held = this.#unsettled;
    const topics = this.#unsettledTopics;
    this.#unsettled = this.#spareVerbs;
    this.#unsettledTopics = this.#spareTopics;
    this.#spareVerbs = held;
    this.#spareTopics = topics;
    try {
      this.#answer(held, topics, failure);
    } finally {
      while (held.length > 0) held.pop();
      while (topics.length > 0) topics.pop();
    }
  }

  /** OKs for `held` publishes (of `topics`, durable mode), or the failure that ends the connection. */
  #answer(held: string[], topics: string[], failure: Error | null): void {
    if (held.length === 0) return;
    const durability = this.#nsqd.durability;
    if (durability !== null) {
      if (failure === null && durability.failing) for (let i = 0; failure === null && i < topics.length; i++) failure = durability.failure(topics[i]!);
    }
    if (failure instanceof ReplicationUnconfirmed) {
      // journaled here and perhaps delivered, not confirmed by the replicas: no answer at all
      this.#nsqd.logger.warn(`[${this.client.remoteAddress}] - ${failure.message}; closing without an answer`);
      this.#decoder.stop();
      this.client.socket.destroy();
      return;
    }
    if (failure !== null) {
      const verb = held[0]!;
      this.#fail(fatal(`E_${verb}_FAILED`, `${verb} failed ${failure.message}`));
      return;
    }
    for (let i = 0; i < held.length; i++) this.client.sendResponse(RESPONSE_OK);
  }

  /**
   * A body is copied into the body store, once, unless the decoder assembled it for this command
   * alone and it is big enough for a buffer of its own; afterwards it is at #keptBuf[#keptAt...].
   */
  #keep(buf: Buffer, start: number, end: number, owned: boolean): void {
    if (owned && end - start >= OWN_BUFFER) {
      this.#keptBuf = buf;
      this.#keptAt = start;
      return;
    }
    const store = this.#nsqd.bodies;
    this.#keptAt = store.copy(buf, start, end - start);
    this.#keptBuf = store.buffer;
  }

  #pubBody(buf: Buffer, start: number, end: number, owned: boolean): void {
    this.#keep(buf, start, end, owned);
    // stamped with the time its bytes were read (onData's clock reading: no second one per PUB)
    this.#nsqd.getTopic(this.#topic).publish(this.#keptBuf, this.#keptAt, end - start, nanosAt(this.client.lastRead));
    this.#countPub(this.#topic, 1);
  }

  #dpubBody(buf: Buffer, start: number, end: number, owned: boolean): void {
    this.#keep(buf, start, end, owned);
    this.#nsqd.getTopic(this.#topic).publishDeferred(this.#keptBuf, this.#keptAt, end - start, this.#deferMs);
    this.#countPub(this.#topic, 1);
  }

  /**
   * The decoder has read and checked the whole batch: an MPUB is published entirely or not at all.
   * The batch is copied into the body store in as few runs of whole messages as fit its slabs (one,
   * mostly); the messages share the copy.
   */
  #mpubBody(buf: Buffer, start: number, end: number, owned: boolean): void {
    const count = buf.readInt32BE(start);
    const topic = this.#nsqd.getTopic(this.#topic);
    // one timestamp for the batch (nsqd reads the clock per message, nanoseconds apart): cheaper,
    // and the queue keeps a batch as one run (message-queue.ts); the time it was read, as for PUB
    const timestamp = nanosAt(this.client.lastRead);
    if (owned && end - start >= OWN_BUFFER * 4) {
      // a big batch the decoder assembled for this command alone: kept as it is
      for (let i = 0, pos = start + 4; i < count; i++) {
        const size = buf.readInt32BE(pos);
        topic.publish(buf, pos + 4, size, timestamp);
        pos += 4 + size;
      }
    } else {
      const store = this.#nsqd.bodies;
      for (let left = count, from = start + 4; left > 0; ) {
        const to = store.runEnd(buf, from, left);
        const at = store.copyRun(buf, from, to);
        const b = store.buffer;
        for (let pos = at, stop = at + (to - from); pos < stop; left--) {
          const size = b.readInt32BE(pos);
          topic.publish(b, pos + 4, size, timestamp);
          pos += 4 + size;
        }
        from = to;
      }
    }
    this.#countPub(this.#topic, count);
  }
}

/** nsqd's number parsing for RDY, REQ and DPUB: decimal digits only, and "" is 0. */
function parseDigits(s: string): number {
  if (s === '') return 0;
  return /^\d+$/.test(s) ? Number(s) : NaN;
}

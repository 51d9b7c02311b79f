// The discovery server: owns the options, the registration database and the TCP (protocol V1) and
// HTTP listeners' lifecycle.

import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { NSQ_VERSION } from '../protocol/constants.js';
import { Logger } from '../util/log.js';
import { packageVersion } from '../version.js';
import { listenBoth, splitHostPort, type HostPort } from '../nsqd/listen.js';
import { RegistrationDB } from './registration-db.js';
import { LookupProtocolV1 } from './protocol-v1.js';
import { createHttpServer } from './http-server.js';
import { defaultLookupdOptions, type LookupdOptions } from './options.js';

export type { LookupdOptions } from './options.js';

export class NSQLookupd {
  readonly options: LookupdOptions;
  readonly logger: Logger;
  readonly db = new RegistrationDB();
  readonly #clients = new Set<LookupProtocolV1>();
  #tcp: NetServer | null = null;
  #http: HttpServer | null = null;
  #tcpEndpoint: HostPort | null = null;
  #httpEndpoint: HostPort | null = null;
  #stopping: Promise<void> | null = null;

  constructor(options: Partial<LookupdOptions> = {}, logger?: Logger) {
    this.options = { ...defaultLookupdOptions(), ...options };
    this.logger = logger ?? new Logger(this.options.logLevel, this.options.logPrefix);
  }

  /** Binds both listeners (port 0 picks a free port); throws a UserError when one cannot. */
  async start(): Promise<void> {
    const o = this.options;
    const tcpAddr = splitHostPort(o.tcpAddress, '--tcp-address');
    const httpAddr = splitHostPort(o.httpAddress, '--http-address');
    this.logger.info(`nsqlookupd v${NSQ_VERSION} (nsq v${packageVersion()}, node ${process.version})`);
    this.#tcp = this.#createTcpServer();
    this.#http = createHttpServer(this);
    const bound = await listenBoth(this.#tcp, tcpAddr, this.#http, httpAddr, this.logger);
    this.#tcpEndpoint = bound.tcp;
    this.#httpEndpoint = bound.http;
  }

  #createTcpServer(): NetServer {
    const server = createServer({ noDelay: true }, (socket: Socket) => {
      // Go's listeners turn on keep-alive (15s): a peer that vanished without a FIN is noticed
      socket.setKeepAlive(true, 15_000);
      const client = new LookupProtocolV1(this, socket);
      this.#clients.add(client);
      socket.on('close', () => this.#clients.delete(client));
    });
    // accept failures at the descriptor limit are logged once per burst (guardAccepts)
    server.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EMFILE' && err.code !== 'ENFILE') this.logger.error(`TCP: ${err.message}`);
    });
    return server;
  }

  get tcpEndpoint(): HostPort {
    if (this.#tcpEndpoint === null) throw new Error('nsqlookupd is not listening');
    return this.#tcpEndpoint;
  }

  get httpEndpoint(): HostPort {
    if (this.#httpEndpoint === null) throw new Error('nsqlookupd is not listening');
    return this.#httpEndpoint;
  }

  /** Stops accepting, closes every peer connection and both listeners. */
  stop(): Promise<void> {
    if (this.#stopping === null) this.#stopping = this.#doStop();
    return this.#stopping;
  }

  async #doStop(): Promise<void> {
    this.logger.info('LOOKUP: closing');
    const closing: Promise<void>[] = [];
    if (this.#tcp !== null) {
      const tcp = this.#tcp;
      closing.push(new Promise((resolve) => tcp.close(() => resolve())));
    }
    if (this.#http !== null) {
      const http = this.#http;
      closing.push(new Promise((resolve) => http.close(() => resolve())));
      http.closeIdleConnections();
    }
    for (const c of this.#clients) c.close();
    const force = setTimeout(() => this.#http?.closeAllConnections(), 2000);
    await Promise.all(closing);
    clearTimeout(force);
    this.logger.info('LOOKUP: bye');
  }
}

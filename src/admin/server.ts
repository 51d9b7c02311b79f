// `nsq admin`'s HTTP server: nsqadmin's API (api.ts) and the web page under --base-path, the
// dashboard's model polled while the page is open (src/top's Poller and TopModel, the same as
// nsq top's), notifications (notify.ts) and /config/:opt from --allow-config-from-cidr only.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { hostname as osHostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { Poller } from '../top/poller.js';
import { TopModel } from '../top/model.js';
import { Logger, isLogLevel, type LogLevel } from '../util/log.js';
import { formatHostPort, type HostPort } from '../util/host-port.js';
import { HttpError, readBody } from '../util/http-api.js';
import { NSQ_VERSION, readPackageFile } from '../version.js';
import { answerApi, type ApiAnswer, type ApiContext, type ApiRequest } from './api.js';
import { Cluster } from './cluster.js';
import { Notifier } from './notify.js';

export interface AdminServerOptions {
  httpAddress: HostPort;
  lookupdHttpAddresses: string[];
  nsqdHttpAddresses: string[];
  /** '/' or '/something' (no trailing slash but for '/') */
  basePath: string;
  aclHttpHeader: string;
  adminUsers: string[];
  notificationHttpEndpoint: string;
  httpClientConnectTimeoutMs: number;
  httpClientRequestTimeoutMs: number;
  /** a CIDR (IPv4) allowed to GET/PUT /config/:opt */
  allowConfigFromCidr: string;
  logLevel: LogLevel;
  logPrefix: string;
  /** how often the page's model is polled */
  pollIntervalMs: number;
}

export const DEFAULT_ADMIN_OPTIONS: Omit<AdminServerOptions, 'httpAddress'> = {
  lookupdHttpAddresses: [],
  nsqdHttpAddresses: [],
  basePath: '/',
  aclHttpHeader: 'X-Forwarded-User',
  adminUsers: [],
  notificationHttpEndpoint: '',
  httpClientConnectTimeoutMs: 2000,
  httpClientRequestTimeoutMs: 5000,
  allowConfigFromCidr: '127.0.0.1/8',
  logLevel: 'info',
  logPrefix: '[nsqadmin] ',
  pollIntervalMs: 2000,
};

/** The page's routes (nsqadmin's): each answers the page, which routes itself. */
const PAGE = /^\/(?:topics(?:\/[^/]+){0,2}|nodes(?:\/[^/]+)?|counter|lookup)?$/;
/** The page's script and style, written by npm run build (scripts/bundle.mjs) */
const ASSETS: Record<string, string> = { 'app.js': 'application/javascript; charset=utf-8', 'app.css': 'text/css; charset=utf-8' };
/** the largest request body read */
const MAX_BODY = 1024 * 1024;
/** the model is polled while asked for within this long */
const MODEL_IDLE_MS = 60_000;

export function ipv4InCidr(ip: string, cidr: string): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr.trim());
  const a = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (m === null || a === null) return false;
  const num = (p: string[]): number => ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0;
  const bits = Number(m[5]);
  if (bits > 32) return false;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return ((num(m.slice(1, 5)) & mask) >>> 0) === ((num(a.slice(1, 5)) & mask) >>> 0);
}

export class AdminServer {
  readonly o: AdminServerOptions;
  readonly logger: Logger;
  readonly cluster: Cluster;
  readonly notifier: Notifier | null;
  #server: Server | null = null;
  #poller: Poller | null = null;
  #model = new TopModel();
  #modelAskedAt = 0;
  #firstPoll: Promise<void> = Promise.resolve();
  #idleTimer: NodeJS.Timeout | null = null;
  #ctx: ApiContext;

  constructor(o: AdminServerOptions) {
    this.o = o;
    this.logger = new Logger(o.logLevel, o.logPrefix);
    this.cluster = new Cluster({ lookupdHttpAddresses: o.lookupdHttpAddresses, nsqdHttpAddresses: o.nsqdHttpAddresses, timeoutMs: o.httpClientConnectTimeoutMs + o.httpClientRequestTimeoutMs });
    this.notifier = o.notificationHttpEndpoint === '' ? null : new Notifier(o.notificationHttpEndpoint, o.httpClientRequestTimeoutMs, (line) => this.logger.warn(line));
    this.#ctx = {
      cluster: this.cluster,
      version: NSQ_VERSION,
      adminUsers: o.adminUsers,
      aclHttpHeader: o.aclHttpHeader,
      hostname: osHostname(),
      notify: this.notifier === null ? null : (n) => this.notifier!.notify(n),
      model: () => this.#modelJson(),
      config: (opt, put) => this.#config(opt, put),
      acted: () => this.#poller?.refresh(),
    };
  }

  /** host:port the server listens on (the real port after port 0) */
  get address(): string {
    const a = this.#server?.address() as AddressInfo | null | undefined;
    return a ? formatHostPort({ host: a.address, port: a.port }) : '';
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.#handle(req, res));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.httpAddress.port, this.o.httpAddress.host || undefined, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const where = this.o.lookupdHttpAddresses.length > 0 ? `lookupd ${this.o.lookupdHttpAddresses.join(', ')}` : `nsqd ${this.o.nsqdHttpAddresses.join(', ')}`;
    this.logger.info(`HTTP: listening on ${this.address} (${where})`);
  }

  async stop(): Promise<void> {
    this.#stopPolling();
    await this.notifier?.flushed();
    const server = this.#server;
    this.#server = null;
    if (server === null) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The model as JSON; the first request after a while starts the poller and waits for its first round. */
  async #modelJson(): Promise<unknown> {
    this.#modelAskedAt = Date.now();
    if (this.#poller === null) {
      this.#poller = new Poller(this.o.nsqdHttpAddresses, this.o.pollIntervalMs, this.o.httpClientConnectTimeoutMs + this.o.httpClientRequestTimeoutMs, this.o.lookupdHttpAddresses);
      this.#firstPoll = new Promise<void>((resolve) => {
        this.#poller!.onSnapshot = (s) => {
          this.#model.update(s);
          resolve();
        };
      });
      this.#poller.start();
      this.#idleTimer = setInterval(() => {
        if (Date.now() - this.#modelAskedAt > MODEL_IDLE_MS) this.#stopPolling();
      }, MODEL_IDLE_MS / 4);
      this.#idleTimer.unref();
    }
    await this.#firstPoll;
    const m = this.#model;
    return { at: m.snapshot?.at ?? null, nodes: m.nodes, lookupds: m.lookupds, topics: m.topics(), totals: m.totals(), version: NSQ_VERSION };
  }

  #stopPolling(): void {
    this.#poller?.stop();
    this.#poller = null;
    if (this.#idleTimer !== null) clearInterval(this.#idleTimer);
    this.#idleTimer = null;
    this.#model = new TopModel();
  }

  #config(opt: string, put: string | null): ApiAnswer {
    if (put !== null) {
      if (put.length === 0 || put.length > 1024 * 1024) return { status: 413, body: { message: 'INVALID_VALUE' } };
      if (opt === 'nsqlookupd_http_addresses') {
        let v: unknown;
        try {
          v = JSON.parse(put);
        } catch {
          return { status: 400, body: { message: 'INVALID_VALUE' } };
        }
        if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return { status: 400, body: { message: 'INVALID_VALUE' } };
        this.o.lookupdHttpAddresses.splice(0, this.o.lookupdHttpAddresses.length, ...(v as string[]));
        this.#stopPolling();
      } else if (opt === 'log_level') {
        if (!isLogLevel(put)) return { status: 400, body: { message: 'INVALID_VALUE' } };
        this.o.logLevel = put;
        this.logger.setLevel(put);
      } else return { status: 400, body: { message: 'INVALID_OPTION' } };
    }
    const readable: Record<string, unknown> = {
      nsqlookupd_http_addresses: this.o.lookupdHttpAddresses,
      nsqd_http_addresses: this.o.nsqdHttpAddresses,
      log_level: this.o.logLevel,
      http_address: formatHostPort(this.o.httpAddress),
      base_path: this.o.basePath,
      acl_http_header: this.o.aclHttpHeader,
      admin_users: this.o.adminUsers,
      notification_http_endpoint: this.o.notificationHttpEndpoint,
      allow_config_from_cidr: this.o.allowConfigFromCidr,
    };
    if (!(opt in readable)) return { status: 400, body: { message: 'INVALID_OPTION' } };
    return { status: 200, body: readable[opt] };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      const base = this.o.basePath === '/' ? '' : this.o.basePath;
      if (base !== '' && url.pathname !== base && !url.pathname.startsWith(`${base}/`)) return send(res, { status: 404, body: { message: 'NOT_FOUND' } });
      const path = url.pathname.slice(base.length) || '/';
      const remote = req.socket.remoteAddress ?? '';
      if (path.startsWith('/config/') && !ipv4InCidr(remote, this.o.allowConfigFromCidr)) return send(res, { status: 403, body: { message: 'FORBIDDEN' } });
      if (req.method === 'GET' && PAGE.test(path)) return send(res, { status: 200, body: indexHtml(this.o.basePath), text: true }, 'text/html; charset=utf-8');
      const asset = /^\/static\/([a-z.]+)$/.exec(path)?.[1];
      if (req.method === 'GET' && asset !== undefined && asset in ASSETS) {
        try {
          const data = readPackageFile(`dist/admin-ui/${asset}`);
          res.writeHead(200, { 'Content-Type': ASSETS[asset]!, 'Content-Length': data.length, 'Cache-Control': 'no-cache' });
          res.end(data);
        } catch {
          send(res, { status: 404, body: { message: 'NOT_FOUND: the page was not built (npm run build)' } });
        }
        return;
      }
      // nsqadmin reads up to 1 MiB (PUT /config answers 413 INVALID_VALUE beyond)
      const body = (await readBody(req, MAX_BODY, 'INVALID_VALUE')).toString('utf8');
      const host = req.headers.host ?? this.address;
      const scheme = req.headers['x-scheme'] === 'https' ? 'https' : 'http';
      const apiReq: ApiRequest = { method: req.method ?? 'GET', path, query: url.searchParams, headers: req.headers, body, remoteAddress: remote, url: `${scheme}://${host}${url.pathname}${url.search}` };
      const answer = await answerApi(this.#ctx, apiReq);
      if (answer === null) return send(res, { status: 404, body: { message: 'NOT_FOUND' } });
      if (answer.status >= 500) this.logger.error(`${req.method} ${path}: ${(answer.body as { message?: string }).message ?? answer.status}`);
      send(res, answer);
    } catch (err) {
      if (err instanceof HttpError && !res.headersSent) return send(res, { status: err.status, body: { message: err.message } });
      this.logger.error(`${req.method} ${req.url}: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) send(res, { status: 500, body: { message: 'INTERNAL_ERROR' } });
      else res.destroy();
    }
  }
}

function send(res: ServerResponse, a: ApiAnswer, contentType?: string): void {
  const text = a.text === true ? String(a.body) : JSON.stringify(a.body);
  res.writeHead(a.status, { 'Content-Type': contentType ?? (a.text === true ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8'), 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function indexHtml(basePath: string): string {
  const base = basePath === '/' ? '' : basePath;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nsq admin</title>
<link rel="stylesheet" href="${escapeHtml(base)}/static/app.css">
</head>
<body>
<div id="root" data-base-path="${escapeHtml(base)}" data-version="${escapeHtml(NSQ_VERSION)}">Loading…</div>
<noscript>nsq admin needs JavaScript; the API is at ${escapeHtml(base)}/api/topics</noscript>
<script src="${escapeHtml(base)}/static/app.js"></script>
</body>
</html>
`;
}

// nsq to-http's HTTP side: one GET or POST per message and destination, over kept-alive
// connections (at most --n per host), with nsq_to_http's two deadlines: connecting, and the whole
// request. The answer's body is read and dropped; the status decides.

import http from 'node:http';
import https from 'node:https';

export interface SenderOptions {
  /** ms to connect (a reused connection has nothing to wait for) */
  connectTimeout: number;
  /** ms for the whole request, from sending to the end of the answer */
  requestTimeout: number;
  /** connections kept per host: as many as requests run at once */
  maxSockets: number;
  /** User-Agent, Content-Type (POST) and --header: sent with every request */
  headers: Record<string, string>;
}

/** A request that did not get a 2xx answer: why, in a few words. */
export class RequestError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

const UNRESERVED = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~') UNRESERVED[c.charCodeAt(0)] = 1;
const HEX = '0123456789ABCDEF';

/** Go's url.QueryEscape of raw bytes: unreserved bytes as they are, space as `+`, the rest %XX. */
export function queryEscape(body: Buffer): string {
  let out = '';
  for (const b of body) {
    if (UNRESERVED[b] === 1) out += String.fromCharCode(b);
    else if (b === 0x20) out += '+';
    else out += '%' + HEX[b >> 4]! + HEX[b & 15]!;
  }
  return out;
}

/** A --get address with the body in place of its `%s`. */
export function getUrl(template: string, body: Buffer): string {
  const at = template.indexOf('%s');
  return template.slice(0, at) + queryEscape(body) + template.slice(at + 2);
}

const WHY: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  EHOSTUNREACH: 'no route to host',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'no such host (temporary failure in name resolution)',
  EPIPE: 'broken pipe',
};

export class Sender {
  #opts: SenderOptions;
  #http: http.Agent;
  #https: https.Agent;

  constructor(opts: SenderOptions) {
    this.#opts = opts;
    this.#http = new http.Agent({ keepAlive: true, maxSockets: opts.maxSockets });
    this.#https = new https.Agent({ keepAlive: true, maxSockets: opts.maxSockets });
  }

  /** Resolves with the status of a 2xx answer; rejects with a RequestError otherwise. */
  send(method: 'GET' | 'POST', url: string, body: Buffer | null): Promise<number> {
    const o = this.#opts;
    return new Promise((resolve, reject) => {
      let settled = false;
      let connectTimer: NodeJS.Timeout | undefined;
      const fail = (code: string, why: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        clearTimeout(connectTimer);
        req.destroy();
        reject(new RequestError(code, why));
      };
      const secure = url.startsWith('https:');
      const headers: Record<string, string | number> = { ...o.headers };
      if (body !== null) headers['Content-Length'] = body.length;
      const req = (secure ? https : http).request(url, { method, headers, agent: secure ? this.#https : this.#http });
      const deadline = setTimeout(() => fail('ETIMEDOUT', `no answer within ${o.requestTimeout} ms`), o.requestTimeout);
      req.on('socket', (socket) => {
        if (!socket.connecting) return;
        connectTimer = setTimeout(() => fail('ETIMEDOUT', `could not connect within ${o.connectTimeout} ms`), o.connectTimeout);
        socket.once('connect', () => clearTimeout(connectTimer));
      });
      req.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? 'E_HTTP', WHY[err.code ?? ''] ?? err.message));
      req.on('response', (res) => {
        res.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? 'E_HTTP', WHY[err.code ?? ''] ?? err.message));
        res.on('aborted', () => fail('ECONNRESET', 'the answer was cut off'));
        res.resume();
        res.on('end', () => {
          if (settled) return;
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) return fail('E_STATUS', `got status code ${status}`);
          settled = true;
          clearTimeout(deadline);
          resolve(status);
        });
      });
      req.end(body ?? undefined);
    });
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.#http.destroy();
    this.#https.destroy();
  }
}

// A small auth server for tests (nsqd's --auth-http-address protocol), on a random loopback port:
// each known secret maps to the JSON it answers; unknown secrets get 403, as real auth servers do.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AuthAnswer {
  ttl: number;
  identity?: string;
  identity_url?: string;
  authorizations: { topic: string; channels: string[]; permissions: string[] }[];
}

export interface AuthHit {
  method: string;
  path: string;
  query: URLSearchParams;
}

export interface Authd {
  /** host:port, as --auth-http-address takes it */
  address: string;
  /** every request received, in order */
  hits: AuthHit[];
  /** answers by secret; change them between requests */
  secrets: Map<string, AuthAnswer | string>;
  /** ms each answer waits before it is sent (0: none), to test what happens meanwhile */
  delayMs: number;
  close(): Promise<void>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function startAuthd(t: Teardown, secrets: Record<string, AuthAnswer | string>): Promise<Authd> {
  const hits: AuthHit[] = [];
  const table = new Map(Object.entries(secrets));
  const authd = { delayMs: 0 };
  const server = createServer((req: IncomingMessage, res) => {
    if (authd.delayMs > 0) {
      setTimeout(() => answer(req, res), authd.delayMs);
      return;
    }
    answer(req, res);
  });
  const answer = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    hits.push({ method: req.method ?? '', path: url.pathname, query: url.searchParams });
    const found = table.get(url.searchParams.get('secret') ?? '');
    if (found === undefined) {
      res.writeHead(403, { 'content-type': 'application/json' }).end('{"message":"NOT_AUTHORIZED"}');
      return;
    }
    // a string answer is sent as it is (to test bad answers)
    res.writeHead(200, { 'content-type': 'application/json' }).end(typeof found === 'string' ? found : JSON.stringify(found));
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  t.teardown(close);
  const port = (server.address() as AddressInfo).port;
  return Object.assign(authd, { address: `127.0.0.1:${port}`, hits, secrets: table, close });
}

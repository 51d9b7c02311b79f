// A small auth server for tests (nsqd's --auth-http-address protocol), on a random loopback port:
// each known secret maps to the JSON it answers; unknown secrets get 403, as real auth servers do.

import { createServer, type IncomingMessage } from 'node:http';
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
  close(): Promise<void>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function startAuthd(t: Teardown, secrets: Record<string, AuthAnswer | string>): Promise<Authd> {
  const hits: AuthHit[] = [];
  const table = new Map(Object.entries(secrets));
  const server = createServer((req: IncomingMessage, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    hits.push({ method: req.method ?? '', path: url.pathname, query: url.searchParams });
    const answer = table.get(url.searchParams.get('secret') ?? '');
    if (answer === undefined) {
      res.writeHead(403, { 'content-type': 'application/json' }).end('{"message":"NOT_AUTHORIZED"}');
      return;
    }
    // a string answer is sent as it is (to test bad answers)
    res.writeHead(200, { 'content-type': 'application/json' }).end(typeof answer === 'string' ? answer : JSON.stringify(answer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  t.teardown(close);
  const port = (server.address() as AddressInfo).port;
  return { address: `127.0.0.1:${port}`, hits, secrets: table, close };
}

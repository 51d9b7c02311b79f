// Test helper: an HTTP endpoint on 127.0.0.1:0 (node:http) that records every request and answers
// as the test says: a status, a delay, no answer at all, or a dropped connection.

import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface Hit {
  method: string;
  /** path and query as sent */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** the answer sent: a status, or 'drop' / 'hang' */
  answer: number | 'drop' | 'hang';
}

/** What to do with the n-th request (0-based): a status, a status after a delay, no answer, or a cut connection. */
export type Answer = number | { status: number; afterMs: number } | 'hang' | 'drop';

export interface Endpoint {
  /** http://127.0.0.1:<port> */
  base: string;
  hits: Hit[];
  /** the bodies answered 2xx */
  delivered: () => string[];
  /** requests received and not answered yet */
  pending: () => number;
  /** answers every request still waiting (a hung one too) with `status` */
  release: (status: number) => void;
}

export async function startEndpoint(t: Teardown, answer: (n: number, hit: Omit<Hit, 'answer'>) => Answer = () => 200): Promise<Endpoint> {
  const hits: Hit[] = [];
  const waiting = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      const a = answer(hits.length, seen);
      const hit: Hit = { ...seen, answer: typeof a === 'object' ? a.status : a };
      hits.push(hit);
      if (a === 'drop') return void req.socket.destroy();
      waiting.add(res);
      res.on('close', () => waiting.delete(res));
      if (a === 'hang') return;
      const send = (status: number): void => {
        hit.answer = status;
        res.writeHead(status, { 'Content-Type': 'text/plain' }).end(status < 300 ? 'OK' : 'NOK');
      };
      if (typeof a === 'number') send(a);
      else setTimeout(() => send(a.status), a.afterMs);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  const port = (server.address() as { port: number }).port;
  return {
    base: `http://127.0.0.1:${port}`,
    hits,
    delivered: () => hits.filter((h) => typeof h.answer === 'number' && h.answer >= 200 && h.answer < 300).map((h) => h.body.toString()),
    pending: () => waiting.size,
    release: (status) => {
      for (const res of waiting) {
        const hit = hits.find((h) => h.answer === 'hang');
        if (hit !== undefined) hit.answer = status;
        res.writeHead(status).end();
      }
    },
  };
}

// A raw HTTP/1.1 request over a plain or TLS socket, for requests fetch will not send as is (huge
// request lines and headers); the answer is read until the server closes or answers in full.

import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { Test } from 'tap';

export interface RawAnswer {
  status: number;
  head: string;
  body: string;
}

/**
 * Sends `request` (the whole request, head and body) in 64 KiB writes, stopping as soon as the
 * server answers (a server refusing a huge head answers before reading all of it), and resolves
 * with the answer. Asks for `Connection: close`, so the end of the answer is the end of the stream.
 */
export function rawHttp(port: number, request: string, tls = false): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket: Socket = tls ? connectTls({ port, host: '127.0.0.1', rejectUnauthorized: false }) : connectTcp(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let answered = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no HTTP answer within 10 s'));
    }, 10_000);
    socket.on('data', (d: Buffer) => {
      answered = true;
      chunks.push(d);
    });
    const finish = (): void => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m === null) return reject(new Error(`not an HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      const split = text.indexOf('\r\n\r\n');
      resolve({ status: Number(m[1]), head: text.slice(0, split), body: split === -1 ? '' : text.slice(split + 4) });
    };
    socket.on('close', finish);
    // a reset after the answer arrived is how a server refuses the rest of a request it will not read
    socket.on('error', () => {});
    const bytes = Buffer.from(request, 'latin1');
    let pos = 0;
    const writeMore = (): void => {
      while (!answered && pos < bytes.length) {
        const piece = bytes.subarray(pos, pos + 65536);
        pos += piece.length;
        if (!socket.write(piece)) {
          socket.once('drain', writeMore);
          return;
        }
      }
    };
    socket.once(tls ? 'secureConnect' : 'connect', writeMore);
  });
}

/**
 * The request-head bounds nsqd and nsqlookupd share with Go's server (http.DefaultMaxHeaderBytes):
 * a 100 KiB header is read and /ping answered, a header or request line over 1 MiB gets 431.
 */
export async function checkHeadLimits(t: Test, port: number, tls = false): Promise<void> {
  const pad = 'a'.repeat(100 * 1024);
  const header = await rawHttp(port, `GET /ping HTTP/1.1\r\nHost: x\r\nX-Pad: ${pad}\r\nConnection: close\r\n\r\n`, tls);
  t.same([header.status, header.body], [200, 'OK'], 'a 100 KiB header is read');
  const huge = 'b'.repeat(1100 * 1024);
  const longHeader = await rawHttp(port, `GET /ping HTTP/1.1\r\nHost: x\r\nX-Pad: ${huge}\r\n\r\n`, tls);
  t.same([longHeader.status, longHeader.body], [431, '431 Request Header Fields Too Large'], 'a header over 1 MiB: 431');
  const longLine = await rawHttp(port, `GET /ping?pad=${huge} HTTP/1.1\r\nHost: x\r\n\r\n`, tls);
  t.same([longLine.status, longLine.body], [431, '431 Request Header Fields Too Large'], 'a request line over 1 MiB: 431');
}

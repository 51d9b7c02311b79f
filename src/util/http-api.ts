// The HTTP answer conventions nsqd and nsqlookupd share: `{"message": CODE}` errors with a status,
// the `X-NSQ-Content-Type: nsq; version=1.0` header, text as text and everything else as JSON.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** An empty 200, as the management routes answer. */
export const EMPTY: unique symbol = Symbol('empty');

/** What a handler returns: text as is, EMPTY as an empty 200, anything else (null included) as JSON. */
export type Result = typeof EMPTY | string | null | object | number | boolean;

/** A query string, refused (400 INVALID_REQUEST) where Go's url.ParseQuery refuses it. */
export function parseQuery(qs: string): URLSearchParams {
  if (/%(?![0-9a-fA-F]{2})/.test(qs) || qs.includes(';')) throw new HttpError(400, 'INVALID_REQUEST');
  try {
    return new URLSearchParams(qs);
  } catch {
    throw new HttpError(400, 'INVALID_REQUEST');
  }
}

/** `v1`: the versioned JSON API (every route but the plain-text /ping). */
export function send(res: ServerResponse, result: Result, v1: boolean): void {
  if (v1) res.setHeader('X-NSQ-Content-Type', 'nsq; version=1.0');
  if (result === EMPTY) {
    res.writeHead(200, { 'Content-Length': 0 });
    res.end();
  } else if (typeof result === 'string') {
    const body = Buffer.from(result);
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length });
    res.end(body);
  } else {
    const body = Buffer.from(JSON.stringify(result));
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length });
    res.end(body);
  }
}

export function sendError(res: ServerResponse, err: HttpError, v1: boolean): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (v1) res.setHeader('X-NSQ-Content-Type', 'nsq; version=1.0');
  const body = Buffer.from(v1 ? JSON.stringify({ message: err.message }) : err.message);
  res.writeHead(err.status, { 'Content-Type': v1 ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8', 'Content-Length': body.length });
  res.end(body);
}

/**
 * Go's http.DefaultMaxHeaderBytes (1 MiB) plus the 4096 bytes of read slack its server allows; Node's
 * own limit is 16 KiB, which long query strings (topic lists, /config bodies in the URL) outgrow.
 */
export const MAX_HEADER_BYTES = (1 << 20) + 4096;

/** A request Node's parser refused: Go's answer for it, then close (the server keeps serving others). */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) return;
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${status}`);
}

/** Reads the request body, refusing more than `max` bytes with `tooBig`. */
export function readBody(req: IncomingMessage, max: number, tooBig: string): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > max) return Promise.reject(new HttpError(413, tooBig));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > max) {
        failed = true;
        reject(new HttpError(413, tooBig));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      // always a buffer of our own: messages keep their bodies, and a chunk is a view of a socket read
      if (!failed) resolve(Buffer.concat(chunks, size));
    });
    req.on('error', () => {
      if (!failed) reject(new HttpError(500, 'INTERNAL_ERROR'));
    });
  });
}

// The clients' HTTP requests (lookupd queries, pub --http): one answer, read whole, within a deadline,
// and errors that say which address and why.

import { NsqError, type TransportOptions } from './connection.js';
import { FRAME_TYPE_ERROR } from '../protocol/constants.js';
import { E_HTTP, E_WRONG_PORT, ProtocolError } from '../protocol/errors.js';

/**
 * Why an address did not answer HTTP, when it is a TCP port: nsqd (and lookupd) answer a request
 * line that is not their magic with an error frame, which undici's parser rejects (keeping the
 * bytes). Null for any other failure.
 */
export function tcpPortReason(err: unknown): string | null {
  const cause = (err as { cause?: { code?: unknown; data?: unknown } } | null)?.cause;
  if (cause?.code !== 'HPE_INVALID_CONSTANT' || typeof cause.data !== 'string') return null;
  const d = cause.data;
  if (d.length < 8 || d.charCodeAt(7) !== FRAME_TYPE_ERROR || d.charCodeAt(4) + d.charCodeAt(5) + d.charCodeAt(6) !== 0) return null;
  const size = ((d.charCodeAt(0) << 24) | (d.charCodeAt(1) << 16) | (d.charCodeAt(2) << 8) | d.charCodeAt(3)) >>> 0;
  const code = ProtocolError.fromFrame(d.slice(8, 4 + Math.min(size, 200))).code;
  return `is a TCP port (answered ${code}), not an HTTP port`;
}

/** fetch's "fetch failed" names its reason in `cause`: an error saying which address and why, with the cause's code. */
export function fetchError(err: unknown, address: string): NsqError {
  if (err instanceof NsqError) return err;
  const e = err as Error & { cause?: NodeJS.ErrnoException };
  if (e.name === 'TimeoutError') return new NsqError('ETIMEDOUT', `connect to ${address}: timed out`);
  const tcp = tcpPortReason(err);
  if (tcp !== null) return new NsqError(E_WRONG_PORT, `${address} ${tcp}`);
  const code = e.cause?.code ?? E_HTTP;
  const why = code === 'ECONNREFUSED' ? 'connection refused' : (e.cause?.message ?? e.message);
  return new NsqError(code, `connect to ${address}: ${why}`);
}

/**
 * fetch with the answer's body read, all within `timeoutMs`. The deadline is our own (ref'd)
 * timer, not AbortSignal.timeout's unref'd one: Node 20's fetch never settles a request whose
 * connection is dropped before any answer, and with nothing else pending the process would exit 0
 * in the middle of its work.
 */
export async function fetchWithin(url: string, init: RequestInit, timeoutMs: number, what: string): Promise<{ status: number; text: string }> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new NsqError('ETIMEDOUT', `connect to ${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
  try {
    const res = await fetch(url, { ...init, signal: ac.signal });
    return { status: res.status, text: await res.text() };
  } catch (err) {
    throw fetchError(err, what);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The TLS options of a tool's TCP connections also apply to its HTTP calls to https:// addresses
 * (lookupd queries, `pub --http`, `top`). undici is loaded only when TLS options are given.
 */
export async function useTlsForHttps(transport: TransportOptions): Promise<void> {
  if (transport.tls === undefined) return;
  const { useHttpsOptions } = await import('../util/https-client.js');
  useHttpsOptions(transport.tls);
}

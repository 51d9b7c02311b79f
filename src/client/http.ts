// The clients' HTTP requests (lookupd queries, pub --http): one answer, read whole, within a deadline,
// and errors that say which address and why.

import { NsqError, type TransportOptions } from './connection.js';

/** fetch's "fetch failed" names its reason in `cause`: an error saying which address and why, with the cause's code. */
export function fetchError(err: unknown, address: string): NsqError {
  if (err instanceof NsqError) return err;
  const e = err as Error & { cause?: NodeJS.ErrnoException };
  if (e.name === 'TimeoutError') return new NsqError('ETIMEDOUT', `connect to ${address}: timed out`);
  const code = e.cause?.code ?? 'E_HTTP';
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

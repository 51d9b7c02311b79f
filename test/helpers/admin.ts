// Test helpers for `nsq admin`: the admin server spawned as users run it, on port 0, and requests to it.

import { spawnNsq, type Spawned, type Teardown } from './nsqd.js';

export interface AdminProc {
  proc: Spawned;
  /** http://127.0.0.1:port, without a trailing slash */
  url: string;
}

/** Starts `nsq admin <args> --http-address=127.0.0.1:0` and waits until it listens. */
export async function startAdmin(t: Teardown, args: string[]): Promise<AdminProc> {
  const proc = spawnNsq(t, ['admin', '--http-address=127.0.0.1:0', ...args]);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const m = /HTTP: listening on [^ ]*:(\d+)/.exec(proc.stderr());
    if (m !== null) return { proc, url: `http://127.0.0.1:${m[1]}` };
    if (proc.child.exitCode !== null) throw new Error(`nsq admin exited: ${proc.stderr()}`);
    if (Date.now() > deadline) throw new Error(`nsq admin did not start: ${proc.stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export async function call<T = Record<string, unknown>>(url: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> {
  const res = await fetch(url, {
    method,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // text answers (/ping, the page)
  }
  return { status: res.status, body: parsed as T };
}

/** The JSON type name of a value as the shape fixtures write it. */
export function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  return typeof v;
}

/** Each key of `shape` missing or of another type in `value` (a list of lines, [] when it matches). */
export function shapeDiff(value: Record<string, unknown>, shape: Record<string, string>, extras: readonly string[] = []): string[] {
  const out: string[] = [];
  for (const [k, type] of Object.entries(shape)) {
    if (!(k in value)) out.push(`missing ${k}`);
    else if (jsonType(value[k]) !== type) out.push(`${k}: ${jsonType(value[k])}, nsqadmin: ${type}`);
  }
  for (const k of Object.keys(value)) if (!(k in shape) && !extras.includes(k)) out.push(`extra ${k}`);
  return out;
}

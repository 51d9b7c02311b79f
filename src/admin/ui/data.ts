// The page's side of the admin API: where it lives (the base path the server put in the page),
// polling hooks, and actions. The live figures come from /api/model, the same TopModel as nsq top's.

import { useEffect, useRef, useState } from 'react';
import type { NodeStatus, TopicRow } from '../../top/model.js';
import type { LookupdSnapshot } from '../../top/poller.js';

export interface Model {
  at: number | null;
  nodes: NodeStatus[];
  lookupds: LookupdSnapshot[];
  topics: TopicRow[];
  totals: { nodesUp: number; nodesDown: number; inRate: number; outRate: number; depth: number; topics: number };
  version: string;
  can_act: boolean;
}

const root = document.getElementById('root')!;
export const BASE = root.dataset['basePath'] ?? '';
export const VERSION = root.dataset['version'] ?? '';
export const POLL_MS = 2000;

export class ApiError extends Error {}

export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(`${BASE}${path}`, { headers: { Accept: 'application/json' } });
  const body = (await res.json().catch(() => ({}))) as { message?: string };
  if (!res.ok) throw new ApiError(body.message ?? `HTTP ${res.status}`);
  return body as T;
}

/** An nsqadmin action; resolves with the answer's warning ('' when every node did it). */
export async function act(method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<string> {
  const res = await fetch(`${BASE}${path}`, { method, headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const answer = (await res.json().catch(() => ({}))) as { message?: string };
  if (!res.ok) throw new ApiError(answer.message ?? `HTTP ${res.status}`);
  return answer.message ?? '';
}

/** GETs `path` now and every POLL_MS; `version` bumps ask again at once (after an action). */
export function usePoll<T>(path: string | null, version = 0): { data: T | null; error: string | null } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const alive = useRef(true);
  useEffect(() => {
    alive.current = true;
    setData(null);
    setError(null);
    if (path === null) return undefined;
    let timer: number | undefined;
    const tick = async (): Promise<void> => {
      try {
        const d = await getJson<T>(path);
        if (!alive.current) return;
        setData(d);
        setError(null);
      } catch (e) {
        if (alive.current) setError(e instanceof Error ? e.message : String(e));
      }
      if (alive.current) timer = window.setTimeout(() => void tick(), POLL_MS);
    };
    void tick();
    return () => {
      alive.current = false;
      window.clearTimeout(timer);
    };
  }, [path, version]);
  return { data, error };
}

export function rate(n: number): string {
  if (n === 0) return '0';
  if (n < 10) return n.toFixed(1);
  return Math.round(n).toLocaleString('en-US');
}

export const count = (n: number): string => n.toLocaleString('en-US');

export const enc = encodeURIComponent;

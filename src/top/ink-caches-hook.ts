// A module hook (node:module register) that loads ink's measure-text.js and wrap-text.js with
// their caches bounded (ink-caches.ts); every other module loads untouched. Runs in Node's loader
// thread, registered by run.ts before ink is imported.

import { boundInkCaches, isInkCacheModule } from './ink-caches.js';

interface LoadResult {
  format?: string | null;
  source?: string | ArrayBuffer | Uint8Array | null;
  shortCircuit?: boolean;
}

type NextLoad = (url: string, context: unknown) => Promise<LoadResult>;

export async function load(url: string, context: unknown, nextLoad: NextLoad): Promise<LoadResult> {
  const result = await nextLoad(url, context);
  if (!isInkCacheModule(url) || result.source === undefined || result.source === null) return result;
  const text = typeof result.source === 'string' ? result.source : Buffer.from(result.source as Uint8Array).toString('utf8');
  return { ...result, source: boundInkCaches(url, text) };
}

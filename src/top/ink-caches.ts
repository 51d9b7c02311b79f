// ink 6 keeps every string it has measured or wrapped, for the life of the process: measure-text.js
// and wrap-text.js each hold a module-level cache with no eviction (vadimdemedes/ink#986; ink 7
// bounds them, and needs Node 22). A dashboard whose numbers change at every poll adds new strings
// at every frame: measured with `nsq top`'s App at 160x48, the heap grew 8 MB per 600 frames (ten
// minutes at 1 s polls), without end. These rewrite the two modules' sources so each cache starts
// over once it holds INK_CACHE_LIMIT entries (a frame of the dashboard needs a few hundred).
// Applied when ink is loaded: from node_modules through a module hook (ink-caches-hook.ts,
// registered by run.ts), into the single executable by scripts/build-exe.mjs.

import { register } from 'node:module';
import { isSingleExecutable, PACKAGE_ROOT } from '../version.js';

export const INK_CACHE_LIMIT = 2000;

/** Loads ink with its caches bounded from now on (call before ink is imported); the single executable has them bounded already. */
export function boundInkCachesOnLoad(): void {
  if (!isSingleExecutable()) register(new URL('dist/src/top/ink-caches-hook.js', PACKAGE_ROOT));
}

interface Rewrite {
  file: RegExp;
  /** each [the text in ink's source, what it becomes]; every one must be found */
  edits: [string, string][];
}

const REWRITES: Rewrite[] = [
  {
    file: /[\\/]ink[\\/]build[\\/]measure-text\.js$/,
    edits: [['    cache.set(text, dimensions);', `    if (cache.size >= ${INK_CACHE_LIMIT}) cache.clear();\n    cache.set(text, dimensions);`]],
  },
  {
    file: /[\\/]ink[\\/]build[\\/]wrap-text\.js$/,
    edits: [
      ['const cache = {};', 'let cache = {};\nlet cacheSize = 0;'],
      ['    cache[cacheKey] = wrappedText;', `    if (++cacheSize > ${INK_CACHE_LIMIT}) {\n        cache = {};\n        cacheSize = 1;\n    }\n    cache[cacheKey] = wrappedText;`],
    ],
  },
];

/** Whether `path` (a file path or file: URL) is one of the ink modules rewritten. */
export function isInkCacheModule(path: string): boolean {
  return REWRITES.some((r) => r.file.test(path));
}

/**
 * `source` of the ink module at `path` with its cache bounded; the source as it is for any other
 * file. Throws when ink's source is not the one these edits were written for (a new ink version):
 * better a failed build or start than a dashboard that leaks again unnoticed.
 */
export function boundInkCaches(path: string, source: string): string {
  const r = REWRITES.find((x) => x.file.test(path));
  if (r === undefined) return source;
  let out = source;
  for (const [from, to] of r.edits) {
    if (!out.includes(from)) throw new Error(`ink changed: ${path} no longer has \`${from.trim()}\` (src/top/ink-caches.ts bounds its cache)`);
    out = out.replace(from, to);
  }
  return out;
}

// The program's version and the nsqd protocol version it speaks.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export { NSQ_VERSION } from './protocol/constants.js';

/**
 * The package's root folder. This module is compiled to dist/src/version.js and bundled into
 * dist/bundle/main.cjs, both two levels below the root, so the same relative URL holds in both.
 */
export const PACKAGE_ROOT = new URL('../../', import.meta.url);

interface SeaModule {
  isSea(): boolean;
  getAsset(key: string): ArrayBuffer;
}

let sea: SeaModule | null | undefined;

/** node:sea when this process is the single executable (npm run build:exe), else null. */
function seaModule(): SeaModule | null {
  if (sea === undefined) {
    try {
      const s = createRequire(import.meta.url)('node:sea') as SeaModule;
      sea = s.isSea() ? s : null;
    } catch {
      sea = null;
    }
  }
  return sea;
}

/** Whether this process is the single executable (npm run build:exe). */
export function isSingleExecutable(): boolean {
  return seaModule() !== null;
}

/**
 * A file of the package (`package.json`, `help/nsq.100.txt`, `dist/admin-ui/app.js`): read from the
 * package's folder, or, in the single executable, from the assets built into it (scripts/build-exe.mjs).
 * Throws when there is no such file.
 */
export function readPackageFile(path: string): Buffer {
  const s = seaModule();
  if (s !== null) return Buffer.from(s.getAsset(path));
  return readFileSync(new URL(path, PACKAGE_ROOT));
}

let cached: string | undefined;

export function packageVersion(): string {
  if (cached === undefined) {
    const pkg = JSON.parse(readPackageFile('package.json').toString('utf8')) as { version: string };
    cached = pkg.version;
  }
  return cached;
}

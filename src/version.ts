// The program's version and the nsqd protocol version it speaks.

import { readFileSync } from 'node:fs';

export { NSQ_VERSION } from './protocol/constants.js';

/**
 * The package's root folder. This module is compiled to dist/src/version.js and bundled into
 * dist/bundle/main.cjs, both two levels below the root, so the same relative URL holds in both.
 */
export const PACKAGE_ROOT = new URL('../../', import.meta.url);

let cached: string | undefined;

export function packageVersion(): string {
  if (cached === undefined) {
    const pkg = JSON.parse(readFileSync(new URL('package.json', PACKAGE_ROOT), 'utf8')) as { version: string };
    cached = pkg.version;
  }
  return cached;
}

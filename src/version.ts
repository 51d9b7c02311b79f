// The program's version and the nsqd protocol version it speaks.

import { readFileSync } from 'node:fs';

export { NSQ_VERSION } from './protocol/constants.js';

let cached: string | undefined;

export function packageVersion(): string {
  if (cached === undefined) {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    cached = pkg.version;
  }
  return cached;
}

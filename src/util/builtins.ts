// Node built-ins that only some configurations use, loaded the first time one is needed: importing
// node:tls sets up OpenSSL's contexts (~6 ms and ~2 MiB before any TLS client exists) and node:zlib
// its bindings (~3 ms), which `nsq serve` without TLS or compression never needs. The types stay
// static (`import type` costs nothing at run time).

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

let tlsModule: typeof import('node:tls') | undefined;
let cryptoModule: typeof import('node:crypto') | undefined;
let zlibModule: typeof import('node:zlib') | undefined;

/** node:tls, loaded on first use. */
export function tls(): typeof import('node:tls') {
  return (tlsModule ??= require('node:tls') as typeof import('node:tls'));
}

/** node:zlib, loaded on first use. */
export function zlib(): typeof import('node:zlib') {
  return (zlibModule ??= require('node:zlib') as typeof import('node:zlib'));
}

/** node:crypto, loaded on first use (it sets up OpenSSL: ~0.7 MB resident at idle). */
export function crypto(): typeof import('node:crypto') {
  return (cryptoModule ??= require('node:crypto') as typeof import('node:crypto'));
}

// /config/:opt: options by their nsqd config-file names, valued as nsqd reports them
// (durations in nanoseconds, log level as a number, strings raw).

import { CONFIG_NAME_TO_FLAG, isListKind, NSQD_FLAGS } from './flags.js';
import type { NsqdOptions } from './options.js';
import { TLS_VERSIONS } from './tls.js';

const LEVEL_NUMBER: Record<string, number> = { debug: 1, info: 2, warn: 3, error: 4, fatal: 5 };

/** config key → [option field, kind] */
const KEYS = new Map<string, [keyof NsqdOptions, string]>();
for (const [flag, spec] of Object.entries(NSQD_FLAGS)) {
  if (isListKind(spec.kind) || spec.key === null) continue;
  KEYS.set(flag === 'node-id' ? 'id' : flag.replace(/-/g, '_'), [spec.key, spec.kind]);
}
// repeatable flags go by their plural config names (nsqlookupd_tcp_addresses, ...)
for (const [name, flag] of Object.entries(CONFIG_NAME_TO_FLAG)) {
  const spec = NSQD_FLAGS[flag];
  if (spec?.key && isListKind(spec.kind)) KEYS.set(name, [spec.key, 'list']);
}

export const CONFIG_KEYS: ReadonlySet<string> = new Set(KEYS.keys());

export function configValue(o: NsqdOptions, key: string): string | number | boolean | object | null {
  const entry = KEYS.get(key);
  if (entry === undefined) return null;
  const [field, kind] = entry;
  const v = o[field];
  if (kind === 'duration') return Math.round((v as number) * 1e6);
  if (kind === 'level') return LEVEL_NUMBER[v as string] ?? 2;
  // Go's tls.VersionTLS12 and friends
  if (kind === 'tls-version') return TLS_VERSIONS[v as string]?.wire ?? 0;
  if (kind === 'list') return (v as unknown[]).length === 0 && key === 'e2e_processing_latency_percentiles' ? null : (v as object);
  return v as string | number | boolean;
}

// nsqlookupd's flags as the server knows them: names as nsqlookupd spells them, each mapped to an
// option field and a kind (commands/flags/lookupd.ts reads the command line by this table).
// Defaults come from options.ts, so the help text and the server cannot disagree.

import { formatDuration } from '../util/duration.js';
import { LOG_LEVELS } from '../util/log.js';
import { defaultLookupdOptions, type LookupdOptions } from './options.js';

export type LookupdKind = 'string' | 'address' | 'duration' | 'level' | 'bool';

export interface LookupdFlagSpec {
  /** null: accepted for compatibility with nsqlookupd's command lines, and has no effect here */
  key: keyof LookupdOptions | null;
  kind: LookupdKind;
  describe: string;
  /** the default depends on the host: --help and the README say this instead of one host's value */
  hostDefault?: string;
}

export const LOOKUPD_FLAGS: Record<string, LookupdFlagSpec> = {
  'tcp-address': { key: 'tcpAddress', kind: 'address', describe: '<addr>:<port> to listen on for TCP clients' },
  'http-address': { key: 'httpAddress', kind: 'address', describe: '<addr>:<port> to listen on for HTTP clients' },
  'broadcast-address': { key: 'broadcastAddress', kind: 'string', describe: 'address of this lookupd node', hostDefault: 'the host name' },
  'inactive-producer-timeout': { key: 'inactiveProducerTimeout', kind: 'duration', describe: 'duration of time a producer will remain in the active list since its last ping' },
  'tombstone-lifetime': { key: 'tombstoneLifetime', kind: 'duration', describe: 'duration of time a producer will remain tombstoned if registration remains' },
  'log-level': { key: 'logLevel', kind: 'level', describe: `set log verbosity: ${LOG_LEVELS.join(', ')}` },
  'log-prefix': { key: 'logPrefix', kind: 'string', describe: 'log message prefix' },
  verbose: { key: null, kind: 'bool', describe: '[deprecated] has no effect, use --log-level' },
};

/** The default shown in --help, in the syntax the flag takes. */
export function lookupdFlagDefault(spec: LookupdFlagSpec, defaults: LookupdOptions = defaultLookupdOptions()): string {
  if (spec.key === null) return '';
  const v = defaults[spec.key];
  return spec.kind === 'duration' ? formatDuration(v as number) : String(v);
}

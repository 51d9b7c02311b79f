// nsqlookupd's command-line flags: names as nsqlookupd spells them, each mapped to an option field.
// Defaults come from lookupd.ts, so the help text and the server cannot disagree.

import { splitHostPort } from '../nsqd/listen.js';
import { formatDuration } from '../util/duration.js';
import { badFlag, boolFlag, durationFlag, lastValue, levelFlag, type ConfigFlag } from '../util/flag-values.js';
import { LOG_LEVELS } from '../util/log.js';
import { defaultLookupdOptions, type LookupdOptions } from './options.js';

type Kind = 'string' | 'address' | 'duration' | 'level' | 'bool';

export interface LookupdFlagSpec {
  /** null: accepted for compatibility with nsqlookupd's command lines, and has no effect here */
  key: keyof LookupdOptions | null;
  kind: Kind;
  describe: string;
}

export const LOOKUPD_FLAGS: Record<string, LookupdFlagSpec> = {
  'tcp-address': { key: 'tcpAddress', kind: 'address', describe: '<addr>:<port> to listen on for TCP clients' },
  'http-address': { key: 'httpAddress', kind: 'address', describe: '<addr>:<port> to listen on for HTTP clients' },
  'broadcast-address': { key: 'broadcastAddress', kind: 'string', describe: 'address of this lookupd node (defaults to the host name)' },
  'inactive-producer-timeout': { key: 'inactiveProducerTimeout', kind: 'duration', describe: 'duration of time a producer will remain in the active list since its last ping' },
  'tombstone-lifetime': { key: 'tombstoneLifetime', kind: 'duration', describe: 'duration of time a producer will remain tombstoned if registration remains' },
  'log-level': { key: 'logLevel', kind: 'level', describe: `set log verbosity: ${LOG_LEVELS.join(', ')}` },
  'log-prefix': { key: 'logPrefix', kind: 'string', describe: 'log message prefix' },
  verbose: { key: null, kind: 'bool', describe: '[deprecated] has no effect, use --log-level' },
};

/** A key of nsqlookupd's TOML config file (the flag's name with underscores), as the flag it sets. */
export function lookupdConfigFlag(key: string): ConfigFlag {
  const flag = key.replace(/_/g, '-');
  return LOOKUPD_FLAGS[flag] === undefined ? undefined : { flag, repeatable: false };
}

/** The default shown in --help, in the syntax the flag takes. */
export function lookupdFlagDefault(spec: LookupdFlagSpec, defaults: LookupdOptions = defaultLookupdOptions()): string {
  if (spec.key === null) return '';
  const v = defaults[spec.key];
  return spec.kind === 'duration' ? formatDuration(v as number) : String(v);
}


/** Turns parsed flag values (strings from yargs) into server options, rejecting bad ones. */
export function lookupdOptionsFromFlags(values: Record<string, unknown>): Partial<LookupdOptions> {
  const out: Record<string, unknown> = {};
  for (const [flag, spec] of Object.entries(LOOKUPD_FLAGS)) {
    const raw = values[flag];
    if (raw === undefined) continue;
    const text = lastValue(raw);
    if (spec.key === null) {
      // no effect, but nsqlookupd refuses what its flag type refuses
      if (spec.kind === 'bool') boolFlag(flag, text);
      continue;
    }
    switch (spec.kind) {
      case 'string':
        out[spec.key] = text;
        break;
      case 'address':
        try {
          splitHostPort(text, `--${flag}`);
        } catch {
          throw badFlag(flag, text, 'want host:port');
        }
        out[spec.key] = text;
        break;
      case 'duration':
        out[spec.key] = durationFlag(flag, text, 0);
        break;
      case 'level':
        out[spec.key] = levelFlag(flag, text);
        break;
      case 'bool':
        out[spec.key] = boolFlag(flag, text);
        break;
    }
  }
  return out as Partial<LookupdOptions>;
}

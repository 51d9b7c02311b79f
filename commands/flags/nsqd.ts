// nsqd's flags on the command line and in its --config file: yargs options from the engine's
// NSQD_FLAGS table, and their values read into NsqdOptions (a bad one is E_BAD_FLAG, exit 2).

import type { Argv } from 'yargs';
import { CONFIG_NAME_TO_FLAG, flagDefault, isListKind, NSQD_FLAGS } from '../../src/nsqd/flags.js';
import { TLS_NOT_REQUIRED, TLS_REQUIRED, TLS_REQUIRED_EXCEPT_HTTP, type NsqdOptions } from '../../src/nsqd/options.js';
import { TLS_VERSIONS } from '../../src/nsqd/tls.js';
import type { TomlValue } from '../../src/util/toml.js';
import { flagsFromConfigFile, withConfigFile, type ConfigFlag } from './config-file.js';
import type { FlagShape } from './plain-argv.js';
import { valueOption, badFlag, boolFlag, durationFlag, hostPortFlag, integerFlag, lastValue, levelFlag, listValue } from './values.js';

/** Every nsqd flag as a yargs option (values stay strings: they are read below, after --config). */
export function nsqdFlags<T>(y: Argv<T>, group = 'nsqd options:'): Argv<T> {
  for (const [flag, spec] of Object.entries(NSQD_FLAGS)) {
    if (isListKind(spec.kind)) y.option(flag, { type: 'string', array: true, nargs: 1, describe: spec.describe, group });
    // no yargs default: a value left unset can still come from --config (command line > config > default)
    else {
      const shown = spec.kind === 'int' || spec.kind === 'bytes' ? 'number' : spec.kind === 'bool' ? 'boolean' : spec.kind === 'duration' ? 'duration' : null;
      // (a host's own default would make the help text differ from host to host)
      const def = spec.key === null ? {} : { defaultDescription: spec.hostDefault ?? (shown === null ? JSON.stringify(String(flagDefault(spec))) : String(flagDefault(spec))) };
      if (shown === null) y.option(flag, { type: 'string', describe: spec.describe, ...def, group });
      else y.option(flag, valueOption(shown, { describe: spec.describe, ...def, group }));
    }
  }
  return y.option('config', { type: 'string', describe: "path to a config file in nsqd's TOML format (underscored option names)", group }) as unknown as Argv<T>;
}

/** The same flags as nsqdFlags declares them to yargs, for the start-up path that reads them without it. */
export function nsqdFlagShapes(): Record<string, FlagShape> {
  const shapes: Record<string, FlagShape> = { config: {} };
  for (const [flag, spec] of Object.entries(NSQD_FLAGS)) shapes[flag] = isListKind(spec.kind) ? { list: true } : spec.kind === 'bool' ? { bare: true } : {};
  return shapes;
}

/** A key of nsqd's TOML config file, as the flag it sets. */
export function nsqdConfigFlag(key: string): ConfigFlag {
  const flag = CONFIG_NAME_TO_FLAG[key] ?? key.replace(/_/g, '-');
  const spec = NSQD_FLAGS[flag];
  return spec === undefined ? undefined : { flag, repeatable: isListKind(spec.kind) };
}

/** Reads nsqd's TOML config file into flag values (by flag name). */
export const flagsFromConfig = (config: Record<string, TomlValue>, file: string): Record<string, unknown> => flagsFromConfigFile(config, file, nsqdConfigFlag);

/** The engine's options from the command line over its --config file. */
export async function readNsqdOptions(cli: Record<string, unknown>): Promise<Partial<NsqdOptions>> {
  return optionsFromFlags(await withConfigFile(cli, nsqdConfigFlag));
}

/** Turns parsed flag values (strings from yargs or the config file) into engine options, rejecting bad ones. */
export function optionsFromFlags(values: Record<string, unknown>): Partial<NsqdOptions> {
  const out: Record<string, unknown> = {};
  for (const [flag, spec] of Object.entries(NSQD_FLAGS)) {
    const raw = values[flag];
    if (raw === undefined) continue;
    if (spec.key === null) {
      // no effect, but nsqd refuses what its flag type refuses
      if (spec.kind === 'bool') boolFlag(flag, raw);
      continue;
    }
    if (spec.kind === 'floats') {
      const nums = listValue(raw).map((v) => {
        const n = Number(v);
        if (!Number.isFinite(n) || n <= 0 || n > 1) throw badFlag(flag, v, 'want a number in (0, 1.0]');
        return n;
      });
      out[spec.key] = [...new Set(nums)];
      continue;
    }
    if (spec.kind === 'list' || spec.kind === 'urls' || spec.kind === 'topics' || spec.kind === 'channels') {
      const list = listValue(raw);
      for (const a of list) {
        if (spec.kind === 'topics') {
          // a topic name, where * stands for any characters
          if (!/^[.a-zA-Z0-9_*-]{1,64}$/.test(a)) throw badFlag(flag, a, 'want a topic name, * matching any characters');
          continue;
        }
        if (spec.kind === 'channels') {
          if (!/^[.a-zA-Z0-9_*-]{1,64}\/[.a-zA-Z0-9_*#-]{1,64}$/.test(a)) throw badFlag(flag, a, 'want <topic>/<channel>, * matching any characters');
          continue;
        }
        if (spec.kind === 'urls' && /^https?:\/\/[^\s]+$/.test(a)) continue;
        if (spec.kind === 'urls') {
          if (!/^(\[[^\]]+\]|[^:\s]+):\d{1,5}$/.test(a)) throw badFlag(flag, a, 'want host:port or an http(s):// URL');
        } else hostPortFlag(flag, a);
      }
      out[spec.key] = list;
      continue;
    }
    const text = lastValue(raw);
    switch (spec.kind) {
      case 'string':
        out[spec.key] = text;
        break;
      case 'address':
        out[spec.key] = hostPortFlag(flag, text);
        break;
      case 'int':
        out[spec.key] = integerFlag(flag, text);
        break;
      case 'bytes':
        if (integerFlag(flag, text) <= 0) throw badFlag(flag, text, 'want a positive size in bytes');
        out[spec.key] = Number(text);
        break;
      case 'duration':
        out[spec.key] = durationFlag(flag, text);
        break;
      case 'bool':
        out[spec.key] = boolFlag(flag, text);
        break;
      case 'method':
        // nsqd: --auth-http-request-method must be post or get
        if (text !== 'get' && text !== 'post') throw badFlag(flag, text, 'want get or post');
        out[spec.key] = text;
        break;
      case 'format':
        if (text !== 'text' && text !== 'json') throw badFlag(flag, text, 'want text or json');
        out[spec.key] = text;
        break;
      case 'level':
        out[spec.key] = levelFlag(flag, text);
        break;
      case 'tls-required': {
        // Go's strconv.ParseBool words, or tcp-https; a bare flag means true
        const lower = text.toLowerCase();
        if (lower === 'tcp-https') out[spec.key] = TLS_REQUIRED_EXCEPT_HTTP;
        else if (['', '1', 't', 'true'].includes(lower)) out[spec.key] = TLS_REQUIRED;
        else if (['0', 'f', 'false'].includes(lower)) out[spec.key] = TLS_NOT_REQUIRED;
        else throw badFlag(flag, text, 'want true, false or tcp-https');
        break;
      }
      case 'tls-version':
        // nsqd leaves the default for an empty value (its example config has tls_min_version = "")
        if (text === '') break;
        if (!(text.toLowerCase() in TLS_VERSIONS)) throw badFlag(flag, text, `want one of ${Object.keys(TLS_VERSIONS).join(', ')}`);
        out[spec.key] = text.toLowerCase();
        break;
      case 'degraded':
        if (text !== 'refuse' && text !== 'accept') throw badFlag(flag, text, 'want refuse or accept');
        out[spec.key] = text;
        break;
      case 'tls-policy':
        if (text !== '' && text !== 'require' && text !== 'require-verify') throw badFlag(flag, text, 'want require or require-verify');
        out[spec.key] = text;
        break;
    }
  }
  const o = out as Partial<NsqdOptions>;
  if (o.nodeId !== undefined && (o.nodeId < 0 || o.nodeId >= 1024)) throw badFlag('node-id', o.nodeId, 'must be in range [0,1024)');
  if (o.replicationFactor !== undefined && (o.replicationFactor < 1 || o.replicationFactor > 16)) throw badFlag('replication-factor', o.replicationFactor, 'want 1 to 16');
  return o;
}

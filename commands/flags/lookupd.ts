// nsqlookupd's flags on the command line and in its --config file: yargs options from the
// server's LOOKUPD_FLAGS table, and their values read into LookupdOptions.

import type { Argv } from 'yargs';
import { LOOKUPD_FLAGS, lookupdFlagDefault } from '../../src/lookupd/flags.js';
import type { LookupdOptions } from '../../src/lookupd/options.js';
import { withConfigFile, type ConfigFlag } from './config-file.js';
import type { FlagShape } from './plain-argv.js';
import { valueOption, boolFlag, durationFlag, hostPortFlag, lastValue, levelFlag } from './values.js';

/** Every nsqlookupd flag as a yargs option (strings: read below, after --config). */
export function lookupdFlags<T>(y: Argv<T>, group = 'nsqlookupd options:'): Argv<T> {
  for (const [flag, spec] of Object.entries(LOOKUPD_FLAGS)) {
    // no yargs default: a value left unset can still come from --config (command line > config > default)
    const shown = spec.kind === 'bool' ? 'boolean' : spec.kind === 'duration' ? 'duration' : null;
    const def = spec.key === null ? {} : { defaultDescription: spec.hostDefault ?? (shown === null ? JSON.stringify(lookupdFlagDefault(spec)) : lookupdFlagDefault(spec)) };
    if (shown === null) y.option(flag, { type: 'string', describe: spec.describe, ...def, group });
    else y.option(flag, valueOption(shown, { describe: spec.describe, ...def, group }));
  }
  return y.option('config', { type: 'string', describe: "path to a config file in nsqlookupd's TOML format (underscored option names)", group }) as unknown as Argv<T>;
}

/** The same flags as lookupdFlags declares them to yargs, for the start-up path that reads them without it. */
export function lookupdFlagShapes(): Record<string, FlagShape> {
  const shapes: Record<string, FlagShape> = { config: {} };
  for (const [flag, spec] of Object.entries(LOOKUPD_FLAGS)) shapes[flag] = spec.kind === 'bool' ? { bare: true } : {};
  return shapes;
}

/** A key of nsqlookupd's TOML config file (the flag's name with underscores), as the flag it sets. */
export function lookupdConfigFlag(key: string): ConfigFlag {
  const flag = key.replace(/_/g, '-');
  return LOOKUPD_FLAGS[flag] === undefined ? undefined : { flag, repeatable: false };
}

/** The server's options from the command line over its --config file. */
export async function readLookupdOptions(cli: Record<string, unknown>): Promise<Partial<LookupdOptions>> {
  return lookupdOptionsFromFlags(await withConfigFile(cli, lookupdConfigFlag));
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
        out[spec.key] = hostPortFlag(flag, text);
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

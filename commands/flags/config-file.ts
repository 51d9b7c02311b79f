// nsqd's and nsqlookupd's `--config` file (TOML, underscored option names): read into flag values
// that sit under the command line's (command line > config file > default), as Go's
// options.Resolve orders them.

import { UserError } from '../../src/util/errors.js';
import type { TomlValue } from '../../src/util/toml.js';

/** How a config file's option maps to a flag: `repeatable` flags take arrays. */
export type ConfigFlag = { flag: string; repeatable: boolean } | undefined;

/** Unknown options are an error, as they would be on the command line. */
export function flagsFromConfigFile(config: Record<string, TomlValue>, file: string, lookup: (key: string) => ConfigFlag): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    const known = lookup(key);
    if (known === undefined) throw new UserError(`${file}: unknown option "${key}"`, 'E_CONFIG', 1);
    if (known.repeatable) out[known.flag] = Array.isArray(value) ? value.map(String) : [String(value)];
    else if (Array.isArray(value)) throw new UserError(`${file}: option "${key}" takes one value`, 'E_CONFIG', 1);
    else out[known.flag] = String(value);
  }
  return out;
}

export async function withConfigFile(cli: Record<string, unknown>, lookup: (key: string) => ConfigFlag): Promise<Record<string, unknown>> {
  const file = cli['config'];
  if (typeof file !== 'string' || file === '') return cli;
  // loaded only for a --config: the daemons' start-up path does without them
  const [{ readFile }, { parseToml }] = await Promise.all([import('node:fs/promises'), import('../../src/util/toml.js')]);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'E_CONFIG', 1);
  }
  const flags = flagsFromConfigFile(parseToml(text, file), file, lookup);
  for (const [k, v] of Object.entries(cli)) if (v !== undefined) flags[k] = v;
  return flags;
}

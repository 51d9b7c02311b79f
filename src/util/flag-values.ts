// Reading flag values the way Go's flag package does, for every command's flag table: the last of
// repeated values wins, durations in Go syntax, and one-line errors (exit 2) naming the flag.

import { readFile } from 'node:fs/promises';
import { DurationError, parseDuration } from './duration.js';
import { UserError } from './errors.js';
import { isLogLevel, LOG_LEVELS, type LogLevel } from './log.js';
import { parseToml, type TomlValue } from './toml.js';

export function badFlag(flag: string, value: unknown, why: string): UserError {
  return new UserError(`invalid value "${String(value)}" for flag --${flag}: ${why}`, 'E_BAD_FLAG', 2);
}

/** A flag given more than once: the last one wins. */
export function lastValue(raw: unknown): string {
  return String(Array.isArray(raw) ? raw[raw.length - 1] : raw);
}

/** Milliseconds from a Go duration; `min` (ms) is the smallest allowed. */
export function durationFlag(flag: string, text: string, min = -Infinity): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    if (err instanceof DurationError) throw badFlag(flag, text, err.message);
    throw err;
  }
  if (ms < min) throw badFlag(flag, text, `want a duration of ${min === 0 ? '0' : String(min) + 'ms'} or more`);
  return ms;
}

export function levelFlag(flag: string, text: string): LogLevel {
  const level = text.toLowerCase();
  if (!isLogLevel(level)) throw badFlag(flag, text, `want one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

/** Go's flag package's words for a boolean; a bare flag (empty value) means true. */
export function boolFlag(flag: string, text: string): boolean {
  if (['', 'true', '1', 't', 'T', 'TRUE', 'True'].includes(text)) return true;
  if (['false', '0', 'f', 'F', 'FALSE', 'False'].includes(text)) return false;
  throw badFlag(flag, text, 'want true or false');
}

/** How a config file's option maps to a flag: `repeatable` flags take arrays. */
export type ConfigFlag = { flag: string; repeatable: boolean } | undefined;

/**
 * Reads a TOML config file (nsqd's and nsqlookupd's `-config`) into flag values (by flag name).
 * Unknown options are an error, as they would be on the command line.
 */
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

/**
 * The command line's flag values with the `--config` file's under them (command line > config >
 * default), as Go's options.Resolve orders them.
 */
export async function withConfigFile(cli: Record<string, unknown>, lookup: (key: string) => ConfigFlag): Promise<Record<string, unknown>> {
  const file = cli['config'];
  if (typeof file !== 'string' || file === '') return cli;
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

// Reading flag values the way Go's flag package does, for every command: the last of repeated
// values wins, integers, Go's boolean words, Go durations, host:port; and the one-line error
// (E_BAD_FLAG, exit 2) naming the flag. The only place flag values are checked.

import { DurationError, parseDuration } from '../../src/util/duration.js';
import { UserError } from '../../src/util/errors.js';
import { parseHostPort, stripHttpScheme } from '../../src/util/host-port.js';
import { isLogLevel, LOG_LEVELS, type LogLevel } from '../../src/util/log.js';

/** Exit status of a usage error (bad flag, bad value, missing argument). */
export const EXIT_USAGE = 2;

/** `invalid value "x" for flag --name: why` */
export function badFlag(flag: string, value: unknown, why: string): UserError {
  return new UserError(`invalid value "${String(value)}" for flag ${flag.length === 1 ? "-" : "--"}${flag}: ${why}`, "E_BAD_FLAG", EXIT_USAGE);
}

/** A usage error that is not about one flag's value (a missing topic, two flags that exclude each other). */
export function usageError(message: string, code = 'E_USAGE'): UserError {
  return new UserError(message, code, EXIT_USAGE);
}

/** A flag given more than once: the last one wins. */
export function lastValue(raw: unknown): string {
  return String(Array.isArray(raw) ? raw[raw.length - 1] : raw);
}

/** A repeatable flag's values, comma-separated ones split, blanks dropped, duplicates once. */
export function listValue(raw: unknown): string[] {
  if (raw === undefined) return [];
  const list = (Array.isArray(raw) ? raw : [raw]).flatMap((v) => String(v).split(',')).map((s) => s.trim());
  return [...new Set(list.filter((s) => s !== ''))];
}

/** An integer of at least `min` (and at most `max`). */
export function integerFlag(flag: string, raw: unknown, min = -Infinity, max = Infinity): number {
  const text = lastValue(raw).trim();
  const n = /^-?\d+$/.test(text) ? Number(text) : NaN;
  const want = max !== Infinity ? `want an integer from ${min} to ${max}` : min !== -Infinity ? `want an integer >= ${min}` : 'want an integer';
  if (!Number.isSafeInteger(n) || n < min || n > max) throw badFlag(flag, lastValue(raw), want);
  return n;
}

/** A number (fractions allowed) of at least `min`. */
export function numberFlag(flag: string, raw: unknown, min = -Infinity): number {
  const text = lastValue(raw).trim();
  const n = text === '' ? NaN : Number(text);
  if (!Number.isFinite(n)) throw badFlag(flag, lastValue(raw), 'want a number');
  if (n < min) throw badFlag(flag, text, `want a number >= ${min}`);
  return n;
}

/** The `min` of a duration or number that must be above zero. */
export const POSITIVE = Number.MIN_VALUE;

/** Milliseconds from a Go duration; `min` (ms) is the smallest allowed (POSITIVE: above zero). */
export function durationFlag(flag: string, raw: unknown, min = -Infinity): number {
  const text = lastValue(raw);
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    if (err instanceof DurationError) throw badFlag(flag, text, err.message);
    throw err;
  }
  if (ms < min) throw badFlag(flag, text, min === 0 ? 'must not be negative' : min === POSITIVE ? 'must be positive' : `want a duration of ${min}ms or more`);
  return ms;
}

export function levelFlag(flag: string, raw: unknown): LogLevel {
  const text = lastValue(raw);
  const level = text.toLowerCase();
  if (!isLogLevel(level)) throw badFlag(flag, text, `want one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

/** Go's flag package's words for a boolean; a bare flag (empty value) means true. */
export function boolFlag(flag: string, raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  const text = lastValue(raw);
  if (['', 'true', '1', 't', 'T', 'TRUE', 'True'].includes(text)) return true;
  if (['false', '0', 'f', 'F', 'FALSE', 'False'].includes(text)) return false;
  throw badFlag(flag, text, 'want true or false');
}

/** One of a fixed set of words. */
export function choiceFlag<T extends string>(flag: string, raw: unknown, choices: readonly T[]): T {
  const text = lastValue(raw);
  if (!(choices as readonly string[]).includes(text)) throw badFlag(flag, text, `want ${choices.length === 2 ? choices.join(' or ') : `one of ${choices.join(', ')}`}`);
  return text as T;
}

export interface HostPortRules {
  /** a dialled address may leave the port out */
  defaultPort?: number;
  /** an HTTP address may say its scheme: http(s)://host:port */
  http?: boolean;
}

/** A host:port value (checked, returned as given). */
export function hostPortFlag(flag: string, text: string, rules: HostPortRules = {}): string {
  const bare = rules.http === true ? stripHttpScheme(text) : text;
  const a = parseHostPort(bare, rules.defaultPort);
  if (a === null || (rules.defaultPort !== undefined && a.port === 0)) throw badFlag(flag, text, rules.http === true ? 'want host:port or http(s)://host:port' : 'want host:port');
  return text;
}

/** A repeatable host:port flag: every value checked, `fallback` when none is given. */
export function addressesFlag(flag: string, raw: unknown, fallback: string[], rules: HostPortRules = {}): string[] {
  const list = listValue(raw);
  if (list.length === 0) return fallback;
  return list.map((a) => hostPortFlag(flag, a, rules));
}

export interface ValueOption {
  describe: string;
  default?: string | number | boolean;
  defaultDescription?: string;
  group?: string;
  alias?: string;
}

/**
 * A yargs option whose value our readers check (so yargs leaves it as typed: "abc" reaches
 * integerFlag as "abc", not NaN), shown in --help as [number], [boolean] or [duration].
 */
export function valueOption(shown: 'number' | 'boolean' | 'duration', o: ValueOption): ValueOption & { requiresArg?: boolean } {
  return { ...o, describe: `${o.describe} [${shown}]`, ...(shown === 'boolean' ? {} : { requiresArg: true }) };
}

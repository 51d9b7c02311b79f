// Reading flag values the way Go's flag package does, for every command's flag table: the last of
// repeated values wins, durations in Go syntax, and one-line errors (exit 2) naming the flag.

import { DurationError, parseDuration } from './duration.js';
import { UserError } from './errors.js';
import { isLogLevel, LOG_LEVELS, type LogLevel } from './log.js';

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

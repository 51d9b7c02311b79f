// `--help` without yargs: yargs' own help texts, rendered by `npm run completions` into help/ at the
// two widths most runs ask for (100: output that is not a terminal; 110: a terminal at least that
// wide), so `nsq <command> --help` costs a file read instead of yargs and its text layout (~3x
// `node -e 0`). Any other width, or a missing file, goes to yargs as before; a test fails when
// the files drift from what yargs renders.

import { readPackageFile } from '../src/version.js';
import { COMMAND_NAMES } from './aliases.js';

export const PRERENDERED_WIDTHS: readonly number[] = [100, 110];

/** The width yargs wraps help to: the terminal's, at most 110; 100 when not a terminal. */
export const helpWidth = (): number => Math.min(110, process.stdout.columns || 100);

const isHelp = (a: string | undefined): boolean => a === '--help' || a === '-h';

/** `nsq`, `nsq-tail` or `nsqd` for `nsq --help`, `nsq tail --help` or `nsqd --help`; null for anything else. */
export function helpInvocation(name: string, args: readonly string[]): string | null {
  if (args.length === 1 && isHelp(args[0])) return name;
  if (name === 'nsq' && args.length === 2 && COMMAND_NAMES.includes(args[0]!) && isHelp(args[1])) return `nsq-${args[0]}`;
  return null;
}

export const helpFileName = (invocation: string, width: number): string => `${invocation}.${width}.txt`;

/** The rendered help of an invocation at this width, or null when there is none. */
export function prerenderedHelp(invocation: string, width: number): string | null {
  if (!PRERENDERED_WIDTHS.includes(width)) return null;
  try {
    return readPackageFile(`help/${helpFileName(invocation, width)}`).toString('utf8');
  } catch {
    return null;
  }
}

// Message templates for `nsq pub --count`: `{{count}}`, `{{time}}`, `{{random}}` and the names
// `nats pub` accepts ({{Count}}, {{TimeStamp}}, {{Random 5 10}} ...), filled in per message.

import { randomBytes, randomInt } from 'node:crypto';

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const DEFAULT_RANDOM_LENGTH = 16;
const ID_LENGTH = 22;

/** A template the command line must refuse: an unknown name, or bad arguments. */
export class TemplateError extends Error {
  readonly code = 'E_TEMPLATE';
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

type Part = string | ((n: number, now: Date) => string);

/** One message's text with its templates filled in for message number `n` (1-based) at `now`. */
export type Template = (n: number, now: Date) => string;

function alnum(length: number): string {
  const bytes = randomBytes(length);
  let s = '';
  for (let i = 0; i < length; i++) s += ALNUM[bytes[i]! % ALNUM.length];
  return s;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** Go's time.Kitchen ("3:04PM"), local time, as nats's {{Time}}. */
function kitchen(d: Date): string {
  const h = d.getHours();
  return `${h % 12 === 0 ? 12 : h % 12}:${pad(d.getMinutes())}${h < 12 ? 'AM' : 'PM'}`;
}

/** RFC 3339 to the second in UTC, as nats's {{TimeStamp}} (which uses the local zone). */
const rfc3339 = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

function randomPart(args: string[], text: string): Part {
  if (args.length === 0) return () => alnum(DEFAULT_RANDOM_LENGTH);
  const nums = args.map((a) => (/^\d+$/.test(a) ? Number(a) : NaN));
  const [min, max] = nums.length === 1 ? [nums[0]!, nums[0]!] : nums;
  if (nums.length > 2 || !Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min! > max!) {
    throw new TemplateError(`bad template ${text}: want {{random}}, {{random N}} or {{random MIN MAX}} (lengths)`);
  }
  return () => alnum(min === max ? min! : randomInt(min!, max! + 1));
}

/** Names without arguments; `count`, `time` and `random` are the lowercase names, the rest are nats's. */
const NAMED: Record<string, (n: number, now: Date) => string> = {
  count: (n) => String(n),
  Count: (n) => String(n),
  Cnt: (n) => String(n),
  time: (_, now) => now.toISOString(),
  TimeStamp: (_, now) => rfc3339(now),
  Time: (_, now) => kitchen(now),
  Unix: (_, now) => String(Math.floor(now.getTime() / 1000)),
  UnixNano: (_, now) => `${now.getTime()}000000`,
  ID: () => alnum(ID_LENGTH),
};

/** Whether `text` holds anything that looks like a template. */
export function hasTemplates(text: string): boolean {
  return /\{\{.*?\}\}/s.test(text);
}

/**
 * Compiles `text`: each `{{ name args }}` (spaces and a leading dot, as in Go templates, are
 * optional) becomes a function of the message number and time. Throws TemplateError for a name
 * it does not know, so a typo is a usage error rather than a million messages with braces in them.
 */
export function compileTemplate(text: string): Template {
  const parts: Part[] = [];
  let last = 0;
  for (const m of text.matchAll(/\{\{(.*?)\}\}/gs)) {
    if (m.index! > last) parts.push(text.slice(last, m.index));
    last = m.index! + m[0].length;
    const words = m[1]!.trim().split(/\s+/).filter((w) => w !== '');
    const name = (words[0] ?? '').replace(/^\./, '');
    const args = words.slice(1);
    if (name === 'random' || name === 'Random') {
      parts.push(randomPart(args, m[0]));
      continue;
    }
    const fn = NAMED[name];
    if (fn === undefined || args.length > 0) {
      throw new TemplateError(`unknown template ${m[0]}: want {{count}}, {{time}}, {{random}} (or nats's {{Count}}, {{TimeStamp}}, {{Time}}, {{Unix}}, {{UnixNano}}, {{ID}}, {{Random MIN MAX}})`);
    }
    parts.push(fn);
  }
  if (last < text.length) parts.push(text.slice(last));
  if (parts.every((p) => typeof p === 'string')) {
    const fixed = parts.join('');
    return () => fixed;
  }
  return (n, now) => {
    let s = '';
    for (const p of parts) s += typeof p === 'string' ? p : p(n, now);
    return s;
  };
}

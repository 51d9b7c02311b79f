// The part of TOML that nsqd's and nsqlookupd's config files use: `key = value` lines with strings,
// numbers, booleans and (possibly multi-line) arrays, comments, blank lines. Tables are not needed.

import { UserError } from './errors.js';

export type TomlValue = string | number | boolean | TomlValue[];

class Reader {
  pos = 0;
  constructor(
    readonly text: string,
    readonly file: string,
  ) {}

  get line(): number {
    return this.text.slice(0, this.pos).split('\n').length;
  }

  fail(why: string): never {
    throw new UserError(`${this.file}:${this.line}: ${why}`, 'E_CONFIG', 1);
  }

  /** Skips spaces, and newlines and comments when `lines`. */
  skip(lines: boolean): void {
    for (;;) {
      const c = this.text[this.pos];
      if (c === ' ' || c === '\t' || c === '\r' || (lines && c === '\n')) this.pos++;
      else if (c === '#' ) while (this.pos < this.text.length && this.text[this.pos] !== '\n') this.pos++;
      else return;
    }
  }

  value(): TomlValue {
    this.skip(false);
    const c = this.text[this.pos];
    if (c === '"' || c === "'") return this.string(c);
    if (c === '[') return this.array();
    const m = /^[^\s,\]#]+/.exec(this.text.slice(this.pos));
    if (m === null) this.fail('expected a value');
    this.pos += m[0].length;
    const word = m[0];
    if (word === 'true') return true;
    if (word === 'false') return false;
    const n = Number(word.replace(/_/g, ''));
    if (/^[+-]?(\d[\d_]*)(\.\d+)?([eE][+-]?\d+)?$/.test(word) && Number.isFinite(n)) return n;
    return this.fail(`cannot read value ${JSON.stringify(word)} (strings need quotes)`);
  }

  string(quote: string): string {
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined || c === '\n') this.fail('unterminated string');
      this.pos++;
      if (c === quote) return out;
      if (c === '\\' && quote === '"') {
        const e = this.text[this.pos++];
        const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' };
        if (e === undefined || !(e in map)) this.fail(`unknown escape \\${e ?? ''}`);
        out += map[e]!;
      } else {
        out += c;
      }
    }
  }

  array(): TomlValue[] {
    this.pos++;
    const out: TomlValue[] = [];
    for (;;) {
      this.skip(true);
      if (this.text[this.pos] === ']') {
        this.pos++;
        return out;
      }
      out.push(this.value());
      this.skip(true);
      if (this.text[this.pos] === ',') this.pos++;
      else if (this.text[this.pos] !== ']') this.fail('expected , or ] in array');
    }
  }
}

export function parseToml(text: string, file = 'config'): Record<string, TomlValue> {
  const r: Reader = new Reader(text, file);
  const out: Record<string, TomlValue> = {};
  for (;;) {
    r.skip(true);
    if (r.pos >= text.length) return out;
    if (text[r.pos] === '[') r.fail('tables ([section]) are not used in this config file');
    const m = /^([A-Za-z0-9_-]+)[ \t]*=/.exec(text.slice(r.pos));
    if (m === null) r.fail('expected key = value');
    r.pos += m[0].length;
    out[m[1]!] = r.value();
    r.skip(false);
    if (r.pos < text.length && text[r.pos] !== '\n') r.fail('unexpected text after the value');
  }
}

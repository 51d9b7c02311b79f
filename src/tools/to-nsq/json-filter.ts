// nsq to-nsq's JSON options, as nsq_to_nsq has them: --require-json-field (and -value) pass only
// the messages whose JSON object has that field (with that value); --whitelist-json-field passes
// only those fields of the object. A message that is not a JSON object does not pass.

export interface JsonFilterOptions {
  requireField: string | null;
  /** compared with a string field as text, with a number field as a number (when it reads as one) */
  requireValue: string | null;
  whitelist: string[];
}

export type FilterResult = { pass: true; body: Buffer } | { pass: false; why: string | null };

/** A decimal number as Go's strconv.ParseFloat reads it (its Inf, NaN and hex forms match no JSON number anyway). */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Go's encoding/json escapes these in strings (HTML safety, JavaScript line terminators). */
const GO_ESCAPED = /[<>&\u2028\u2029]/g;
const goEscape = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

export class JsonFilter {
  readonly active: boolean;
  #o: JsonFilterOptions;
  #valueNumber: number | null;

  constructor(opts: JsonFilterOptions) {
    this.#o = opts;
    this.active = opts.requireField !== null || opts.whitelist.length > 0;
    const v = opts.requireValue;
    this.#valueNumber = v !== null && NUMBER.test(v) ? Number(v) : null;
  }

  apply(body: Buffer): FilterResult {
    let js: unknown;
    try {
      js = JSON.parse(body.toString('utf8'));
    } catch {
      return { pass: false, why: 'not JSON' };
    }
    if (js === null || typeof js !== 'object' || Array.isArray(js)) return { pass: false, why: 'not a JSON object' };
    const obj = js as Record<string, unknown>;
    const o = this.#o;
    if (o.requireField !== null) {
      if (!Object.hasOwn(obj, o.requireField)) {
        // nsq_to_nsq requeues these (forever, or until go-nsq's max_attempts); here they are left out
        return { pass: false, why: o.requireValue !== null ? `no field ${JSON.stringify(o.requireField)} to check the required value in` : null };
      }
      if (o.requireValue !== null && !this.#matches(obj[o.requireField])) return { pass: false, why: null };
    }
    if (o.whitelist.length === 0) return { pass: true, body };
    // Go marshals a map: keys in sorted order
    const out: Record<string, unknown> = {};
    for (const key of [...new Set(o.whitelist)].sort()) if (Object.hasOwn(obj, key)) out[key] = obj[key];
    return { pass: true, body: Buffer.from(JSON.stringify(out).replace(GO_ESCAPED, goEscape)) };
  }

  #matches(v: unknown): boolean {
    if (typeof v === 'string') return v === this.#o.requireValue;
    // a value that does not read as a number matches no number; other types never match
    return typeof v === 'number' && this.#valueNumber !== null && v === this.#valueNumber;
  }
}

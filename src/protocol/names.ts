// Topic and channel name rules, as nsqd enforces them.

const NAME_RE = /^[.a-zA-Z0-9_-]+(#ephemeral)?$/;
/** The rule above in words, for the command line's errors. */
export const NAME_RULE = '1-64 characters of [.a-zA-Z0-9_-], optionally ending in #ephemeral';
const EPHEMERAL_SUFFIX = '#ephemeral';

function isValidName(name: string): boolean {
  return name.length >= 1 && name.length <= 64 && NAME_RE.test(name);
}

export function isValidTopicName(name: string): boolean {
  return isValidName(name);
}

export function isValidChannelName(name: string): boolean {
  return isValidName(name);
}

export function isEphemeral(name: string): boolean {
  return name.endsWith(EPHEMERAL_SUFFIX);
}

const GO_ESCAPES: Record<number, string> = { 7: '\\a', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t', 11: '\\v', 34: '\\"', 92: '\\\\' };

/** Go's %q of raw bytes (a latin1 string holds one byte per char), as nsqd quotes names in errors. */
export function goQuote(raw: string): string {
  const b = Buffer.from(raw, 'latin1');
  let out = '"';
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    if (c < 0x80) {
      const esc = GO_ESCAPES[c];
      if (esc !== undefined) out += esc;
      else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
      else out += String.fromCharCode(c);
      i++;
      continue;
    }
    const n = c >= 0xf0 && c < 0xf8 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
    const seq = n > 0 && i + n <= b.length ? b.subarray(i, i + n) : null;
    const text = seq === null ? '' : seq.toString('utf8');
    const cp = text.codePointAt(0) ?? 0xfffd;
    if (seq === null || cp === 0xfffd || Buffer.byteLength(text) !== n) {
      out += `\\x${c.toString(16).padStart(2, '0')}`;
      i++;
      continue;
    }
    // C1 controls are not printable in Go either
    out += cp >= 0x80 && cp < 0xa0 ? `\\u${cp.toString(16).padStart(4, '0')}` : text;
    i += n;
  }
  return out + '"';
}

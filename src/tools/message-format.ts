// How a consumer tool prints a message (nsq tail's --format): raw, JSON lines or a template, written
// straight into a reusable batch buffer so a burst of messages is one write.

import { isUtf8 } from 'node:buffer';
import type { Message as ClientMessage } from '../client/connection.js';
import { isoTimestamp } from '../util/iso-time.js';

/** What a formatter reads of a message: a consumer's, or one `nsq peek` was shown. */
export type Message = Pick<ClientMessage, 'id' | 'timestamp' | 'attempts' | 'body'>;

/** Batches up to this size are copied out so the scratch buffer can be reused. */
const SMALL_BATCH = 16 * 1024;
const SCRATCH_SIZE = 64 * 1024;
const NEWLINE = 0x0a;

/** A format the tool cannot print with (the command line reports it as a usage error). */
export class FormatError extends Error {
  readonly code = 'E_BAD_FORMAT';
}

// ---- output batch ------------------------------------------------------------------------------

/** Bytes for one write: messages are formatted straight into a reusable scratch buffer. */
export class Batch {
  #buf = Buffer.allocUnsafe(SCRATCH_SIZE);
  length = 0;

  #ensure(n: number): void {
    if (this.length + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.length + n));
    this.#buf.copy(next, 0, 0, this.length);
    this.#buf = next;
  }

  bytes(b: Buffer): void {
    this.#ensure(b.length);
    b.copy(this.#buf, this.length);
    this.length += b.length;
  }

  text(s: string): void {
    // a UTF-16 code unit never takes more than 3 bytes of UTF-8
    this.#ensure(s.length * 3);
    this.length += this.#buf.write(s, this.length, 'utf8');
  }

  byte(c: number): void {
    this.#ensure(1);
    this.#buf[this.length++] = c;
  }

  /** Hands the bytes over and starts empty. */
  take(): Buffer {
    const n = this.length;
    this.length = 0;
    if (n <= SMALL_BATCH) return Buffer.from(this.#buf.subarray(0, n));
    const out = this.#buf.subarray(0, n);
    this.#buf = Buffer.allocUnsafe(SCRATCH_SIZE);
    return out;
  }
}

// ---- formats -----------------------------------------------------------------------------------

/** What a formatter knows besides the message. */
export interface Source {
  topic: string;
  channel: string;
  /** the nsqd the message came from, host:port */
  nsqd: string;
}

export type Formatter = (msg: Message, src: Source, out: Batch) => void;

export { isoTimestamp };

export const TEMPLATE_FIELDS = ['topic', 'channel', 'id', 'timestamp', 'timestamp_ns', 'attempts', 'size', 'body', 'body_base64', 'body_hex', 'nsqd'] as const;
type Field = (typeof TEMPLATE_FIELDS)[number];

function renderField(field: Field, msg: Message, src: Source, out: Batch): void {
  switch (field) {
    case 'topic':
      return out.text(src.topic);
    case 'channel':
      return out.text(src.channel);
    case 'id':
      return out.text(msg.id);
    case 'timestamp':
      return out.text(isoTimestamp(msg.timestamp));
    case 'timestamp_ns':
      return out.text(String(msg.timestamp));
    case 'attempts':
      return out.text(String(msg.attempts));
    case 'size':
      return out.text(String(msg.body.length));
    case 'body':
      return out.bytes(msg.body);
    case 'body_base64':
      return out.text(msg.body.toString('base64'));
    case 'body_hex':
      return out.text(msg.body.toString('hex'));
    case 'nsqd':
      return out.text(src.nsqd);
  }
}

/** `Body`, `.BodyBase64`, ` timestamp_ns ` → the field's snake_case name. */
function fieldName(raw: string): string {
  return raw
    .trim()
    .replace(/^\./, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', '\\': '\\' };

/** Compiles `{{field}}` / `{{.Field}}` placeholders; `\n`, `\t` and `\\` in the text are escapes. */
export function compileTemplate(template: string): (Buffer | Field)[] {
  const parts: (Buffer | Field)[] = [];
  const re = /\{\{([^{}]*)\}\}/g;
  let last = 0;
  const literal = (s: string): void => {
    const text = s.replace(/\\([nt\\])/g, (_m, c: string) => ESCAPES[c]!);
    if (text !== '') parts.push(Buffer.from(text));
  };
  for (let m = re.exec(template); m !== null; m = re.exec(template)) {
    literal(template.slice(last, m.index));
    const name = fieldName(m[1]!);
    if (!(TEMPLATE_FIELDS as readonly string[]).includes(name)) {
      throw new FormatError(`unknown field {{${m[1]!.trim()}}} in --format; fields: ${TEMPLATE_FIELDS.join(', ')}`);
    }
    parts.push(name as Field);
    last = m.index + m[0].length;
  }
  literal(template.slice(last));
  return parts;
}

/** One line per message for --format (raw, json or a template), with --print-topic's prefix. */
export function makeFormatter(format: string, printTopic: boolean): Formatter {
  const prefixes = new Map<string, Buffer>();
  const prefix = (topic: string): Buffer => {
    let p = prefixes.get(topic);
    if (p === undefined) prefixes.set(topic, (p = Buffer.from(`${topic} | `)));
    return p;
  };
  if (format === 'raw') {
    return (msg, src, out) => {
      if (printTopic) out.bytes(prefix(src.topic));
      out.bytes(msg.body);
      out.byte(NEWLINE);
    };
  }
  if (format === 'json') {
    // the topic is a field of its own: --print-topic would only break the JSON
    const heads = new Map<string, string>();
    return (msg, src, out) => {
      const key = `${src.topic}\n${src.channel}`;
      let head = heads.get(key);
      if (head === undefined) heads.set(key, (head = `{"topic":${JSON.stringify(src.topic)},"channel":${JSON.stringify(src.channel)},"id":`));
      const body = isUtf8(msg.body) ? `"body":${JSON.stringify(msg.body.toString('utf8'))}` : `"encoding":"base64","body":"${msg.body.toString('base64')}"`;
      out.text(`${head}${JSON.stringify(msg.id)},"timestamp":"${isoTimestamp(msg.timestamp)}","attempts":${msg.attempts},${body}}\n`);
    };
  }
  if (format.includes('{{')) {
    const parts = compileTemplate(format);
    return (msg, src, out) => {
      if (printTopic) out.bytes(prefix(src.topic));
      for (const part of parts) {
        if (typeof part === 'string') renderField(part, msg, src, out);
        else out.bytes(part);
      }
      out.byte(NEWLINE);
    };
  }
  throw new FormatError(`invalid value ${JSON.stringify(format)} for flag --format: want raw, json or a template such as '{{timestamp}} {{body}}'`);
}

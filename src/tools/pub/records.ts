// Records out of a byte stream: the splitter (any delimiter, any chunking) and the reading loop
// that numbers them, leaves out empty ones and waits at the gate before each submit.

import type { Readable } from 'node:stream';

export interface RecordOptions {
  delimiter: Buffer;
  allowEmpty: boolean;
  /**
   * The input's own final newline ("\n" or "\r\n") is not part of the last record: text ends
   * with one (`printf 'a,b\n'`), so with another delimiter the last record would carry it.
   */
  trimFinalNewline: boolean;
}

/** `last` without one trailing "\n" or "\r\n". */
export function withoutFinalNewline(last: Buffer): Buffer {
  if (last.length === 0 || last[last.length - 1] !== 0x0a) return last;
  return last.subarray(0, last.length - (last.length >= 2 && last[last.length - 2] === 0x0d ? 2 : 1));
}

/** Where the records go: the publisher. */
export interface RecordSink {
  /** empty records left out (without allowEmpty) */
  skipped: number;
  submit(n: number, body: Buffer): void;
}

/**
 * Cuts a byte stream into records at a delimiter of any length. Records are views of the chunks
 * (no copy) unless one spans chunks; a delimiter may itself be split across chunks.
 */
export class RecordSplitter {
  readonly #delim: Buffer;
  #parts: Buffer[] = [];
  #partsLength = 0;

  constructor(delimiter: Buffer) {
    if (delimiter.length === 0) throw new RangeError('empty delimiter');
    this.#delim = delimiter;
  }

  /** Appends the complete records in `chunk` to `out`. */
  push(chunk: Buffer, out: Buffer[]): void {
    const d = this.#delim;
    let from = 0;
    if (this.#partsLength > 0 && d.length > 1) {
      // a delimiter that began in the held bytes and ends in this chunk
      const k = Math.min(d.length - 1, this.#partsLength);
      const probe = Buffer.concat([this.#tail(k), chunk.subarray(0, d.length - 1)]);
      const p = probe.indexOf(d);
      if (p !== -1 && p < k) {
        out.push(this.#take().subarray(0, this.#partsLength - (k - p)));
        this.#reset();
        from = d.length - (k - p);
      }
    }
    for (;;) {
      const i = chunk.indexOf(d, from);
      if (i === -1) break;
      if (this.#partsLength > 0) {
        this.#parts.push(chunk.subarray(from, i));
        out.push(Buffer.concat(this.#parts));
        this.#reset();
      } else {
        out.push(chunk.subarray(from, i));
      }
      from = i + d.length;
    }
    if (from < chunk.length) {
      this.#parts.push(from === 0 ? chunk : chunk.subarray(from));
      this.#partsLength += chunk.length - from;
    }
  }

  /** The last record, which has no delimiter after it (null if there is none). */
  end(): Buffer | null {
    if (this.#partsLength === 0) return null;
    const last = this.#take();
    this.#reset();
    return last;
  }

  #take(): Buffer {
    if (this.#parts.length > 1) this.#parts = [Buffer.concat(this.#parts, this.#partsLength)];
    return this.#parts[0]!;
  }

  /** The last k held bytes, without joining every part (a long record may span many chunks). */
  #tail(k: number): Buffer {
    const parts: Buffer[] = [];
    let need = k;
    for (let i = this.#parts.length - 1; i >= 0 && need > 0; i--) {
      const p = this.#parts[i]!;
      parts.unshift(p.length <= need ? p : p.subarray(p.length - need));
      need -= p.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  #reset(): void {
    this.#parts = [];
    this.#partsLength = 0;
  }
}

/** Reads records from `input` until it ends or `stopped` says so; calls `submit` with 1-based numbers. */
export async function readRecords(
  input: Readable,
  cfg: RecordOptions,
  pub: RecordSink,
  gate: () => Promise<boolean>,
  stopped: () => boolean,
): Promise<void> {
  const splitter = new RecordSplitter(cfg.delimiter);
  let n = 0;
  const batch: Buffer[] = [];
  const take = async (records: Buffer[]): Promise<boolean> => {
    for (const r of records) {
      n++;
      if (r.length === 0 && !cfg.allowEmpty) {
        pub.skipped++;
        continue;
      }
      if (!(await gate())) return false;
      pub.submit(n, r);
    }
    return true;
  };
  try {
    for await (const chunk of input) {
      if (stopped()) break;
      splitter.push(chunk as Buffer, batch);
      const ok = await take(batch);
      batch.length = 0;
      if (!ok) break;
    }
  } catch (err) {
    if (!stopped()) throw err;
  }
  if (stopped()) return;
  const last = splitter.end();
  if (last !== null) await take([cfg.trimFinalNewline ? withoutFinalNewline(last) : last]);
}

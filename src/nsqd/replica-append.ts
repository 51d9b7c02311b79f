// Reading a durable file back into replication APPEND frames, in whole segment-log batches: what an
// origin sends its replicas as its files grow, and what a replica streams back to a node that
// restores from it (docs/replication.md, "Running" and "Return").

import { readSync } from 'node:fs';
import { encodeAppendInPlace } from '../protocol/replication.js';

/** Most bytes of file data one APPEND frame carries (whole batches; a bigger single batch goes alone). */
export const APPEND_CHUNK = 4 * 1024 * 1024;

/** Stop reading files for a peer while this much waits in its socket; 'drain' resumes. */
export const SEND_HIGH_WATER = 16 * 1024 * 1024;

export type AppendsEnd =
  /** every byte up to `to` went out */
  | 'done'
  /** `emit` asked to stop (a full socket): go on from `reached` later */
  | 'paused'
  /** the file is shorter than `to` or has no whole batch at `reached` (sent up to there) */
  | 'short';

/**
 * Emits APPEND frames (`seq`, `name`) for bytes [from, to) of the open file `fd`, read straight into
 * each frame. `emit` gets the frame and the offset it ends at; returning false pauses after it.
 */
export function readAppends(fd: number, name: string, seq: number, from: number, to: number, emit: (frame: Buffer, end: number) => boolean): { end: AppendsEnd; reached: number } {
  let pos = from;
  const header = Buffer.allocUnsafe(8);
  while (pos < to) {
    // whole batches up to APPEND_CHUNK bytes (at least one, however big)
    let end = pos;
    while (end < to) {
      if (readSync(fd, header, 0, 8, end) < 8) break;
      const next = end + 8 + header.readUInt32BE(0);
      if (next > to || (next - pos > APPEND_CHUNK && end > pos)) break;
      end = next;
    }
    if (end === pos) return { end: 'short', reached: pos };
    let short = false;
    const frame = encodeAppendInPlace(seq, name, pos, end - pos, (buf, at) => {
      const want = end - pos;
      let got = 0;
      while (got < want) {
        const n = readSync(fd, buf, at + got, want - got, pos + got);
        if (n === 0) break;
        got += n;
      }
      short = got < want;
    });
    if (short) return { end: 'short', reached: pos };
    pos = end;
    if (!emit(frame, end) && pos < to) return { end: 'paused', reached: pos };
  }
  return { end: 'done', reached: pos };
}

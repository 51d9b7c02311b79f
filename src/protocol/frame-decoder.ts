// Incremental decoder for the server→client direction of protocol V2:
// frames of [4-byte size][4-byte frame type][data]. Used by every client in the project.

import { FRAME_TYPE_ERROR, FRAME_TYPE_MESSAGE, FRAME_TYPE_RESPONSE } from './constants.js';

export interface FrameSink {
  /** One frame; `buf[start, end)` is its data, valid only during the call unless copied. */
  onFrame(frameType: number, buf: Buffer, start: number, end: number): void;
  onDecodeError(err: Error): void;
}

export class FrameDecodeError extends Error {
  readonly code = 'E_BAD_FRAME';
}

export const DEFAULT_MAX_FRAME_SIZE = 64 * 1024 * 1024;

export class FrameDecoder {
  #sink: FrameSink;
  #maxFrameSize: number;
  #pending: Buffer | null = null;
  #stopped = false;
  #divert: ((rest: Buffer) => void) | null = null;

  constructor(sink: FrameSink, maxFrameSize = DEFAULT_MAX_FRAME_SIZE) {
    this.#sink = sink;
    this.#maxFrameSize = maxFrameSize;
  }

  stop(): void {
    this.#stopped = true;
    this.#pending = null;
  }

  /**
   * After the current frame, hand every following byte to `sink` instead of decoding it (the
   * stream is about to be encrypted or compressed; the new layer decodes and pushes back).
   */
  divert(sink: (rest: Buffer) => void): void {
    this.#divert = sink;
  }

  push(chunk: Buffer): void {
    if (this.#stopped) return;
    let buf = chunk;
    if (this.#pending !== null) {
      buf = Buffer.concat([this.#pending, chunk]);
      this.#pending = null;
    }
    let pos = 0;
    const len = buf.length;
    while (len - pos >= 4 && !this.#stopped) {
      const size = buf.readUInt32BE(pos);
      if (size < 4 || size > this.#maxFrameSize) {
        this.stop();
        this.#sink.onDecodeError(new FrameDecodeError(`invalid frame size ${size}`));
        return;
      }
      if (len - pos - 4 < size) break;
      const frameType = buf.readUInt32BE(pos + 4);
      if (frameType !== FRAME_TYPE_RESPONSE && frameType !== FRAME_TYPE_ERROR && frameType !== FRAME_TYPE_MESSAGE) {
        this.stop();
        this.#sink.onDecodeError(new FrameDecodeError(`unknown frame type ${frameType}`));
        return;
      }
      const start = pos + 8;
      pos += 4 + size;
      this.#sink.onFrame(frameType, buf, start, pos);
      if (this.#divert !== null) {
        const sink = this.#divert;
        this.#divert = null;
        sink(buf.subarray(pos));
        return;
      }
    }
    if (pos < len && !this.#stopped) this.#pending = buf.subarray(pos);
  }
}

// A raw protocol V2 connection for tests: send exact bytes, read frames one at a time.

import { connect, type Socket } from 'node:net';
import { MAGIC_V2 } from '../../src/protocol/constants.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';

export interface Frame {
  type: number;
  data: Buffer;
  text: string;
}

export class RawConn {
  readonly socket: Socket;
  #frames: Frame[] = [];
  #waiters: ((f: Frame | null) => void)[] = [];
  #closed = false;
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    const decoder = new FrameDecoder({
      onFrame: (type, buf, start, end) => {
        const data = Buffer.from(buf.subarray(start, end));
        this.#push({ type, data, text: data.toString() });
      },
      onDecodeError: (err) => socket.destroy(err),
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.#closed = true;
        for (const w of this.#waiters.splice(0)) w(null);
        resolve();
      });
    });
    socket.on('error', () => {});
  }

  static async open(port: number, magic: Buffer | null = MAGIC_V2): Promise<RawConn> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new RawConn(socket);
    if (magic !== null) socket.write(magic);
    return c;
  }

  #push(f: Frame): void {
    const w = this.#waiters.shift();
    if (w) w(f);
    else this.#frames.push(f);
  }

  send(data: Buffer | string): void {
    this.socket.write(data);
  }

  /** The next frame, or null when the connection closed first. Heartbeats are skipped unless asked for. */
  async next(timeoutMs = 5000, skipHeartbeats = true): Promise<Frame | null> {
    for (;;) {
      const f = await this.#nextAny(timeoutMs);
      if (f !== null && skipHeartbeats && f.type === 0 && f.text === '_heartbeat_') continue;
      return f;
    }
  }

  #nextAny(timeoutMs: number): Promise<Frame | null> {
    const f = this.#frames.shift();
    if (f) return Promise.resolve(f);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(done);
        if (i !== -1) this.#waiters.splice(i, 1);
        reject(new Error(`no frame within ${timeoutMs}ms`));
      }, timeoutMs);
      const done = (fr: Frame | null): void => {
        clearTimeout(timer);
        resolve(fr);
      };
      this.#waiters.push(done);
    });
  }

  /** Resolves true if no frame arrives within `ms` (and the connection stays open). */
  async quietFor(ms: number): Promise<boolean> {
    try {
      const f = await this.next(ms);
      if (f === null) return false;
      this.#frames.unshift(f);
      return false;
    } catch {
      return true;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** An MPUB body as nsqd reads it: `[4-byte count]([4-byte size][bytes])*`. */
export function mpubBody(bodies: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.alloc(4)];
  parts[0]!.writeInt32BE(bodies.length);
  for (const b of bodies) {
    const size = Buffer.alloc(4);
    size.writeInt32BE(b.length);
    parts.push(size, b);
  }
  return Buffer.concat(parts);
}

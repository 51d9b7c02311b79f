// Test helpers for lookupd: an in-process server on random loopback ports, and a raw protocol V1
// connection that reads answers one at a time.

import { connect, type Socket } from 'node:net';
import { encodeCommandWithBody } from '../../src/protocol/encoders.js';
import { V1ResponseDecoder } from '../../src/protocol/lookup-v1.js';
import { NSQLookupd } from '../../src/lookupd/lookupd.js';
import type { LookupdOptions } from '../../src/lookupd/options.js';
import { Logger } from '../../src/util/log.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A lookupd on 127.0.0.1:0 (TCP and HTTP) unless addresses are given; it stops when the test ends. */
export async function startLookupd(t: Teardown, options: Partial<LookupdOptions> = {}): Promise<NSQLookupd> {
  const quiet = new Logger(process.env['NSQ_TEST_LOG'] ? 'debug' : 'fatal', '[nsqlookupd] ');
  const l = new NSQLookupd({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', ...options }, quiet);
  await l.start();
  t.teardown(() => l.stop());
  return l;
}

/** IDENTIFY with `info` as its JSON body (undefined fields left out, as JSON.stringify does). */
export function identifyCommand(info: Record<string, unknown>): Buffer {
  return encodeCommandWithBody('IDENTIFY', JSON.stringify(info));
}

/** A raw V1 connection: send bytes, read [size][data] answers one at a time. */
export class V1Conn {
  readonly socket: Socket;
  #responses: string[] = [];
  #waiters: ((r: string | null) => void)[] = [];
  #closed = false;
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    const decoder = new V1ResponseDecoder((data) => {
      const text = data.toString('latin1');
      const w = this.#waiters.shift();
      if (w) w(text);
      else this.#responses.push(text);
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.#closed = true;
        for (const w of this.#waiters.splice(0)) w(null);
        resolve();
      }),
    );
  }

  static async open(t: Teardown, port: number, magic = '  V1'): Promise<V1Conn> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    t.teardown(() => socket.destroy());
    if (magic !== '') socket.write(magic, 'latin1');
    return new V1Conn(socket);
  }

  /** "ip:port" of our end, as the server names this peer */
  get localAddress(): string {
    return `${this.socket.localAddress}:${this.socket.localPort}`;
  }

  send(data: Buffer | string): void {
    this.socket.write(data);
  }

  /** The next answer, or null once the server closed the connection. */
  next(timeoutMs = 5000): Promise<string | null> {
    const r = this.#responses.shift();
    if (r !== undefined) return Promise.resolve(r);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no response within ${timeoutMs}ms`)), timeoutMs);
      this.#waiters.push((v) => {
        clearTimeout(timer);
        resolve(v);
      });
    });
  }

  async command(line: string): Promise<string | null> {
    this.send(`${line}\n`);
    return this.next();
  }

  async identify(info: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.send(identifyCommand(info));
    const r = await this.next();
    if (r === null) throw new Error('closed after IDENTIFY');
    return JSON.parse(r) as Record<string, unknown>;
  }
}

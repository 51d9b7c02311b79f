// Runs `nsq serve` as a child process for one bench case: spawn on port 0, read the ports from
// its log, talk HTTP to it, read its RSS from /proc, and stop it by PID — always, even on error.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TopicStats } from '../src/protocol/stats-json.js';

/** bin/nsq.js, resolved from dist/bench/server.js */
const NSQ_BIN = fileURLToPath(new URL('../../bin/nsq.js', import.meta.url));
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
/** log lines kept for the error message when the server dies */
const LOG_TAIL = 40;

export interface ServerOptions {
  memQueueSize: number;
  /** write a V8 CPU profile of the server into this directory (node --cpu-prof) */
  cpuProfDir?: string;
  /** more `nsq serve` flags (--durable, --data-path=...) */
  args?: string[];
  /** how long start() waits for the ports (default 10 s; a data path with many topics takes longer) */
  startTimeoutMs?: number;
  /** start `nsq lookupd` instead of `nsq serve` (memQueueSize is then ignored) */
  lookupd?: boolean;
  /** more environment variables for the server (NSQD_SCAN_TIMING=...) */
  env?: Record<string, string>;
}

/** Every server still running, so an exiting bench never leaves one behind. */
const LIVE = new Set<ChildProcess>();

process.on('exit', () => {
  for (const child of LIVE) child.kill('SIGKILL');
});

export class BenchServer {
  readonly child: ChildProcess;
  readonly pid: number;
  tcpPort = 0;
  httpPort = 0;
  #log: string[] = [];
  #listeners: ((line: string) => void)[] = [];
  #exited: Promise<number | null>;
  #exitCode: number | null | undefined = undefined;

  private constructor(child: ChildProcess) {
    this.child = child;
    this.pid = child.pid!;
    LIVE.add(child);
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        LIVE.delete(child);
        this.#exitCode = code ?? (signal === null ? null : -1);
        resolve(this.#exitCode);
      });
    });
  }

  static async start(opts: ServerOptions): Promise<BenchServer> {
    const nodeArgs: string[] = [];
    if (opts.cpuProfDir !== undefined) {
      mkdirSync(opts.cpuProfDir, { recursive: true });
      nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`);
    }
    const child = spawn(
      process.execPath,
      [
        ...nodeArgs,
        NSQ_BIN,
        opts.lookupd === true ? 'lookupd' : 'serve',
        '--tcp-address=127.0.0.1:0',
        '--http-address=127.0.0.1:0',
        ...(opts.lookupd === true ? [] : [`--mem-queue-size=${opts.memQueueSize}`]),
        ...(opts.args ?? []),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], ...(opts.env !== undefined ? { env: { ...process.env, ...opts.env } } : {}) },
    );
    if (child.pid === undefined) {
      await new Promise((resolve) => child.once('error', resolve));
      throw new Error('could not spawn nsq serve');
    }
    const server = new BenchServer(child);
    try {
      await server.#waitForPorts(opts.startTimeoutMs ?? START_TIMEOUT_MS);
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  #waitForPorts(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let partial = '';
      const timer = setTimeout(() => fail(new Error(`nsq serve did not report its ports within ${timeoutMs} ms`)), timeoutMs);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        reject(new Error(`${err.message}\n${this.logTail()}`));
      };
      this.child.stderr!.setEncoding('utf8');
      // keep draining stderr for the whole run: a full pipe would stall the server
      this.child.stderr!.on('data', (text: string) => {
        const lines = (partial + text).split('\n');
        partial = lines.pop()!;
        for (const line of lines) {
          this.#log.push(line);
          if (this.#log.length > LOG_TAIL) this.#log.shift();
          for (const fn of this.#listeners) fn(line);
          const m = /(TCP|HTTP): listening on .*:(\d+)\s*$/.exec(line);
          if (m !== null) {
            if (m[1] === 'TCP') this.tcpPort = Number(m[2]);
            else this.httpPort = Number(m[2]);
            if (this.tcpPort !== 0 && this.httpPort !== 0) {
              clearTimeout(timer);
              resolve();
            }
          }
        }
      });
      this.#exited.then((code) => fail(new Error(`nsq serve exited (code ${code}) before listening`)));
    });
  }

  /** Calls `fn` with every line the server logs from now on. */
  onLog(fn: (line: string) => void): void {
    this.#listeners.push(fn);
  }

  /** The last lines the server logged, for error reports. */
  logTail(): string {
    return this.#log.map((l) => `  | ${l}`).join('\n');
  }

  get running(): boolean {
    return this.#exitCode === undefined;
  }

  /** Resolves when the server process exits; a bench awaits this to notice a crash. */
  get exited(): Promise<number | null> {
    return this.#exited;
  }

  /** Resident set size and its peak, in bytes, from /proc/<pid>/status. */
  memory(): { rss: number; hwm: number } {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = (key: string): number => {
      const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
      if (m === null) throw new Error(`no ${key} in /proc/${this.pid}/status`);
      return Number(m[1]) * 1024;
    };
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  }

  async http(method: 'GET' | 'POST', path: string): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.httpPort}${path}`, { method });
    const body = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${body}`);
    return body;
  }

  async createChannel(topic: string, channel: string): Promise<void> {
    await this.http('POST', `/topic/create?topic=${encodeURIComponent(topic)}`);
    await this.http('POST', `/channel/create?topic=${encodeURIComponent(topic)}&channel=${encodeURIComponent(channel)}`);
  }

  /** Queued messages of a topic and of its channels, from /stats. */
  async depths(topic: string): Promise<{ topic: number; channels: Record<string, number> }> {
    const stats = JSON.parse(await this.http('GET', `/stats?format=json&topic=${encodeURIComponent(topic)}`)) as { topics: TopicStats[] };
    const t = stats.topics.find((x) => x.topic_name === topic);
    if (t === undefined) throw new Error(`topic ${topic} not in /stats`);
    return { topic: t.depth, channels: Object.fromEntries(t.channels.map((c) => [c.channel_name, c.depth])) };
  }

  /** SIGKILL now (a crash), and wait until the process is gone. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.#exited;
  }

  /** SIGTERM, then SIGKILL if it has not exited in time. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (this.running) this.child.kill('SIGKILL');
    }, STOP_TIMEOUT_MS);
    await this.#exited;
    clearTimeout(timer);
  }
}

/**
 * Starts a server, runs `fn` against it, and stops it whatever happens: `fn` failing, the
 * server dying, or `timeoutMs` passing. Stopping the server also closes `fn`'s connections,
 * which makes anything `fn` still awaits fail and unwind.
 */
export async function withServer<T>(opts: ServerOptions, timeoutMs: number, fn: (server: BenchServer) => Promise<T>): Promise<T> {
  const server = await BenchServer.start(opts);
  let timer: NodeJS.Timeout | undefined;
  try {
    const crashed = server.exited.then((code) => {
      throw new Error(`nsq serve exited unexpectedly (code ${code})\n${server.logTail()}`);
    });
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`case did not finish within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    crashed.catch(() => {});
    timedOut.catch(() => {});
    return await Promise.race([fn(server), crashed, timedOut]);
  } finally {
    clearTimeout(timer);
    await server.stop();
  }
}

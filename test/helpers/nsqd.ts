// Test helpers: an in-process nsqd on random loopback ports, and the real binary as a child process.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NSQD } from '../../src/nsqd/nsqd.js';
import type { NsqdOptions } from '../../src/nsqd/options.js';
import { Logger } from '../../src/util/log.js';

export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A fresh temporary folder, removed when the test ends. */
export function tempDir(t: Teardown, prefix = 'nsq-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Starts an engine on 127.0.0.1:0 (TCP and HTTP) with its own temporary data path (unless one is
 * given); it stops when the test ends.
 */
export async function startNsqd(t: Teardown, options: Partial<NsqdOptions> = {}): Promise<NSQD> {
  const quiet = new Logger(process.env['NSQ_TEST_LOG'] ? 'debug' : 'fatal', '[nsqd] ');
  const ownDir = options.dataPath === undefined ? mkdtempSync(join(tmpdir(), 'nsqd-data-')) : null;
  const nsqd = new NSQD({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', ...options, dataPath: options.dataPath ?? ownDir! }, quiet);
  await nsqd.start();
  t.teardown(async () => {
    await nsqd.stop();
    if (ownDir !== null) rmSync(ownDir, { recursive: true, force: true });
  });
  return nsqd;
}

export const BIN = fileURLToPath(new URL('../../../bin/nsq.js', import.meta.url));

export interface Spawned {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs the compiled `nsq` executable with arguments, in a fresh temporary folder unless `cwd` is
 * given (so a server's default data path is its own); killed (by PID) when the test ends.
 */
export function spawnNsq(
  t: Teardown,
  args: string[],
  opts: { argv0?: string; input?: string; cwd?: string; /** a command that runs node in another environment (e.g. nsenter into a namespace) */ wrapper?: string[]; /** stdin left open for the test to write to */ open?: boolean } = {},
): Spawned {
  const cwd = opts.cwd ?? tempDir(t, 'nsq-cwd-');
  const node = [process.execPath, opts.argv0 ?? BIN, ...args];
  const [cmd, ...rest] = opts.wrapper !== undefined ? [...opts.wrapper, ...node] : node;
  const child = spawn(cmd!, rest, { stdio: ['pipe', 'pipe', 'pipe'], cwd });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdin!.on('error', () => {});
  if (opts.input !== undefined) child.stdin!.end(opts.input);
  else if (opts.open !== true) child.stdin!.end();
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, stderr: () => err, stdout: () => out, exit };
}

/** Waits until the spawned server logs both listening addresses; returns their ports. */
export async function serverPorts(s: Spawned, timeoutMs = 10_000): Promise<{ tcp: number; http: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const tcp = /TCP: listening on .*:(\d+)/.exec(s.stderr());
    const http = /HTTP: listening on .*:(\d+)/.exec(s.stderr());
    if (tcp && http) return { tcp: Number(tcp[1]), http: Number(http[1]) };
    if (s.child.exitCode !== null) throw new Error(`server exited early: ${s.stderr()}`);
    if (Date.now() > deadline) throw new Error(`server did not start: ${s.stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

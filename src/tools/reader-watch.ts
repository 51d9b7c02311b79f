// Noticing that the reader of stdout has gone (`nsq tail | head -n 1`) while nothing is written:
// on a quiet topic a write's EPIPE would only come with the next message, maybe never.
//
// Linux tells the write end of a pipe only through poll() (POLLERR), and Node polls a pipe only
// while a write is pending. What was measured not to work (Node 20, Linux 6.x): a zero-length
// write (the kernel lets a null write succeed), readStart on stdout's handle (ENOTCONN: the fd is
// write-only), opening /proc/self/fd/1 with O_NONBLOCK (ENXIO is for named FIFOs only), fs.watch
// on it (no events for pipes). What works:
// - a pipe: a helper polls for us. GNU tail (coreutils 8.28 and later) follows /dev/null with our
//   stdout as its own, checks its output about once a second and dies of SIGPIPE when the reader
//   has gone (measured: 30 ms after `head` exits, about 1 s later for a reader that exits while
//   tail sleeps). `--pid` makes it leave within a second of us, however we end.
// - a socket (a parent process's stdio pipe): it is readable, so reading it sees the end when the
//   other side closes (measured: 15 ms).
// Elsewhere (no GNU tail, other systems) nothing changes: the next write notices.

import { spawn, type ChildProcess } from 'node:child_process';
import { fstatSync } from 'node:fs';
import type { Writable } from 'node:stream';

/** Calls `gone` once the reader of `out` (fd `fd`) has gone; returns a function that stops watching. */
export function watchReader(out: Writable, fd: number, gone: () => void): () => void {
  let st;
  try {
    st = fstatSync(fd);
  } catch {
    return () => {};
  }
  if (st.isSocket()) return watchSocket(out, gone);
  if (st.isFIFO() && process.platform === 'linux') return watchPipe(fd, gone);
  return () => {};
}

function watchPipe(fd: number, gone: () => void): () => void {
  let helper: ChildProcess;
  try {
    helper = spawn('tail', ['-f', '-s', '1', `--pid=${process.pid}`, '/dev/null'], { stdio: ['ignore', fd, 'ignore'] });
  } catch {
    return () => {};
  }
  let watching = true;
  // no tail on PATH, or not GNU's (it exits at once on --pid): no watch
  helper.on('error', () => {});
  helper.on('exit', (_code, signal) => {
    if (watching && signal === 'SIGPIPE') gone();
  });
  helper.unref();
  const stop = (): void => {
    watching = false;
    process.off('exit', stop);
    if (helper.exitCode === null && helper.signalCode === null) helper.kill();
  };
  process.on('exit', stop);
  return stop;
}

interface ReadableHandle {
  readStart?: () => number;
  readStop?: () => number;
  onread?: (buf?: ArrayBuffer) => void;
}

function watchSocket(out: Writable, gone: () => void): () => void {
  // process.stdout on a socket is a net.Socket opened write-only; its handle can still read
  const handle = (out as unknown as { _handle?: ReadableHandle })._handle;
  if (handle === undefined || typeof handle.readStart !== 'function') return () => {};
  let watching = true;
  // data from the reader is dropped; no buffer means the end (or an error) of the stream
  handle.onread = (buf?: ArrayBuffer) => {
    if (buf === undefined && watching) {
      watching = false;
      gone();
    }
  };
  if (handle.readStart() !== 0) return () => {};
  return () => {
    watching = false;
    handle.readStop?.();
  };
}

// Replacing a small file so that a crash leaves the old content or the new, never a mix: written to
// a temporary name beside it, fsynced, renamed over it. nsqd.dat, disk-queue metadata and the
// replication bookkeeping all go through here.

import { closeSync, fdatasyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

/** Throws what the file system says; a temporary file is never left behind. */
export function writeFileAtomic(file: string, data: string): void {
  const tmp = `${file}.${Math.floor(Math.random() * 1e9)}.tmp`;
  try {
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, data);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

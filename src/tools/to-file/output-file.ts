// One open output file: appends batches of lines (plain, or one gzip member per batch), fsyncs,
// and on close moves itself from the work dir to the output dir without overwriting anything.

import { constants as FS, promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';

const gzip = promisify(gzipCb);

export class OutputFile {
  readonly path: string;
  /** bytes of lines given to write(): on-disk bytes for plain files, uncompressed bytes for gzip */
  size: number;
  #fh: fsp.FileHandle;
  #gzipLevel: number;
  #dirty = false;
  #wrote = false;

  private constructor(path: string, fh: fsp.FileHandle, size: number, gzipLevel: number) {
    this.path = path;
    this.#fh = fh;
    this.size = size;
    this.#gzipLevel = gzipLevel;
  }

  /**
   * Opens `path`: exclusively (null when it exists already) or for appending.
   * A new file's directory entry is fsynced too, so a machine crash cannot lose the file itself.
   */
  static async open(path: string, opts: { exclusive: boolean; gzipLevel: number }): Promise<OutputFile | null> {
    await makeDirs(dirname(path));
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(path, opts.exclusive ? 'wx' : 'a', 0o666);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
      throw err;
    }
    const { size } = await fh.stat();
    if (size === 0) await syncDir(dirname(path));
    return new OutputFile(path, fh, size, opts.gzipLevel);
  }

  /** Bytes on disk are unknown for gzip until written; callers decide rotation on `size`. */
  get empty(): boolean {
    return this.size === 0 && !this.#wrote;
  }

  /**
   * Appends whole lines. With gzip every call writes one complete gzip member: a file is a valid
   * multi-member gzip stream after every write, even if the process dies right after it.
   */
  async write(chunks: Buffer[], bytes: number): Promise<void> {
    if (chunks.length === 0) return;
    let data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes);
    if (this.#gzipLevel > 0) data = await gzip(data, { level: this.#gzipLevel });
    let off = 0;
    while (off < data.length) {
      const { bytesWritten } = await this.#fh.write(data, off, data.length - off);
      off += bytesWritten;
    }
    this.#dirty = true;
    this.#wrote = true;
  }

  async sync(): Promise<void> {
    if (!this.#dirty) return;
    await this.#fh.sync();
    this.#dirty = false;
  }

  /** fsync and close; the file stays where it is. */
  async close(): Promise<void> {
    await this.sync();
    await this.#fh.close();
  }

  /** Closes and deletes the file (an empty file with --skip-empty-files). */
  async discard(): Promise<void> {
    await this.#fh.close();
    await fsp.unlink(this.path);
  }
}

async function syncDir(dir: string): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(dir, FS.O_RDONLY);
    await fh.sync();
  } catch {
    // not every filesystem lets a directory be fsynced; the file's own fsync still holds its data
  } finally {
    await fh?.close();
  }
}

/**
 * Moves `src` to `dst` only if `dst` does not exist: false when it does. A hard link is atomic
 * and never replaces; across filesystems the copy is exclusive instead.
 */
export async function exclusiveRename(src: string, dst: string): Promise<boolean> {
  await makeDirs(dirname(dst));
  try {
    await fsp.link(src, dst);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EXDEV' && code !== 'EPERM') throw err;
    try {
      await fsp.copyFile(src, dst, FS.COPYFILE_EXCL);
    } catch (copyErr) {
      if ((copyErr as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw copyErr;
    }
    const fh = await fsp.open(dst, 'r+');
    await fh.sync();
    await fh.close();
  }
  await syncDir(dirname(dst));
  await fsp.unlink(src);
  return true;
}

/**
 * mkdir -p, one level at a time. Not fs.mkdir's `recursive`: in Node 20 it never settles where a
 * filesystem answers ENOENT for a directory whose parent exists (/proc/nope), and to-file hung.
 * An existing non-directory is left for the caller's stat or open to report.
 */
export async function makeDirs(dir: string, mode = 0o770): Promise<void> {
  try {
    await fsp.mkdir(dir, { mode });
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    const parent = dirname(dir);
    // ENOENT with the parent there: this filesystem will not have it
    if (code !== 'ENOENT' || parent === dir || (await exists(parent))) throw err;
    await makeDirs(parent, mode);
  }
  try {
    await fsp.mkdir(dir, { mode });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await fsp.stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

// A replica's copy of one origin incarnation's durable files (docs/replication.md, "Names,
// incarnations, files"): <data-path>/replicas/<name>/<incarnation>/ holds the origin's journal and
// ack segments byte for byte, its durable metadata as meta.json and the link's bookkeeping as
// state.json. Appends are checked against the file's size (the origin resends from there when they
// do not match); commit() makes everything applied so far durable before the origin is confirmed.

import { closeSync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { E_REPL_OFFSET, E_REPL_PAYLOAD, ReplicationProtocolError } from '../protocol/replication.js';
import { syncDir } from './segment-log.js';
import { writeFileAtomic } from '../util/atomic-file.js';

/** Keep at most this many mirror files open; older ones are closed (they are reopened on demand). */
const MAX_OPEN = 64;

/** Only the durable files of an origin are mirrored: journal and ack segments. */
export const MIRRORED_FILE = /^[^/\\]+\.(?:journal|acks)\.\d{6,}\.dat$/;

export const META_FILE = 'meta.json';
const STATE_EVERY_MS = 1000;
export const STATE_FILE = 'state.json';
/** a copy whose messages were taken over, kept until they are replicated onward */
export const RETIRED_SUFFIX = '.taken';

export interface MirrorState {
  /** epoch ms of the last frame from the origin */
  last_contact: number;
  /** the highest COMMIT made durable */
  confirmed: number;
  /** the origin's replica addresses in its order (HELLO): where this copy stands for a takeover */
  replicas?: string[];
}

/** `%`-escapes what cannot stand in one path component (a node name is `host:port`). */
export function escapeName(name: string): string {
  return name.replace(/[%:/\\\0]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

export function unescapeName(s: string): string {
  return s.replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

export class ReplicaMirror {
  readonly dir: string;
  readonly origin: string;
  readonly incarnation: string;
  readonly #sizes = new Map<string, number>();
  /** open write fds, oldest use first */
  readonly #open = new Map<string, number>();
  readonly #dirty = new Set<string>();
  #meta: Record<string, unknown> | null = null;
  #metaDirty = false;
  #dirChanged = false;
  #state: MirrorState = { last_contact: 0, confirmed: 0 };
  #stateWritten = 0;

  /** Opens (creating it when new) the mirror of `origin`/`incarnation` under `root` (<data-path>/replicas). */
  constructor(root: string, origin: string, incarnation: string) {
    if (!/^[0-9a-f]{1,32}$/.test(incarnation)) throw new ReplicationProtocolError(E_REPL_PAYLOAD, `bad incarnation ${JSON.stringify(incarnation)}`);
    this.origin = origin;
    this.incarnation = incarnation;
    this.dir = join(root, escapeName(origin), incarnation);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (const name of readdirSync(this.dir)) {
      if (MIRRORED_FILE.test(name)) this.#sizes.set(name, statSync(join(this.dir, name)).size);
      else if (name.endsWith('.tmp')) rmSync(join(this.dir, name), { force: true });
    }
    try {
      this.#meta = JSON.parse(readFileSync(join(this.dir, META_FILE), 'utf8')) as Record<string, unknown>;
    } catch {
      this.#meta = null;
    }
    try {
      this.#state = { ...this.#state, ...(JSON.parse(readFileSync(join(this.dir, STATE_FILE), 'utf8')) as MirrorState) };
    } catch {
      // a new mirror
    }
  }

  /** Every mirrored file and its size: what STATE tells the origin. */
  files(): Record<string, number> {
    return Object.fromEntries(this.#sizes);
  }

  get meta(): Record<string, unknown> | null {
    return this.#meta;
  }

  get state(): MirrorState {
    return this.#state;
  }

  get bytes(): number {
    let n = 0;
    for (const s of this.#sizes.values()) n += s;
    return n;
  }

  /** Appends whole, checked batches at `offset`, which must be the file's size. */
  append(file: string, offset: number, bytes: Buffer): void {
    if (!MIRRORED_FILE.test(file)) throw new ReplicationProtocolError(E_REPL_PAYLOAD, `not a durable file name: ${file}`);
    const size = this.#sizes.get(file) ?? 0;
    if (offset !== size) throw new ReplicationProtocolError(E_REPL_OFFSET, `${file} is ${size} bytes, not ${offset}`);
    const fd = this.#fd(file);
    let off = 0;
    try {
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off, size + off);
    } catch (err) {
      // nothing half-written may stay: the next append must start at a batch boundary
      this.#truncate(file, size);
      throw err;
    }
    this.#sizes.set(file, size + bytes.length);
    this.#dirty.add(file);
  }

  /** The origin cut a file to `size` bytes (its own torn tail after a crash) or asked to start it again. */
  #truncate(file: string, size: number): void {
    try {
      ftruncateSync(this.#fd(file), size);
    } catch {
      // the size map still says `size`; a reopened mirror re-reads the real size
    }
  }

  remove(file: string): void {
    if (!MIRRORED_FILE.test(file)) throw new ReplicationProtocolError(E_REPL_PAYLOAD, `not a durable file name: ${file}`);
    const fd = this.#open.get(file);
    if (fd !== undefined) {
      closeSync(fd);
      this.#open.delete(file);
    }
    rmSync(join(this.dir, file), { force: true });
    this.#sizes.delete(file);
    this.#dirty.delete(file);
    this.#dirChanged = true;
  }

  setMeta(meta: Record<string, unknown>): void {
    this.#meta = meta;
    this.#metaDirty = true;
  }

  /** A frame came from the origin (kept in memory; written with the next commit). */
  touch(now: number): void {
    this.#state.last_contact = now;
  }

  /** fsyncs every file appended since the last commit, the folder when files came or went, meta.json; records `seq`. */
  commit(seq: number): void {
    for (const file of this.#dirty) {
      const fd = this.#open.get(file);
      if (fd !== undefined) fdatasyncSync(fd);
    }
    this.#dirty.clear();
    if (this.#metaDirty) {
      writeFileAtomic(join(this.dir, META_FILE), JSON.stringify(this.#meta));
      this.#metaDirty = false;
      this.#dirChanged = true;
    }
    if (seq > this.#state.confirmed) this.#state.confirmed = seq;
    // state.json is bookkeeping (the files are the copy): written at most once a second, not with every fsync
    const now = Date.now();
    if (now - this.#stateWritten >= STATE_EVERY_MS) {
      writeFileAtomic(join(this.dir, STATE_FILE), JSON.stringify(this.#state));
      this.#stateWritten = now;
    }
    if (this.#dirChanged) {
      syncDir(this.dir);
      this.#dirChanged = false;
    }
  }

  /** Kept with the next state write (every second at most, and at close). */
  setReplicas(replicas: string[]): void {
    this.#state.replicas = replicas;
  }

  /**
   * Its messages were taken over into this node's own journal: the copy is moved aside to
   * `<incarnation>.taken` (an origin that comes back finds no copy and sends everything again) and
   * deleted once that journal is on this node's replicas too. Returns the new folder.
   */
  retire(): string {
    this.close();
    const to = `${this.dir}${RETIRED_SUFFIX}`;
    rmSync(to, { recursive: true, force: true });
    renameSync(this.dir, to);
    syncDir(join(this.dir, '..'));
    return to;
  }

  close(): void {
    try {
      if (this.#stateWritten > 0) writeFileAtomic(join(this.dir, STATE_FILE), JSON.stringify(this.#state));
    } catch {
      // bookkeeping only
    }
    for (const fd of this.#open.values()) closeSync(fd);
    this.#open.clear();
  }

  /** Removes the whole mirror (its messages are finished, taken over or handed back). */
  drop(): void {
    this.close();
    rmSync(this.dir, { recursive: true, force: true });
    syncDir(join(this.dir, '..'));
  }

  #fd(file: string): number {
    let fd = this.#open.get(file);
    if (fd !== undefined) {
      // most recently used last
      this.#open.delete(file);
      this.#open.set(file, fd);
      return fd;
    }
    if (this.#open.size >= MAX_OPEN) {
      for (const [name, old] of this.#open) {
        if (this.#dirty.has(name)) fdatasyncSync(old);
        closeSync(old);
        this.#open.delete(name);
        break;
      }
    }
    const isNew = !this.#sizes.has(file);
    // positioned writes (not O_APPEND): an append is refused unless it starts at the known size
    fd = openSync(join(this.dir, file), isNew ? 'w' : 'r+', 0o600);
    if (isNew) this.#dirChanged = true;
    this.#open.set(file, fd);
    return fd;
  }
}

/** Every `<origin>/<entry>` folder under `root` (<data-path>/replicas). */
function eachCopyFolder(root: string, visit: (origin: string, entry: string) => void): void {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const n of names) {
    let entries: string[];
    try {
      entries = readdirSync(join(root, n));
    } catch {
      continue;
    }
    for (const e of entries) visit(n, e);
  }
}

/** Every origin incarnation a replica holds a mirror of, under `root`. */
export function listMirrors(root: string): Array<{ origin: string; incarnation: string }> {
  const out: Array<{ origin: string; incarnation: string }> = [];
  eachCopyFolder(root, (n, inc) => {
    if (/^[0-9a-f]{1,32}$/.test(inc)) out.push({ origin: unescapeName(n), incarnation: inc });
  });
  return out;
}

/** Folders of copies taken over (retired) under `root`, to be deleted once that is replicated onward. */
export function listRetired(root: string): string[] {
  const out: string[] = [];
  eachCopyFolder(root, (n, e) => {
    if (e.endsWith(RETIRED_SUFFIX)) out.push(join(root, n, e));
  });
  return out;
}

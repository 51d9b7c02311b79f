// Looking up a topic's or channel's files in the data path. While the engine starts, thousands of
// topics and channels each look for their journal, ack log and spill files; a readdir per lookup
// made start-up quadratic (70 s for 2,000 topics), so start() reads the folder once and the lookups
// go through that listing until it is closed. Files are grouped by key: `<key>.NNNNNN.dat`,
// `<key>.meta.dat`, and their `.bad` set-asides.

import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const FILE = /^(.*)\.(?:\d{6,}|meta)(?:\.dat\.bad|\.bad\.dat|\.dat)$/;

let listing: { dir: string; byKey: Map<string, string[]> } | null = null;

function keyOf(name: string): string | null {
  const m = FILE.exec(name);
  return m === null ? null : m[1]!;
}

/** Reads `dir` once; lookups in it use this listing until closeListing(). */
export function openListing(dir: string): void {
  const byKey = new Map<string, string[]>();
  for (const name of safeReaddir(dir)) {
    const key = keyOf(name);
    if (key === null) continue;
    const list = byKey.get(key);
    if (list === undefined) byKey.set(key, [name]);
    else list.push(name);
  }
  listing = { dir, byKey };
}

/** Back to reading the folder at each lookup (files are created from here on). */
export function closeListing(): void {
  listing = null;
}

/** The names of the files of `key` in `dir`. */
export function filesOf(dir: string, key: string): string[] {
  if (listing !== null && listing.dir === dir) return [...(listing.byKey.get(key) ?? [])];
  return safeReaddir(dir).filter((name) => keyOf(name) === key);
}

/** Removes one file of the data path (and from the listing). */
export function removeFile(dir: string, name: string): void {
  rmSync(join(dir, name), { force: true });
  if (listing === null || listing.dir !== dir) return;
  const key = keyOf(name);
  const list = key === null ? undefined : listing.byKey.get(key);
  if (list !== undefined) {
    const i = list.indexOf(name);
    if (i !== -1) list.splice(i, 1);
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

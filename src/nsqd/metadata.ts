// nsqd.dat: which topics and channels exist and which are paused, in nsqd's JSON format, so a
// restart brings them back. Written through a temporary file and a rename; ephemeral ones are left
// out. Also the data path's lock file, so two servers never share one data path.

import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NSQ_VERSION } from '../protocol/constants.js';
import { isValidChannelName, isValidTopicName } from '../protocol/names.js';
import { UserError } from '../util/errors.js';
import { syncDir } from './segment-log.js';
import { writeFileAtomic } from '../util/atomic-file.js';

export interface ChannelMeta {
  name: string;
  paused: boolean;
  /** the first message ID of the topic that belongs to the channel (durable mode's recovery); nsqd ignores it */
  start_id?: number;
  /** POST /channel/config (docs/dead-letters.md): present only when the channel has its own value; nsqd ignores them */
  max_attempts?: number;
  dead_letter_topic?: string;
  /** POST /channel/config?ordered= (docs/ordered-channels.md): present when it differs from --ordered-channel's; nsqd ignores it */
  ordered?: boolean;
}

export interface TopicMeta {
  name: string;
  paused: boolean;
  channels: ChannelMeta[];
  /** durable mode, a paused topic or one without channels: the first ID it holds itself; nsqd ignores it */
  held_from?: number;
  /** durable mode, POST /topic/config (docs/retention.md): the topic's own retention (ms) and retention size (bytes), when set; nsqd ignores them */
  retention?: number;
  retention_size?: number;
  /** durable mode: this topic's journal may hold dead-letter move records (docs/dead-letters.md); nsqd ignores it */
  dead_letters?: boolean;
}

export const METADATA_FILE = 'nsqd.dat';
export const LOCK_FILE = 'nsqd.lock';

export function readMetadata(dataPath: string): TopicMeta[] {
  let text: string;
  try {
    text = readFileSync(join(dataPath, METADATA_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new UserError(`failed to read ${join(dataPath, METADATA_FILE)}: ${(err as Error).message}`, 'E_METADATA', 1);
  }
  let data: { topics?: unknown };
  try {
    data = JSON.parse(text) as { topics?: unknown };
  } catch {
    throw new UserError(`failed to parse ${join(dataPath, METADATA_FILE)}: not JSON`, 'E_METADATA', 1);
  }
  const topics: TopicMeta[] = [];
  for (const t of Array.isArray(data.topics) ? (data.topics as Record<string, unknown>[]) : []) {
    if (typeof t?.['name'] !== 'string' || !isValidTopicName(t['name'])) continue;
    const channels: ChannelMeta[] = [];
    for (const c of Array.isArray(t['channels']) ? (t['channels'] as Record<string, unknown>[]) : []) {
      if (typeof c?.['name'] !== 'string' || !isValidChannelName(c['name'])) continue;
      const meta: ChannelMeta = { name: c['name'], paused: c['paused'] === true };
      if (typeof c['start_id'] === 'number' && Number.isSafeInteger(c['start_id'])) meta.start_id = c['start_id'];
      if (isMaxAttempts(c['max_attempts'])) meta.max_attempts = c['max_attempts'];
      if (typeof c['dead_letter_topic'] === 'string' && isValidTopicName(c['dead_letter_topic'])) meta.dead_letter_topic = c['dead_letter_topic'];
      if (typeof c['ordered'] === 'boolean') meta.ordered = c['ordered'];
      channels.push(meta);
    }
    const meta: TopicMeta = { name: t['name'], paused: t['paused'] === true, channels };
    if (typeof t['held_from'] === 'number' && Number.isSafeInteger(t['held_from'])) meta.held_from = t['held_from'];
    if (isRetentionValue(t['retention'])) meta.retention = t['retention'];
    if (isRetentionValue(t['retention_size'])) meta.retention_size = t['retention_size'];
    if (t['dead_letters'] === true) meta.dead_letters = true;
    topics.push(meta);
  }
  return topics;
}

/** A topic's own retention (ms) or retention size (bytes): a positive safe integer. */
export function isRetentionValue(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

/** A channel's max_attempts: an integer 0..65535 (attempts are a 16-bit field on the wire). */
export function isMaxAttempts(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535;
}

export function writeMetadata(dataPath: string, topics: TopicMeta[]): void {
  const file = join(dataPath, METADATA_FILE);
  // a full disk is retried once a second: no half-written temporary file per attempt
  writeFileAtomic(file, JSON.stringify({ topics, version: NSQ_VERSION }));
  syncDir(dataPath);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** data paths locked by engines in this process (tests run several) */
const LOCKED_HERE = new Set<string>();

/** Takes the data path for this process; a lock left by a process that is gone is taken over. */
export function lockDataPath(dataPath: string): () => void {
  if (LOCKED_HERE.has(dataPath)) throw new UserError(`failed to lock data-path: ${dataPath} is in use by another nsqd in this process`, 'E_DATA_PATH', 1);
  try {
    // one level only: a recursive mkdir can spin forever on special file systems such as /proc
    if (!existsSync(dataPath)) mkdirSync(dataPath);
    if (!statSync(dataPath).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    accessSync(dataPath, constants.W_OK);
  } catch (err) {
    throw new UserError(`failed to lock data-path: ${dataPath} is not a writable directory (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'E_DATA_PATH', 1);
  }
  const lock = join(dataPath, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx', mode: 0o600 });
      LOCKED_HERE.add(dataPath);
      return () => {
        LOCKED_HERE.delete(dataPath);
        rmSync(lock, { force: true });
      };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // access(W_OK) says yes to root almost anywhere (/proc, /sys, a read-only mount): creating the lock is the real test
      if (code !== 'EEXIST') throw new UserError(`failed to lock data-path: ${dataPath} is not writable (no file can be created in it: ${code ?? (err as Error).message})`, 'E_DATA_PATH', 1);
      const holder = Number(readFileSync(lock, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
        throw new UserError(`failed to lock data-path: ${dataPath} is in use by another nsqd (pid ${holder})`, 'E_DATA_PATH', 1);
      }
      rmSync(lock, { force: true });
    }
  }
  throw new UserError(`failed to lock data-path: ${lock}`, 'E_DATA_PATH', 1);
}

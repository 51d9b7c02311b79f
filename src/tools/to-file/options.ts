// nsq_to_file's options: defaults in one object, flag values validated into typed options,
// and the per-topic filename template (<TOPIC>, <HOST>, <PID> filled in; <DATETIME>, <REV> left).

import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { isValidChannelName, isValidTopicName } from '../../protocol/names.js';
import { parseDuration } from '../../util/duration.js';
import { UserError } from '../../util/errors.js';
import { isLogLevel, type LogLevel } from '../../util/log.js';

export const TO_FILE_DEFAULTS = {
  channel: 'nsq_to_file',
  maxInFlight: 200,
  outputDir: '/tmp',
  datetimeFormat: '%Y-%m-%d_%H',
  filenameFormat: '<TOPIC>.<HOST><REV>.<DATETIME>.log',
  hostIdentifier: '',
  gzip: false,
  gzipLevel: 6,
  skipEmptyFiles: false,
  rotateSize: 0,
  rotateInterval: 0,
  syncInterval: 30_000,
  logLevel: 'info' as LogLevel,
};

export interface ToFileOptions {
  topics: string[];
  /** --topic-pattern: also every topic lookupd knows whose name matches */
  topicPattern: RegExp | null;
  /** how often lookupd's topics are read again for --topic-pattern (ms) */
  topicRefresh: number;
  channel: string;
  maxInFlight: number;
  outputDir: string;
  /** where files are written while open; the output dir unless --work-dir is given */
  workDir: string;
  datetimeFormat: string;
  filenameFormat: string;
  hostIdentifier: string;
  gzip: boolean;
  gzipLevel: number;
  skipEmptyFiles: boolean;
  /** bytes; 0: never rotate on size */
  rotateSize: number;
  /** ms; 0: never rotate on time */
  rotateInterval: number;
  /** ms between syncs (and rotation checks) */
  syncInterval: number;
  logLevel: LogLevel;
}

function bad(flag: string, value: unknown, why: string): UserError {
  return new UserError(`invalid value "${String(value)}" for flag --${flag}: ${why}`, 'E_BAD_FLAG', 2);
}

/** A single-value flag given more than once takes its last value, as Go's flag package does. */
function last(v: unknown): unknown {
  return Array.isArray(v) ? v[v.length - 1] : v;
}

function str(argv: Record<string, unknown>, flag: string, fallback: string): string {
  const v = last(argv[flag]);
  return v === undefined ? fallback : String(v);
}

function int(argv: Record<string, unknown>, flag: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = str(argv, flag, String(fallback));
  if (!/^-?\d+$/.test(raw.trim())) throw bad(flag, raw, 'want an integer');
  const n = Number(raw);
  if (n < min || n > max) throw bad(flag, raw, max === Number.MAX_SAFE_INTEGER ? `must be at least ${min}` : `must be ${min}-${max}`);
  return n;
}

function duration(argv: Record<string, unknown>, flag: string, fallback: number, allowZero: boolean): number {
  const raw = argv[flag];
  if (raw === undefined) return fallback;
  const text = str(argv, flag, '');
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    throw bad(flag, text, (err as Error).message);
  }
  if (ms < 0 || (!allowZero && ms === 0)) throw bad(flag, text, allowZero ? 'must not be negative' : 'must be positive');
  return ms;
}

function bool(argv: Record<string, unknown>, flag: string, fallback: boolean): boolean {
  const v = last(argv[flag]);
  if (v === undefined) return fallback;
  if (typeof v === 'boolean') return v;
  const s = String(v);
  if (['true', '1', 't', 'T', 'TRUE', 'True'].includes(s)) return true;
  if (['false', '0', 'f', 'F', 'FALSE', 'False'].includes(s)) return false;
  throw bad(flag, s, 'want true or false');
}

export function readToFileOptions(argv: Record<string, unknown>): ToFileOptions {
  const d = TO_FILE_DEFAULTS;
  const rawTopics = argv['topic'];
  const topics = [
    ...new Set(
      (rawTopics === undefined ? [] : Array.isArray(rawTopics) ? rawTopics : [rawTopics])
        .flatMap((v) => String(v).split(','))
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    ),
  ];
  const rawPattern = argv['topic-pattern'];
  let topicPattern: RegExp | null = null;
  if (rawPattern !== undefined && String(rawPattern) !== '') {
    try {
      topicPattern = new RegExp(String(rawPattern));
    } catch (err) {
      throw bad('topic-pattern', String(rawPattern), (err as Error).message);
    }
    if (argv['lookupd-http-address'] === undefined) throw new UserError('--topic-pattern needs --lookupd-http-address (topics are found through lookupd)', 'E_BAD_FLAG', 2);
  }
  if (topics.length === 0 && topicPattern === null) throw new UserError('--topic is required (may be given multiple times), or --topic-pattern with --lookupd-http-address', 'E_BAD_FLAG', 2);
  for (const topic of topics) if (!isValidTopicName(topic)) throw bad('topic', topic, 'not a valid topic name');
  const channel = str(argv, 'channel', d.channel);
  if (!isValidChannelName(channel)) throw bad('channel', channel, 'not a valid channel name');

  const logLevel = str(argv, 'log-level', d.logLevel);
  if (!isLogLevel(logLevel)) throw bad('log-level', logLevel, 'want debug, info, warn, error or fatal');

  const outputDir = resolve(str(argv, 'output-dir', d.outputDir));
  const rawWork = str(argv, 'work-dir', '');
  const opts: ToFileOptions = {
    topics,
    topicPattern,
    topicRefresh: duration(argv, 'topic-refresh', 60_000, false),
    channel,
    maxInFlight: int(argv, 'max-in-flight', d.maxInFlight, 1),
    outputDir,
    workDir: rawWork === '' ? outputDir : resolve(rawWork),
    datetimeFormat: str(argv, 'datetime-format', d.datetimeFormat),
    filenameFormat: str(argv, 'filename-format', d.filenameFormat),
    hostIdentifier: str(argv, 'host-identifier', d.hostIdentifier),
    gzip: bool(argv, 'gzip', d.gzip),
    gzipLevel: int(argv, 'gzip-level', d.gzipLevel, 1, 9),
    skipEmptyFiles: bool(argv, 'skip-empty-files', d.skipEmptyFiles),
    rotateSize: int(argv, 'rotate-size', d.rotateSize, 0),
    rotateInterval: duration(argv, 'rotate-interval', d.rotateInterval, true),
    syncInterval: duration(argv, 'sync-interval', d.syncInterval, false),
    logLevel,
  };
  if (opts.filenameFormat === '') throw bad('filename-format', '', 'must not be empty');
  if (needsRevision(opts) && !opts.filenameFormat.includes('<REV>')) {
    throw bad('filename-format', opts.filenameFormat, 'missing <REV>, needed when --gzip, rotation or --work-dir is enabled');
  }
  return opts;
}

/** A revision in the name is what keeps a new file from clobbering or appending to a finished one. */
function needsRevision(o: ToFileOptions): boolean {
  return o.gzip || o.rotateSize > 0 || o.rotateInterval > 0 || o.workDir !== o.outputDir;
}

/** The filename template for one topic: <TOPIC>, <HOST>, <PID> replaced; <DATETIME> and <REV> kept. */
export function filenameTemplate(o: ToFileOptions, topic: string, host = hostname(), pid = process.pid): string {
  const shortHost = host.split('.')[0] ?? host;
  const identifier = o.hostIdentifier === '' ? shortHost : o.hostIdentifier.replaceAll('<SHORT_HOST>', shortHost).replaceAll('<HOSTNAME>', host);
  let f = o.filenameFormat;
  if (!needsRevision(o)) f = f.replaceAll('<REV>', '');
  f = f.replaceAll('<TOPIC>', topic).replaceAll('<HOST>', identifier).replaceAll('<PID>', String(pid));
  if (o.gzip && !f.endsWith('.gz')) f += '.gz';
  return f;
}
